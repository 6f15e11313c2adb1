import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  ConfigError,
  LOCAL_SECRETS_FILE,
  keyFingerprintId,
  loadConfig,
  redactedConfig,
  type Env,
} from './config.ts';
import { TokenCipher } from './lib/quickbooks/connection/token-cipher.ts';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'qbo-config-test-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
const tempDataDir = () => fs.mkdtempSync(path.join(tmpRoot, 'data-'));

const hexKey = () => randomBytes(32).toString('hex');

/** A complete configuration for real Intuit (no file writes: key and token are given). */
function external(overrides: Env = {}): Env {
  return {
    INTUIT_CLIENT_ID: 'ABcdEFghIJklMNopQRstUVwxYZ0123456789abcdefghijklmn',
    INTUIT_CLIENT_SECRET: 'sEcReTsEcReTsEcReTsEcReTsEcReTsEcReT1234',
    INTUIT_REDIRECT_URI: 'https://api.example.com/api/quickbooks/callback',
    INTUIT_ENVIRONMENT: 'production',
    INTUIT_WEBHOOK_VERIFIER_TOKEN: '00faeec4-08d0-4996-bb37-698ae19f0149',
    QBO_TOKEN_ENCRYPTION_KEY: hexKey(),
    ADMIN_API_TOKEN: randomBytes(24).toString('hex'),
    DATA_DIR: tempDataDir(),
    ...overrides,
  };
}

function problemsOf(env: Env): Map<string, string> {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    // The message lists every problem, so one log line tells the operator everything.
    for (const p of problems) expect((err as Error).message).toContain(`${p.variable}: `);
    return new Map(problems.map((p) => [p.variable, p.message]));
  }
  throw new Error('expected loadConfig to fail');
}

describe('embedded default (no Intuit variables)', () => {
  test('first start generates an encryption key and admin token in DATA_DIR, readable only by the owner', () => {
    const dataDir = tempDataDir();
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config.mode).toBe('embedded');
    expect(config.intuit).toBeNull();
    expect(config.secretsSource).toEqual({
      tokenKeyring: 'local-secrets',
      adminApiToken: 'local-secrets',
    });
    const file = path.join(dataDir, LOCAL_SECRETS_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(config.adminApiToken).toBe(saved.adminApiToken);
    expect(config.tokenKeyring.keys[config.tokenKeyring.currentKeyId]).toBe(
      saved.tokenEncryptionKey,
    );
    expect(saved.tokenEncryptionKey).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a restart reuses the same secrets, so tokens stored before the restart stay readable', () => {
    const dataDir = tempDataDir();
    const first = loadConfig({ DATA_DIR: dataDir });
    const stored = new TokenCipher(first.tokenKeyring).encrypt('refresh-token');
    const second = loadConfig({ DATA_DIR: dataDir });
    expect(second.adminApiToken).toBe(first.adminApiToken);
    expect(second.tokenKeyring).toEqual(first.tokenKeyring);
    expect(new TokenCipher(second.tokenKeyring).decrypt(stored)).toBe('refresh-token');
    // A different data directory is a different installation with its own secrets.
    expect(loadConfig({ DATA_DIR: tempDataDir() }).adminApiToken).not.toBe(first.adminApiToken);
  });

  test('a corrupt local secrets file stops start-up naming DATA_DIR instead of silently replacing the key', () => {
    const dataDir = tempDataDir();
    fs.writeFileSync(path.join(dataDir, LOCAL_SECRETS_FILE), '{"version":1}', { mode: 0o600 });
    expect(problemsOf({ DATA_DIR: dataDir }).get('DATA_DIR')).toMatch(/local secrets/);
  });

  test('a key and admin token given in the environment are used and nothing is written', () => {
    const dataDir = tempDataDir();
    const key = hexKey();
    const config = loadConfig({
      DATA_DIR: dataDir,
      QBO_TOKEN_ENCRYPTION_KEY: key,
      ADMIN_API_TOKEN: 'a-long-enough-admin-token',
    });
    expect(config.mode).toBe('embedded');
    expect(config.tokenKeyring).toEqual({
      currentKeyId: keyFingerprintId(key),
      keys: { [keyFingerprintId(key)]: key },
    });
    expect(config.adminApiToken).toBe('a-long-enough-admin-token');
    expect(fs.existsSync(path.join(dataDir, LOCAL_SECRETS_FILE))).toBe(false);
  });

  test('documented defaults apply when variables are unset or blank', () => {
    const config = loadConfig({
      QBO_TOKEN_ENCRYPTION_KEY: hexKey(),
      ADMIN_API_TOKEN: 'a-long-enough-admin-token',
      INTUIT_CLIENT_ID: '', // blank counts as unset: still the embedded default
      PORT: ' ',
    });
    expect(config).toMatchObject({
      mode: 'embedded',
      port: 3000,
      sandboxPort: 4010,
      logLevel: 'info',
      // apps/api/.data, though the tests run from the repository root: `npm start` (run in
      // apps/api) and the CLI (run anywhere) share it.
      dataDir: path.resolve(import.meta.dirname, '..', '.data'),
      databaseUrl: null,
      redisUrl: null,
      qbo: { minorVersion: 75, requestLogRetentionDays: 30 },
    });
  });

  test('a relative DATA_DIR that is set is taken from the working directory', () => {
    const dir = path.relative(process.cwd(), tempDataDir());
    expect(path.isAbsolute(dir)).toBe(false);
    expect(loadConfig({ DATA_DIR: dir }).dataDir).toBe(path.resolve(process.cwd(), dir));
  });

  test('an all-zero or placeholder key is refused even in the embedded default', () => {
    const problems = problemsOf({
      DATA_DIR: tempDataDir(),
      QBO_TOKEN_ENCRYPTION_KEY: '0'.repeat(64),
    });
    expect(problems.get('QBO_TOKEN_ENCRYPTION_KEY')).toMatch(/all zeros.*openssl rand -hex 32/);
  });
});

