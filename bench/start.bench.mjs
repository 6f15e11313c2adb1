#!/usr/bin/env node
// How long `npm start` takes to serve, and how much memory it holds, on a first start (empty
// DATA_DIR: PGlite's initdb, migrations, the demo company) and on a second start on the same
// DATA_DIR. Runs the real `npm start` from the repository root on free ports, samples the
// resident memory of the whole process tree (npm, the shell, node) from /proc every 100 ms,
// reads the idle figure 20 s after the banner, then stops it with SIGINT and waits for the
// "stopped" line.
//
// Usage: node bench/start.bench.mjs [--idle-seconds 20]   (Linux only: reads /proc)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const idleArg = process.argv.indexOf('--idle-seconds');
const idleSeconds = idleArg > 0 ? Number(process.argv[idleArg + 1]) : 20;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resident set of `pid` and all its descendants, in MB. */
function treeRssMb(pid) {
  const children = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  let kb = 0;
  const visit = (p) => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      // gone meanwhile
    }
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return Math.round(kb / 1024);
}

async function run(label, env) {
  const started = performance.now();
  const child = spawn('npm', ['start'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let firstLineMs = null;
  const onData = (d) => {
    if (firstLineMs === null && /\{"level"/.test(d.toString())) {
      firstLineMs = performance.now() - started;
    }
    out += d.toString();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, treeRssMb(child.pid));
  }, 100);
  const bannerMs = await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (/qbo-sync admin: /.test(out)) {
        clearInterval(t);
        resolve(performance.now() - started);
      }
    }, 20);
    child.once('exit', (code) => {
      clearInterval(t);
      reject(new Error(`npm start exited (${code}) before its banner:\n${out}`));
    });
  });
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const idle = treeRssMb(child.pid);
  clearInterval(sampler);
  const stopAt = performance.now();
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid, 'SIGINT');
  await exited;
  const stopMs = performance.now() - stopAt;
  const said = /stopped/.test(out.slice(out.lastIndexOf('Press Ctrl+C')));
  return {
    label,
    firstLogLineS: firstLineMs === null ? null : +(firstLineMs / 1000).toFixed(1),
    bannerS: +(bannerMs / 1000).toFixed(1),
    peakMb: peak,
    idleMb: idle,
    stopS: +(stopMs / 1000).toFixed(1),
    saidStopped: said,
  };
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qbo-sync-start-bench-'));
const env = {
  DATA_DIR: dataDir,
  PORT: String(await freePort()),
  SANDBOX_PORT: String(await freePort()),
  LOG_LEVEL: 'info',
};
for (const k of Object.keys(process.env)) {
  if (/^(INTUIT_|QBO_|DATABASE_URL|REDIS_URL|ADMIN_API_TOKEN)/.test(k)) env[k] = '';
}
try {
  const rows = [await run('first start (empty DATA_DIR)', env), await run('second start', env)];
  console.log(
    `node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`,
  );
  console.table(rows);
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
}
