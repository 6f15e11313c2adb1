// The embedded default (`npm start`) as a user's machine runs it: its sandbox's control API
// is closed to other local processes and to web pages, and its state survives a crash in the
// middle of a token refresh.
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

async function start(env: Record<string, string>) {
  const p = await startEmbedded(env);
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
});
