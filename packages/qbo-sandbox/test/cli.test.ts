import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'qbo-sandbox.js');
const dir = mkdtempSync(join(tmpdir(), 'qbo-sandbox-cli-'));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

interface Banner {
  child: ChildProcess;
  fields: Record<string, string>;
  url: string;
}

/** Starts the bin and resolves once its start-up banner is complete. */
function start(args: string[]): Promise<Banner> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!/control api/.test(out)) return;
      const url = /listening on (\S+)/.exec(out)![1]!;
      const fields: Record<string, string> = {};
      for (const m of out.matchAll(/^ {2}(\S.*?) {2,}(.*)$/gm)) fields[m[1]!] = m[2]!;
      resolve({ child, fields, url });
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}${out}`)));
  });
}

const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve),
  );

describe('qbo-sandbox CLI', () => {
  it('starts a seeded company with an app, prints them, serves requests and saves its snapshot on exit', async () => {
    const snapshot = join(dir, 'cli.jsonl');
    const { child, fields, url } = await start([
      '--port',
      '0',
      '--seed',
      '42',
      '--size',
      'small',
      '--company-name',
      'CLI Co',
      '--realm-id',
      '4620816365272877470',
      '--client-id',
      'ABcliClient',
      '--client-secret',
      'cli-secret',
      '--redirect-uri',
      'http://localhost:5555/cb',
      '--webhook-retry-scale',
      '0.01',
      '--no-limits',
      '--snapshot',
      snapshot,
    ]);
    expect(fields['realm id']).toBe('4620816365272877470');
    expect(fields['client id']).toBe('ABcliClient');
    expect(fields['client secret']).toBe('cli-secret');
    expect(fields['company']).toMatch(/^CLI Co \(500 entities, seeded in/);
    expect(fields['accounting api']).toBe(`${url}/v3/company/4620816365272877470`);
    expect(fields['consent url']).toContain('client_id=ABcliClient');

    const discovery = await fetch(`${url}/.well-known/openid_sandbox_configuration`);
    expect(discovery.status).toBe(200);
    const company = (await (
      await fetch(`${url}/_sandbox/companies/4620816365272877470`)
    ).json()) as { counts: Record<string, number> };
    expect(company.counts.Invoice).toBeGreaterThan(100);
    const limits = (await (await fetch(`${url}/_sandbox/limits`)).json()) as { enabled: boolean };
    expect(limits.enabled).toBe(false);

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(existsSync(snapshot)).toBe(true);

    // The next start restores the same company and app instead of creating new ones.
    const again = await start(['--port', '0', '--snapshot', snapshot]);
    expect(again.fields['realm id']).toBe('4620816365272877470');
    expect(again.fields['client id']).toBe('ABcliClient');
    expect(again.fields['company']).toMatch(/^CLI Co \(500 entities\)/);
    again.child.kill('SIGTERM');
    expect(await exited(again.child)).toBe(0);
  });

  it('with --snapshot, tokens survive kill -9: they are on disk before the answer that hands them out', async () => {
    const snapshot = join(dir, 'crash.jsonl');
    const realm = '9341000000000000777';
    const first = await start(['--port', '0', '--snapshot', snapshot, '--realm-id', realm]);
    const res = await fetch(`${first.url}/_sandbox/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ clientId: first.fields['client id'], realmId: realm }),
    });
    const minted = (await res.json()) as { access_token: string };
    first.child.kill('SIGKILL');
    await exited(first.child);

    const again = await start(['--port', '0', '--snapshot', snapshot]);
    const query = await fetch(
      `${again.url}/v3/company/${realm}/query?query=${encodeURIComponent('select * from Customer')}`,
      { headers: { authorization: `Bearer ${minted.access_token}`, accept: 'application/json' } },
    );
    expect(query.status).toBe(200);
    again.child.kill('SIGTERM');
    expect(await exited(again.child)).toBe(0);
  });

  it('applies a --config file', async () => {
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ limits: { perMinute: 123 } }));
    const { child, url } = await start(['--port', '0', '--config', config]);
    const limits = (await (await fetch(`${url}/_sandbox/limits`)).json()) as { perMinute: number };
    expect(limits.perMinute).toBe(123);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--port', 'abc'], /--port must be an integer from 0 to 65535, got "abc"/],
    [['--size', 'huge'], /preset must be one of small, medium, large/],
    [['--entities', '5'], /entities must be an integer of at least/],
    [['--webhook-format', 'xml'], /--webhook-format must be legacy or cloudevents/],
    [['--redirect-uri', 'not a url'], /--redirect-uri must be an http\(s\) URL/],
    [['--config', '/nonexistent/config.json'], /--config: cannot read/],
    [['--no-autosave'], /--no-autosave needs --snapshot/],
  ])('rejects %j with a clear message and exit code 2', (args, message) => {
    const res = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stderr).toContain('--help');
  });

  it('--help lists the flags and exits 0', () => {
    const res = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    expect(res.status).toBe(0);
    for (const flag of [
      '--port',
      '--seed',
      '--size',
      '--snapshot',
      '--snapshot-dir',
      '--no-autosave',
      '--client-id',
      '--no-limits',
    ])
      expect(res.stdout).toContain(flag);
  });
});
