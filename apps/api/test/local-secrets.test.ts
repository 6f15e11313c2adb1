// The embedded default's generated secrets, the embedded sandbox's control token among them.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { LOCAL_SECRETS_FILE, loadConfig, redactedConfig } from '../src/config.ts';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'qbo-local-secrets-test-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
const tempDataDir = () => fs.mkdtempSync(path.join(tmpRoot, 'data-'));
const hex = () => randomBytes(32).toString('hex');

describe('the embedded sandbox control token', () => {
  test('is generated into local-secrets.json with the other secrets and kept across starts', () => {
    const dataDir = tempDataDir();
    const first = loadConfig({ DATA_DIR: dataDir });
    expect(first.sandboxControlToken).toMatch(/^[0-9a-f]{64}$/);
    const saved = JSON.parse(fs.readFileSync(path.join(dataDir, LOCAL_SECRETS_FILE), 'utf8'));
    expect(saved.sandboxControlToken).toBe(first.sandboxControlToken);
    expect(loadConfig({ DATA_DIR: dataDir }).sandboxControlToken).toBe(first.sandboxControlToken);
  });

  test('a local-secrets.json from before the control token gets one, keeping everything else', () => {
    const dataDir = tempDataDir();
    const file = path.join(dataDir, LOCAL_SECRETS_FILE);
    const earlier = {
      version: 1,
      tokenEncryptionKey: hex(),
      adminApiToken: hex(),
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    fs.writeFileSync(file, JSON.stringify(earlier), { mode: 0o600 });
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config.adminApiToken).toBe(earlier.adminApiToken);
    expect(config.sandboxControlToken).toMatch(/^[0-9a-f]{64}$/);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(saved).toEqual({ ...earlier, sandboxControlToken: config.sandboxControlToken });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dataDir)).toEqual([LOCAL_SECRETS_FILE]);
    expect(loadConfig({ DATA_DIR: dataDir }).sandboxControlToken).toBe(config.sandboxControlToken);
  });

  test('with key and admin token from the environment nothing is written and the token is a fresh one', () => {
    const dataDir = tempDataDir();
    const env = { DATA_DIR: dataDir, QBO_TOKEN_ENCRYPTION_KEY: hex(), ADMIN_API_TOKEN: hex() };
    const a = loadConfig(env).sandboxControlToken;
    const b = loadConfig(env).sandboxControlToken;
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).not.toBe(a);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  test('is masked in the start-up log and absent with an external QBO', () => {
    const config = loadConfig({ DATA_DIR: tempDataDir() });
    expect(JSON.stringify(redactedConfig(config))).not.toContain(config.sandboxControlToken!);
    const external = loadConfig({
      QBO_SANDBOX_URL: 'http://127.0.0.1:4010',
      INTUIT_CLIENT_ID: 'ABclient',
      INTUIT_CLIENT_SECRET: 'a-client-secret',
      INTUIT_REDIRECT_URI: 'http://localhost:3000/api/quickbooks/callback',
      INTUIT_WEBHOOK_VERIFIER_TOKEN: 'a-verifier-token',
      QBO_TOKEN_ENCRYPTION_KEY: hex(),
      ADMIN_API_TOKEN: hex(),
      DATA_DIR: tempDataDir(),
    });
    expect(external.sandboxControlToken).toBeNull();
  });
});
