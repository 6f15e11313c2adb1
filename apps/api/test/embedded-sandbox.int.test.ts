// The embedded default (`npm start`) as a user's machine runs it: its sandbox's control API
// is closed to other local processes and to web pages, its state survives a crash in the
// middle of a token refresh, and what it writes under DATA_DIR is readable by its user only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  admin,
  connectDemo,
  embeddedEnv,
  localSecrets,
  startEmbedded,
  stopEmbedded,
  type EmbeddedProcess,
} from './embedded-process.ts';

const running: EmbeddedProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await stopEmbedded(p, 'SIGKILL');
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function start(env: Record<string, string>, opts: { umask?: string } = {}) {
  const p = await startEmbedded(env, opts);
  running.push(p);
  return p;
}

async function stop(p: EmbeddedProcess, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') {
  running.splice(running.indexOf(p), 1);
  return stopEmbedded(p, signal);
}

function tempDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qbo-sync-embedded-'));
  dirs.push(dir);
  return dir;
}

describe('npm start: the embedded sandbox', () => {
  it('its control API answers 401 without the token from local-secrets.json, and refuses web pages even with it', async () => {
    const dataDir = tempDataDir();
    const p = await start(await embeddedEnv(dataDir));
    for (const route of ['/_sandbox/apps', '/_sandbox/requests', '/_sandbox/companies']) {
      const res = await fetch(`${p.sandboxUrl}${route}`);
      expect(res.status, route).toBe(401);
      expect(await res.text()).not.toContain('clientSecret');
    }
    const { sandboxControlToken } = localSecrets(dataDir);
    expect(sandboxControlToken).toMatch(/^[0-9a-f]{64}$/);
    expect(p.output()).toContain('sandboxControlToken');
    expect(p.output()).not.toContain(sandboxControlToken);
    const bearer = { authorization: `Bearer ${sandboxControlToken}` };
    const apps = await fetch(`${p.sandboxUrl}/_sandbox/apps`, { headers: bearer });
    expect(apps.status).toBe(200);

    // What a page on another site can send: a text/plain POST naming any file.
    const target = path.join(tempDataDir(), 'written-by-a-web-page.jsonl');
    for (const headers of [{}, bearer]) {
      const res = await fetch(`${p.sandboxUrl}/_sandbox/snapshot`, {
        method: 'POST',
        headers: { ...headers, origin: 'https://evil.example', 'content-type': 'text/plain' },
        body: JSON.stringify({ file: target }),
      });
      expect(res.status).toBe(403);
    }
    // Even a script holding the token may not write outside the sandbox's own snapshot file.
    const outside = await fetch(`${p.sandboxUrl}/_sandbox/snapshot`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ file: target }),
    });
    expect(outside.status).toBe(400);
    expect(fs.existsSync(target)).toBe(false);
    expect(await stop(p)).toBe(0);
  }, 120_000);

  it('a kill -9 right after a token refresh keeps the demo company connected after a restart', async () => {
    const dataDir = tempDataDir();
    const env = await embeddedEnv(dataDir);
    // Yesterday's run: the demo company and the app are in the snapshot.
    const yesterday = await start(env);
    expect(await stop(yesterday)).toBe(0);

    const today = await start(env);
    const { adminApiToken } = localSecrets(dataDir);
    await connectDemo(today, adminApiToken);
    const refreshed = await admin(today, adminApiToken, 'POST', '/api/quickbooks/refresh');
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.result).toBe('refreshed');
    // The service now holds only the rotated tokens; the process dies without shutting down.
    await stop(today, 'SIGKILL');

    const after = await start(env);
    const probe = await admin(after, adminApiToken, 'GET', '/api/quickbooks/test-connection');
    expect(probe.body).toMatchObject({ ok: true, company_name: 'Demo Company' });
    const status = await admin(after, adminApiToken, 'GET', '/api/quickbooks/status');
    expect(status.body).toMatchObject({ connected: true });
    expect(await stop(after)).toBe(0);
  }, 180_000);

  it('files under a DATA_DIR that already existed open to everyone are private (dirs 0700, files 0600)', async () => {
    const dataDir = tempDataDir();
    fs.chmodSync(dataDir, 0o777);
    const env = await embeddedEnv(dataDir);
    const loose = (): string[] => {
      const found: string[] = [];
      const check = (p: string) => {
        const st = fs.lstatSync(p);
        if (!st.isSymbolicLink() && (st.mode & 0o077) !== 0)
          found.push(`${path.relative(dataDir, p) || '.'} ${(st.mode & 0o777).toString(8)}`);
      };
      check(dataDir);
      for (const e of fs.readdirSync(dataDir, { recursive: true, withFileTypes: true }))
        check(path.join(e.parentPath, e.name));
      return found;
    };

    // Started from a shell with umask 000, as careless as it gets.
    const first = await start(env, { umask: '000' });
    await connectDemo(first, localSecrets(dataDir).adminApiToken);
    expect(loose()).toEqual([]);
    expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
    const snapshot = path.join(dataDir, 'sandbox-snapshot.jsonl');
    expect(fs.statSync(snapshot).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dataDir, 'local-secrets.json')).mode & 0o777).toBe(0o600);
    expect(await stop(first)).toBe(0);
    expect(loose()).toEqual([]);

    // What an earlier version left behind: everything open. The next start closes it.
    fs.chmodSync(dataDir, 0o777);
    for (const e of fs.readdirSync(dataDir, { recursive: true, withFileTypes: true })) {
      const p = path.join(e.parentPath, e.name);
      if (!e.isSymbolicLink()) fs.chmodSync(p, e.isDirectory() ? 0o777 : 0o666);
    }
    const second = await start(env, { umask: '000' });
    expect(loose()).toEqual([]);
    const probe = await admin(
      second,
      localSecrets(dataDir).adminApiToken,
      'GET',
      '/api/quickbooks/test-connection',
    );
    expect(probe.body).toMatchObject({ ok: true });
    expect(await stop(second)).toBe(0);
    expect(loose()).toEqual([]);
  }, 180_000);
});