describe('external QBO (Intuit variables set)', () => {
  test('a complete configuration points at Intuit production endpoints', () => {
    const config = loadConfig(external({ PORT: '8080', REDIS_URL: 'redis://127.0.0.1:6379' }));
    expect(config.mode).toBe('external');
    expect(config.port).toBe(8080);
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.intuit).toMatchObject({
      environment: 'production',
      sandboxUrl: null,
      urls: {
        authorize: 'https://appcenter.intuit.com/connect/oauth2',
        token: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
        apiBase: 'https://quickbooks.api.intuit.com',
        userinfo: 'https://accounts.platform.intuit.com/v1/openid_connect/userinfo',
      },
    });
  });

  test('only INTUIT_CLIENT_ID set names every other missing variable at once', () => {
    const problems = problemsOf({ INTUIT_CLIENT_ID: 'ABcd1234', DATA_DIR: tempDataDir() });
    expect([...problems.keys()].sort()).toEqual([
      'ADMIN_API_TOKEN',
      'INTUIT_CLIENT_SECRET',
      'INTUIT_REDIRECT_URI',
      'INTUIT_WEBHOOK_VERIFIER_TOKEN',
      'QBO_TOKEN_ENCRYPTION_KEY',
    ]);
    expect(problems.get('QBO_TOKEN_ENCRYPTION_KEY')).toContain('openssl rand -hex 32');
    expect(problems.get('INTUIT_CLIENT_SECRET')).toContain('developer.intuit.com');
  });

  test('the placeholder values of a half-finished production.env are each refused by name', () => {
    const problems = problemsOf(
      external({
        INTUIT_CLIENT_ID: 'placeholder',
        INTUIT_CLIENT_SECRET: 'placeholder',
        INTUIT_WEBHOOK_VERIFIER_TOKEN: '<your-real-verifier-token>',
        QBO_TOKEN_ENCRYPTION_KEY: '0'.repeat(64),
        ADMIN_API_TOKEN: 'changeme',
      }),
    );
    expect(problems.get('INTUIT_CLIENT_ID')).toMatch(/placeholder/);
    expect(problems.get('INTUIT_CLIENT_SECRET')).toMatch(/placeholder/);
    expect(problems.get('INTUIT_WEBHOOK_VERIFIER_TOKEN')).toMatch(/placeholder/);
    expect(problems.get('QBO_TOKEN_ENCRYPTION_KEY')).toBe(
      'value is all zeros; generate one with: openssl rand -hex 32',
    );
    expect(problems.get('ADMIN_API_TOKEN')).toMatch(/placeholder.*openssl rand -hex 32/);
  });

  test('malformed values are all reported together with the value received', () => {
    const problems = problemsOf(
      external({
        PORT: 'eighty',
        SANDBOX_PORT: '70000',
        LOG_LEVEL: 'loud',
        LOG_FORMAT: 'xml',
        QBO_MINOR_VERSION: '65',
        QBO_REQUEST_LOG_RETENTION_DAYS: '0',
        INTUIT_ENVIRONMENT: 'prod',
        DATABASE_URL: 'mysql://root:hunter2@db/app',
        REDIS_URL: 'localhost:6379',
        QBO_TOKEN_ENCRYPTION_KEY: 'abc123',
      }),
    );
    expect(problems.get('PORT')).toContain('"eighty"');
    expect(problems.get('SANDBOX_PORT')).toMatch(/0-65535/);
    expect(problems.get('LOG_LEVEL')).toMatch(/one of .*info/);
    expect(problems.get('LOG_FORMAT')).toMatch(/one of auto, json, pretty/);
    expect(problems.get('QBO_MINOR_VERSION')).toMatch(/75/);
    expect(problems.get('QBO_REQUEST_LOG_RETENTION_DAYS')).toBeDefined();
    expect(problems.get('INTUIT_ENVIRONMENT')).toMatch(/"sandbox" or "production"/);
    expect(problems.get('DATABASE_URL')).toMatch(/postgres/);
    expect(problems.get('DATABASE_URL')).not.toContain('hunter2');
    expect(problems.get('REDIS_URL')).toMatch(/redis:/);
    expect(problems.get('QBO_TOKEN_ENCRYPTION_KEY')).toMatch(/64 hex/);
  });

  test('an http redirect URI is refused for production keys', () => {
    const problems = problemsOf(
      external({ INTUIT_REDIRECT_URI: 'http://api.example.com/api/quickbooks/callback' }),
    );
    expect(problems.get('INTUIT_REDIRECT_URI')).toMatch(/https/);
  });

  test('QBO_SANDBOX_URL points every Intuit URL at that qbo-sandbox', () => {
    const config = loadConfig(
      external({ QBO_SANDBOX_URL: 'http://127.0.0.1:4010/', INTUIT_ENVIRONMENT: 'sandbox' }),
    );
    expect(config.intuit!.sandboxUrl).toBe('http://127.0.0.1:4010');
    expect(config.intuit!.urls).toEqual({
      authorize: 'http://127.0.0.1:4010/connect/oauth2',
      token: 'http://127.0.0.1:4010/oauth2/v1/tokens/bearer',
      revoke: 'http://127.0.0.1:4010/v2/oauth2/tokens/revoke',
      userinfo: 'http://127.0.0.1:4010/v1/openid_connect/userinfo',
      jwks: 'http://127.0.0.1:4010/op/v1/jwks',
      discovery: 'http://127.0.0.1:4010/.well-known/openid_sandbox_configuration',
      apiBase: 'http://127.0.0.1:4010',
    });
  });
});

