// `npm start` on a fresh clone: the real entry point in a child process, embedded mode
// (PGlite in a temporary DATA_DIR, the in-process qbo-sandbox). It must print the admin URL,
// serve it, let a browser connect the demo company, and still be connected after a restart.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectResponse } from '@qbo-sync/contract';
import { Browser, consent, freePort } from './service-harness.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Started {
  child: ChildProcess;
  adminUrl: string;
  output: () => string;
}

async function start(env: Record<string, string>): Promise<Started> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !/^(INTUIT_|QBO_|DATABASE_URL|REDIS_URL|ADMIN_API_TOKEN|PORT|SANDBOX_PORT|DATA_DIR)/.test(
          k,
        ),
    ),
  ) as Record<string, string>;
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/api/src/main.ts'], {
    cwd: ROOT,
    env: { ...clean, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const adminUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no admin URL within 150 s:\n${out}`)),
      150_000,
    );
    const check = () => {
      const m = /qbo-sync admin: (http:\/\/localhost:\d+\/admin)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing the admin URL:\n${out}`));
    });
  });
  return { child, adminUrl, output: () => out };
}

const linesWith = (output: string, needle: string) =>
  output.split('\n').filter((l) => l.includes(needle));

async function stop(s: Started): Promise<number | null> {
  if (s.child.exitCode !== null) return s.child.exitCode;
  const exited = new Promise<number | null>((r) => s.child.once('exit', (code) => r(code)));
  s.child.kill('SIGTERM');
  return exited;
}

describe('npm start (embedded default)', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let running: Started | null = null;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'qbo-sync-start-'));
    env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      SANDBOX_PORT: String(await freePort()),
      // As behind a TLS-terminating proxy on the same machine.
      TRUST_PROXY: 'loopback',
    };
  });
  afterAll(async () => {
    if (running) await stop(running);
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('prints the admin URL, serves it, connects the demo company and stays connected across a restart', async () => {
    running = await start(env);
    const base = new URL(running.adminUrl).origin;
    const page = await fetch(running.adminUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");

    const secrets = JSON.parse(await fs.readFile(path.join(dataDir, 'local-secrets.json'), 'utf8'));
    const token: string = secrets.adminApiToken;
    expect(running.output()).toContain('local-secrets.json');
    // The one-click sign-in link is the only place the token appears: in the banner's
    // fragment, which browsers never send; no log line carries it.
    expect(running.output()).toContain(`/admin/login#token=${token}`);
    expect(linesWith(running.output(), token)).toEqual([expect.stringMatching(/^ {2}sign in /)]);

    // What an orchestrator probes: alive, and ready (database answers, migrations applied).
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, checks: { redis: null } });

    // Through the proxy (https to the browser, plain http to us) the session cookie is Secure.
    const proxied = await fetch(`${base}/api/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
      body: JSON.stringify({ token }),
    });
    expect(proxied.headers.getSetCookie().join('\n')).toMatch(/qbo_admin_session=[^\n]*; Secure/);

    // A browser logs in and connects the seeded demo company.
    const browser = new Browser();
    const login = await fetch(`${base}/api/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    browser.store(login);
    const headers = new Headers();
    browser.attach(headers);
    const connect = await fetch(`${base}/api/quickbooks/connect`, { headers });
    browser.store(connect);
    const { auth_url } = ConnectResponse.parse(await connect.json());
    const c = await consent(auth_url, 'connect');
    const cbHeaders = new Headers();
    browser.attach(cbHeaders);
    const cb = await fetch(c.callbackUrl, { headers: cbHeaders, redirect: 'manual' });
    expect(cb.headers.get('location')).toMatch(/^\/admin\?qbo_connected=true/);

    const auth = { authorization: `Bearer ${token}` };
    const before: any = await (
      await fetch(`${base}/api/quickbooks/status`, { headers: auth })
    ).json();
    expect(before).toMatchObject({ connected: true, company_name: 'Demo Company' });

    expect(await stop(running)).toBe(0);
    expect(linesWith(running.output(), token)).toHaveLength(1);
    expect(running.output()).toContain('qbo-sync stopped.');
    running = null;

    // Same DATA_DIR: the PGlite database and the sandbox snapshot both survive.
    running = await start(env);
    const after = await (await fetch(`${base}/api/quickbooks/status`, { headers: auth })).json();
    expect(after).toMatchObject({
      connected: true,
      realm_id: before.realm_id,
      company_name: 'Demo Company',
    });
    const probe = await (
      await fetch(`${base}/api/quickbooks/test-connection`, { headers: auth })
    ).json();
    expect(probe).toMatchObject({ ok: true, company_name: 'Demo Company' });
    expect(await stop(running)).toBe(0);
    expect(linesWith(running.output(), token)).toHaveLength(1);
    running = null;
  }, 300_000);

  it('a bad variable stops the start with a message naming it and exit code 1', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/api/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dataDir, PORT: 'eighty', QBO_MINOR_VERSION: '12' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(err).toContain('PORT');
    expect(err).toContain('QBO_MINOR_VERSION');
  }, 60_000);
});
