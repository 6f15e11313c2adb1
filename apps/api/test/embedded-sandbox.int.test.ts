// The embedded default (`npm start`) as a user's machine runs it: its state survives a crash
// in the middle of a token refresh.
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