describe('encryption keyring', () => {
  test('QBO_TOKEN_ENCRYPTION_KEYS lists keys newest first; moving the single key into it keeps old tokens readable', () => {
    const old = hexKey();
    const fresh = hexKey();
    const before = loadConfig(external({ QBO_TOKEN_ENCRYPTION_KEY: old }));
    const stored = new TokenCipher(before.tokenKeyring).encrypt('refresh-token');
    const after = loadConfig(
      external({
        QBO_TOKEN_ENCRYPTION_KEY: undefined,
        QBO_TOKEN_ENCRYPTION_KEYS: `k2:${fresh}, ${old}`,
      }),
    );
    expect(after.tokenKeyring.currentKeyId).toBe('k2');
    const cipher = new TokenCipher(after.tokenKeyring);
    expect(cipher.decrypt(stored)).toBe('refresh-token');
    expect(cipher.needsReEncrypt(stored)).toBe(true);
  });

  test('an ambiguous or broken keyring is refused with the entry named', () => {
    const key = hexKey();
    expect(
      problemsOf(external({ QBO_TOKEN_ENCRYPTION_KEYS: `k1:${key}` })).get(
        'QBO_TOKEN_ENCRYPTION_KEYS',
      ),
    ).toMatch(/not both/);
    const keys = (v: string) =>
      problemsOf(
        external({ QBO_TOKEN_ENCRYPTION_KEY: undefined, QBO_TOKEN_ENCRYPTION_KEYS: v }),
      ).get('QBO_TOKEN_ENCRYPTION_KEYS');
    expect(keys(`k1:${key},k1:${hexKey()}`)).toMatch(/unique/);
    expect(keys(`k1:${key},k2:${key}`)).toMatch(/twice/);
    expect(keys(`k1:${key},k2:${'0'.repeat(64)}`)).toMatch(/entry 2 is all zeros/);
    expect(keys(`bad id:${key}`)).toMatch(/entry 1: key id/);
  });
});

