#!/usr/bin/env node
// Fails when a file of the repository refers to a path outside it. A clone is all a user
// has: a test, script or doc that reads `../something` above the checkout (or an absolute
// path on the machine it was written on) passes there and fails for everyone else.
//
// Checked: every tracked or new (not ignored) file except fixtures and the lockfile.
//   * relative path literals ('../…' in code, ](../…) in Markdown) are resolved from the
//     file's folder and must stay inside the repository;
//   * absolute paths naming the checkout's parent folder (e.g. /work/…) are refused;
//   * the names of folders known to live beside checkouts on development machines.
// Usage: node scripts/check-self-contained.mjs   (exit 1 and one line per finding)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const parent = path.dirname(root);

const SKIP = [
  /^fixtures\//,
  /^scripts\/check-self-contained\.mjs$/,
  /(^|\/)package-lock\.json$/,
  /(^|\/)node_modules\//,
];
const TEXT = /\.(ts|tsx|js|mjs|cjs|json|md|sh|ya?ml|html|css|sql|toml)$|(^|\/)(run|Dockerfile)$/;
const OUTSIDE_NAMES = [/\bshared\/qbo-recordings\b/, /\bshared\/docs\//, /\bshared\/seed\b/];

const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\0')
  .filter((f) => f && TEXT.test(f) && !SKIP.some((re) => re.test(f)))
  .filter((f) => existsSync(path.join(root, f)));

const findings = [];
const report = (file, lineNo, why, text) =>
  findings.push(`${file}:${lineNo}: ${why}: ${text.trim().slice(0, 160)}`);

// '../x', "../../x", `../x` in code; ](../x) and (../x) in Markdown.
const RELATIVE = /(?:['"`(])((?:\.\.\/)+[^'"`)\s]*)/g;

for (const file of files) {
  const dir = path.dirname(path.join(root, file));
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
  lines.forEach((line, i) => {
    for (const m of line.matchAll(RELATIVE)) {
      const target = path.resolve(dir, m[1]);
      if (target !== root && !target.startsWith(root + path.sep)) {
        report(file, i + 1, `"${m[1]}" resolves outside the repository (${target})`, line);
      }
    }
    if (parent !== '/' && line.includes(parent + '/')) {
      report(file, i + 1, `absolute path under ${parent}/ (this machine's checkout folder)`, line);
    }
    for (const re of OUTSIDE_NAMES) {
      if (re.test(line)) report(file, i + 1, `names a folder outside the repository`, line);
    }
  });
}

if (findings.length) {
  console.error(`${findings.length} reference(s) to paths outside the repository:`);
  for (const f of findings) console.error(`  ${f}`);
  console.error('Copy what is needed into the repository (e.g. fixtures/) and refer to it there.');
  process.exit(1);
}
console.log(`self-contained: ${files.length} files checked, no path outside the repository`);