describe('frozen config and start-up log', () => {
  test('the config cannot be changed after start-up', () => {
    const config = loadConfig(external());
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.intuit as { clientSecret: string }).clientSecret = 'x';
    }).toThrow(TypeError);
  });

  test('redactedConfig shows key ids and hosts but no secret', () => {
    const env = external({
      DATABASE_URL: 'postgres://app:db-pass-123@db.internal:5432/qbo',
      REDIS_URL: 'redis://:redis-pass-456@cache:6379',
    });
    const config = loadConfig(env);
    const logged = JSON.stringify(redactedConfig(config));
    for (const secret of [
      env.INTUIT_CLIENT_SECRET!,
      env.INTUIT_WEBHOOK_VERIFIER_TOKEN!,
      env.ADMIN_API_TOKEN!,
      env.QBO_TOKEN_ENCRYPTION_KEY!,
      'db-pass-123',
      'redis-pass-456',
    ]) {
      expect(logged).not.toContain(secret);
    }
    expect(logged).toContain('db.internal');
    expect(logged).toContain(config.tokenKeyring.currentKeyId);
  });
});

describe('TRUST_PROXY', () => {
  test('unset trusts no proxy; true or a list of addresses are taken as given', () => {
    expect(loadConfig(external()).trustProxy).toBe(false);
    const cases: [string, unknown][] = [
      ['false', false],
      ['true', true],
      ['loopback', ['loopback']],
      ['10.0.0.0/8, 127.0.0.1,::1,fd00::/8', ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8']],
    ];
    for (const [value, want] of cases) {
      expect(loadConfig(external({ TRUST_PROXY: value })).trustProxy, value).toEqual(want);
    }
  });

  test('anything else is refused with the forms it takes', () => {
    for (const value of [
      'yes',
      '1',
      '10.0.0.0/33',
      '300.1.1.1',
      'loopback,,',
      'proxy.example.com',
    ]) {
      expect(problemsOf(external({ TRUST_PROXY: value })).get('TRUST_PROXY'), value).toMatch(
        /must be false, true, or a comma-separated list/,
      );
    }
  });
});

describe('API_RUNS_JOBS', () => {
  const redis = { REDIS_URL: 'redis://127.0.0.1:6379' };
  test('by default the API runs jobs without Redis and only enqueues with it', () => {
    expect(loadConfig(external()).apiRunsJobs).toBe(true);
    expect(loadConfig(external(redis)).apiRunsJobs).toBe(false);
    expect(loadConfig(external({ ...redis, API_RUNS_JOBS: 'true' })).apiRunsJobs).toBe(true);
  });

  test('in the embedded default the API runs them even with Redis: no worker can reach its sandbox', () => {
    const embedded = { DATA_DIR: tempDataDir(), ...redis };
    expect(loadConfig(embedded).apiRunsJobs).toBe(true);
    expect(problemsOf({ ...embedded, API_RUNS_JOBS: 'false' }).get('API_RUNS_JOBS')).toMatch(
      /embedded sandbox lives in this process/,
    );
  });

  test('false without Redis is refused: nothing would run the jobs', () => {
    expect(problemsOf(external({ API_RUNS_JOBS: 'false' })).get('API_RUNS_JOBS')).toMatch(
      /needs REDIS_URL/,
    );
    expect(problemsOf(external({ API_RUNS_JOBS: 'sometimes' })).get('API_RUNS_JOBS')).toMatch(
      /auto, true or false/,
    );
  });
});

describe('scaled mode: REDIS_PREFIX and API_RUNS_JOBS', () => {
  test('defaults: keys under "qbo-sync:"', () => {
    expect(loadConfig(external()).redisPrefix).toBe('qbo-sync:');
  });

  test('a deployment names its own prefix; API processes can leave jobs to the workers', () => {
    const config = loadConfig(
      external({
        REDIS_URL: 'redis://127.0.0.1:6379',
        REDIS_PREFIX: 'qbo-sync-staging',
        API_RUNS_JOBS: 'false',
      }),
    );
    expect(config.redisPrefix).toBe('qbo-sync-staging:');
    expect(config.apiRunsJobs).toBe(false);
  });

  test('a bad prefix, and API_RUNS_JOBS=false without Redis, are refused with the fix', () => {
    const problems = problemsOf(external({ REDIS_PREFIX: 'has space', API_RUNS_JOBS: 'false' }));
    expect(problems.get('REDIS_PREFIX')).toMatch(/1-48 of A-Z/);
    expect(problems.get('API_RUNS_JOBS')).toMatch(/needs REDIS_URL/);
  });
});

describe('QBO_SYNC_CONCURRENCY', () => {
  test('4 sync runs at once on Postgres, 1 on PGlite, or what is set', () => {
    expect(loadConfig(external()).qbo.syncConcurrency).toBe(1);
    const pgUrl = 'postgres://u@127.0.0.1:5432/db';
    expect(loadConfig(external({ DATABASE_URL: pgUrl })).qbo.syncConcurrency).toBe(4);
    expect(
      loadConfig(external({ DATABASE_URL: pgUrl, QBO_SYNC_CONCURRENCY: '12' })).qbo.syncConcurrency,
    ).toBe(12);
    expect(problemsOf(external({ QBO_SYNC_CONCURRENCY: '0' })).get('QBO_SYNC_CONCURRENCY')).toMatch(
      /1-100/,
    );
  });
});

describe('QBO_RATE_TRANSIT_MS', () => {
  test('100 ms by default, 0 allowed, anything negative, fractional or huge refused', () => {
    expect(loadConfig(external()).qbo.rateTransitMs).toBe(100);
    expect(loadConfig(external({ QBO_RATE_TRANSIT_MS: '0' })).qbo.rateTransitMs).toBe(0);
    expect(loadConfig(external({ QBO_RATE_TRANSIT_MS: '250' })).qbo.rateTransitMs).toBe(250);
    for (const bad of ['-1', '1.5', '10001', 'fast'])
      expect(problemsOf(external({ QBO_RATE_TRANSIT_MS: bad })).get('QBO_RATE_TRANSIT_MS')).toMatch(
        /0-10000 ms/,
      );
  });
});
