// The only reader of `process.env`. Everything is parsed once at start-up; every bad
// variable is reported at once with how to fix it; the result is frozen. Variables and
// modes: docs/configuration.md.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { MeteringPolicy } from './lib/quickbooks/client/metering.ts';
import { assertCron } from './lib/jobs.ts';
import { KEY_ID_PATTERN, type TokenKeyring } from './lib/quickbooks/connection/token-cipher.ts';

export type Env = Readonly<Record<string, string | undefined>>;
export type IntuitEnvironment = 'sandbox' | 'production';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface IntuitUrls {
  authorize: string;
  token: string;
  revoke: string;
  userinfo: string;
  jwks: string;
  discovery: string;
  /** Accounting API base without trailing slash; requests go to `${apiBase}/v3/company/…`. */
  apiBase: string;
}

export interface IntuitConfig {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  environment: IntuitEnvironment;
  webhookVerifierToken: string;
  /** Set when every Intuit URL points at a qbo-sandbox (QBO_SANDBOX_URL). */
  sandboxUrl: string | null;
  urls: IntuitUrls;
}

export interface AppConfig {
  /**
   * `embedded`: no Intuit variable is set; the entry point starts the qbo-sandbox in-process
   * and registers itself there (so `intuit` is null). `external`: Intuit or a remote sandbox.
   */
  mode: 'embedded' | 'external';
  port: number;
  sandboxPort: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Absolute path. */
  dataDir: string;
  /**
   * TRUST_PROXY: which peers may speak for the client through X-Forwarded-For/-Proto/-Host
   * (Fastify's trustProxy). false: none (the default); true: any peer (only when nothing but
   * the proxy can reach the port); a list: those addresses/CIDRs or `loopback`, `linklocal`,
   * `uniquelocal`. No hop count: Fastify 5 refuses to trust one (it cannot check the peer).
   */
  trustProxy: TrustProxy;
  /** Absolute path of the built admin page (index.html + assets/), served at /admin. */
  adminUiDir: string;
  databaseUrl: string | null;
  redisUrl: string | null;
  /**
   * REDIS_PREFIX + ':' — the start of every Redis key this deployment writes (refresh lock,
   * rate limiter, BullMQ queues). Every process of one deployment uses the same one; two
   * deployments sharing a Redis use one each.
   */
  redisPrefix: string;
  /**
   * API_RUNS_JOBS: whether `npm start` consumes background jobs and owns their schedules.
   * Always without REDIS_URL (the in-process queue has no other consumer) and in the embedded
   * default (no worker can reach its sandbox); otherwise only when set to true, so that API
   * processes just enqueue and `npm run worker` does the work.
   */
  apiRunsJobs: boolean;
  /**
   * JOBS_CHECK_INTERVAL_MS: how often a process that runs jobs checks that the queue still
   * holds the schedules and a job for each unfinished run (lib/job-recovery.ts).
   */
  jobsCheckIntervalMs: number;
  adminApiToken: string;
  tokenKeyring: TokenKeyring;
  /**
   * Embedded default only: the bearer token the in-process qbo-sandbox's control API
   * (`/_sandbox/*`) requires — `sandboxControlToken` in DATA_DIR/local-secrets.json, or a
   * fresh one each start when that file is not used (key and admin token both set).
   * Null with an external QBO.
   */
  sandboxControlToken: string | null;
  intuit: IntuitConfig | null;
  qbo: {
    minorVersion: number;
    requestLogRetentionDays: number;
    metering: MeteringPolicy;
    /** When the daily reconciliation runs (UTC cron, QBO_RECONCILE_CRON). */
    reconcileCron: string;
    /** Sync runs (of different realms) one process works on at once (QBO_SYNC_CONCURRENCY). */
    syncConcurrency: number;
    /** Webhook deliveries within this window are read from QBO together. */
    webhookCoalesceMs: number;
    /** Invalid (unsigned) webhook posts stored per minute; the rest are only answered 401. */
    webhookInvalidPerMinute: number;
    /**
     * QBO_RATE_TRANSIT_MS: the longest one-way transit assumed from this process to QBO; the
     * rate limiter counts a call until its request's send plus this (docs/qbo-api-client.md).
     */
    rateTransitMs: number;
  };
  /** Where generated secrets came from, for the start-up log. */
  secretsSource: { tokenKeyring: 'env' | 'local-secrets'; adminApiToken: 'env' | 'local-secrets' };
}

export type TrustProxy = boolean | string[];

export interface ConfigProblem {
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n'),
    );
  }
}

export const LOCAL_SECRETS_FILE = 'local-secrets.json';
const GEN_KEY = 'generate one with: openssl rand -hex 32';
const INTUIT_PORTAL = 'copy it from your app on developer.intuit.com (Keys & credentials)';
/** Variables whose presence switches from the embedded default to an external QBO. */
const INTUIT_VARS = [
  'INTUIT_CLIENT_ID',
  'INTUIT_CLIENT_SECRET',
  'INTUIT_REDIRECT_URI',
  'INTUIT_ENVIRONMENT',
  'INTUIT_WEBHOOK_VERIFIER_TOKEN',
  'QBO_SANDBOX_URL',
] as const;

const port = (fallback: number) =>
  z
    .string()
    .regex(/^\d{1,5}$/, 'must be a port number (0-65535)')
    .transform(Number)
    .pipe(z.number().max(65535, 'must be a port number (0-65535)'))
    .default(fallback);

const int = (fallback: number, min: number, max: number, hint: string) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number; ${hint}`)
    .transform(Number)
    .pipe(z.number().min(min, hint).max(max, hint))
    .default(fallback);

const url = (protocols: string[], example: string) =>
  z
    .string()
    .refine(
      (v) => URL.canParse(v) && protocols.includes(new URL(v).protocol),
      `must be a ${protocols.join(' or ')} URL, e.g. ${example}`,
    );

/** Where `npm run build -w apps/frontend` (run by `npm install`) writes the admin page. */
export const DEFAULT_ADMIN_UI_DIR = fileURLToPath(new URL('../../frontend/dist/', import.meta.url));

/**
 * DATA_DIR when unset: `apps/api/.data`, whatever the working directory. `npm start` runs in
 * apps/api and the operator CLI wherever it is typed (the repository root, usually); both
 * must find the same local secrets and PGlite files. A relative DATA_DIR that is set is
 * taken from the working directory, as paths given on a command line are.
 */
export const DEFAULT_DATA_DIR = path.resolve(fileURLToPath(new URL('../.data/', import.meta.url)));

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** `auto`: readable lines on a terminal, JSON lines otherwise (a file, a pipe, a collector). */
const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const plain = {
  PORT: port(3000),
  SANDBOX_PORT: port(4010),
  LOG_LEVEL: z.enum(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`).default('info'),
  LOG_FORMAT: z.enum(LOG_FORMATS, `must be one of ${LOG_FORMATS.join(', ')}`).default('auto'),
  DATA_DIR: z.string().default(DEFAULT_DATA_DIR),
  ADMIN_UI_DIR: z.string().default(DEFAULT_ADMIN_UI_DIR),
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'postgres://user:pass@host:5432/db').optional(),
  REDIS_URL: url(['redis:', 'rediss:'], 'redis://127.0.0.1:6379').optional(),
  REDIS_PREFIX: z
    .string()
    .regex(
      /^[A-Za-z0-9_.-]{1,48}$/,
      'must be 1-48 of A-Z a-z 0-9 _ . - (e.g. "qbo-sync" or "qbo-sync-staging")',
    )
    .default('qbo-sync'),
  API_RUNS_JOBS: z.enum(['auto', 'true', 'false'], 'must be auto, true or false').default('auto'),
  QBO_MINOR_VERSION: int(
    75,
    75,
    999,
    'QBO ignores minor versions below 75 since 2025-08-01; use 75 or later',
  ),
  QBO_REQUEST_LOG_RETENTION_DAYS: int(30, 1, 3650, 'use 1-3650 days'),
  QBO_COREPLUS_MONTHLY_ALLOWANCE: int(
    500_000,
    1,
    1_000_000_000,
    "your Intuit tier's CorePlus calls per month (Builder: 500000)",
  ),
  QBO_COREPLUS_ALERT_PERCENT: int(80, 1, 100, 'use 1-100 (% of the monthly allowance)'),
  QBO_COREPLUS_BACKGROUND_PERCENT: int(90, 1, 100, 'use 1-100 (% of the monthly allowance)'),
  QBO_RECONCILE_CRON: z
    .string()
    .refine((v) => {
      try {
        assertCron(v);
        return v.trim().split(/\s+/).length === 5;
      } catch {
        return false;
      }
    }, 'must be a 5-field cron expression in UTC, e.g. "0 3 * * *" (03:00 every day)')
    .default('0 3 * * *'),
  QBO_WEBHOOK_COALESCE_MS: int(500, 0, 3_600_000, 'use 0-3600000 ms'),
  // No default here: it depends on DATABASE_URL (below).
  QBO_SYNC_CONCURRENCY: z
    .string()
    .regex(/^\d+$/, 'must be a whole number; use 1-100')
    .transform(Number)
    .pipe(z.number().min(1, 'use 1-100').max(100, 'use 1-100'))
    .optional(),
  QBO_WEBHOOK_INVALID_PER_MINUTE: int(60, 0, 100_000, 'use 0-100000'),
  QBO_RATE_TRANSIT_MS: int(100, 0, 10_000, 'use 0-10000 ms'),
  JOBS_CHECK_INTERVAL_MS: int(30_000, 1_000, 3_600_000, 'use 1000-3600000 ms'),
  INTUIT_ENVIRONMENT: z
    .enum(['sandbox', 'production'], 'must be "sandbox" or "production"')
    .default('sandbox'),
  INTUIT_REDIRECT_URI: url(
    ['https:', 'http:'],
    'https://api.example.com/api/quickbooks/callback (registered on your Intuit app)',
  ).optional(),
  QBO_SANDBOX_URL: url(['http:', 'https:'], 'http://127.0.0.1:4010').optional(),
  TRUST_PROXY: z
    .string()
    .transform((v, c): TrustProxy => {
      const parsed = parseTrustProxy(v);
      if (parsed !== null) return parsed;
      c.addIssue({
        code: 'custom',
        message:
          'must be false, true, or a comma-separated list of the proxy\'s addresses/CIDRs or loopback, linklocal, uniquelocal (e.g. "loopback,10.0.0.0/8")',
      });
      return z.NEVER;
    })
    .default(false),
};

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** TRUST_PROXY's value as Fastify takes it; null when it is none of the accepted forms. */
export function parseTrustProxy(v: string): TrustProxy | null {
  const lower = v.trim().toLowerCase();
  if (lower === 'false' || lower === '0') return false;
  if (lower === 'true') return true;
  const list = lower.split(',').map((e) => e.trim());
  const valid = (entry: string): boolean => {
    if (PROXY_NAMES.has(entry)) return true;
    const [address, prefix, extra] = entry.split('/');
    const family = net.isIP(address ?? '');
    if (family === 0 || extra !== undefined) return false;
    if (prefix === undefined) return true;
    return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
  };
  return list.length > 0 && list.every(valid) ? list : null;
}

/** Parses `env` (default `process.env`). Throws `ConfigError` naming every bad variable. */
export function loadConfig(env: Env = process.env): AppConfig {
  const problems: ConfigProblem[] = [];
  const get = (name: string): string | undefined => {
    // Blank counts as unset: compose files and CI often export `NAME=`.
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const parse = <T>(name: string, schema: z.ZodType<T>): T => {
    const r = schema.safeParse(get(name));
    if (r.success) return r.data;
    const shown = name.endsWith('_URL') ? '' : ` (got "${get(name)}")`;
    problems.push({ variable: name, message: `${r.error.issues[0]!.message}${shown}` });
    return undefined as T;
  };
  const p = Object.fromEntries(
    Object.entries(plain).map(([name, schema]) => [name, parse(name, schema as z.ZodType)]),
  ) as { [K in keyof typeof plain]: z.output<(typeof plain)[K]> };
  const mode = INTUIT_VARS.some((n) => get(n) !== undefined) ? 'external' : 'embedded';
  const dataDir = path.resolve(p.DATA_DIR ?? DEFAULT_DATA_DIR);

  // Secrets: required outside the embedded default; placeholders refused everywhere.
  const secret = (name: string, hint: string, minLength = 1): string | undefined => {
    const v = get(name);
    if (v === undefined) {
      if (mode === 'external') problems.push({ variable: name, message: `is required; ${hint}` });
      return undefined;
    }
    const bad = weakSecret(v);
    if (bad) problems.push({ variable: name, message: `${bad}; ${hint}` });
    else if (v.length < minLength) {
      problems.push({ variable: name, message: `is too short (< ${minLength} chars); ${hint}` });
    } else return v;
    return undefined;
  };

  let intuit: IntuitConfig | null = null;
  if (mode === 'external') {
    const clientId = secret('INTUIT_CLIENT_ID', INTUIT_PORTAL);
    const clientSecret = secret('INTUIT_CLIENT_SECRET', INTUIT_PORTAL);
    const webhookVerifierToken = secret(
      'INTUIT_WEBHOOK_VERIFIER_TOKEN',
      'copy the Verifier Token from the Webhooks section of your app on developer.intuit.com',
    );
    const redirectUri = p.INTUIT_REDIRECT_URI;
    if (get('INTUIT_REDIRECT_URI') === undefined) {
      problems.push({
        variable: 'INTUIT_REDIRECT_URI',
        message:
          "is required; set it to this service's callback, e.g. https://api.example.com/api/quickbooks/callback, and register the same URI on your Intuit app",
      });
    } else if (
      redirectUri &&
      p.INTUIT_ENVIRONMENT === 'production' &&
      !p.QBO_SANDBOX_URL &&
      new URL(redirectUri).protocol !== 'https:'
    ) {
      problems.push({
        variable: 'INTUIT_REDIRECT_URI',
        message:
          'must use https with INTUIT_ENVIRONMENT=production (Intuit refuses http redirect URIs for production keys)',
      });
    }
    if (clientId && clientSecret && webhookVerifierToken && redirectUri && p.INTUIT_ENVIRONMENT) {
      const sandboxUrl = p.QBO_SANDBOX_URL ? p.QBO_SANDBOX_URL.replace(/\/+$/, '') : null;
      intuit = {
        clientId,
        clientSecret,
        redirectUri,
        environment: p.INTUIT_ENVIRONMENT,
        webhookVerifierToken,
        sandboxUrl,
        urls: intuitUrls(p.INTUIT_ENVIRONMENT, sandboxUrl),
      };
    }
  }

  // Encryption keyring and admin token: from env, else (embedded only) DATA_DIR's local secrets.
  let tokenKeyring = parseKeyring(
    get('QBO_TOKEN_ENCRYPTION_KEY'),
    get('QBO_TOKEN_ENCRYPTION_KEYS'),
    problems,
  );
  const keyringGiven =
    get('QBO_TOKEN_ENCRYPTION_KEY') !== undefined || get('QBO_TOKEN_ENCRYPTION_KEYS') !== undefined;
  let adminApiToken = secret(
    'ADMIN_API_TOKEN',
    'generate one with: openssl rand -hex 32 (it guards the admin routes)',
    16,
  );
  const adminGiven = get('ADMIN_API_TOKEN') !== undefined;
  if (!keyringGiven && mode === 'external') {
    problems.push({ variable: 'QBO_TOKEN_ENCRYPTION_KEY', message: `is required; ${GEN_KEY}` });
  }
  const secretsSource = {
    tokenKeyring: keyringGiven ? ('env' as const) : ('local-secrets' as const),
    adminApiToken: adminGiven ? ('env' as const) : ('local-secrets' as const),
  };
  let sandboxControlToken: string | null = null;
  if (mode === 'embedded' && (!keyringGiven || !adminGiven) && p.DATA_DIR !== undefined) {
    const local = loadOrCreateLocalSecrets(dataDir, problems);
    if (local && !keyringGiven) tokenKeyring = keyringOf([{ hex: local.tokenEncryptionKey }]);
    if (local && !adminGiven) adminApiToken = local.adminApiToken;
    if (local) sandboxControlToken = local.sandboxControlToken;
  }
  // Nothing is written when key and admin token come from the environment; the control
  // API then gets a token nobody is told, which only closes it (the service itself talks
  // to the sandbox in-process, never through /_sandbox).
  if (mode === 'embedded') sandboxControlToken ??= randomBytes(32).toString('hex');

  if (p.API_RUNS_JOBS === 'false' && !p.REDIS_URL) {
    problems.push({
      variable: 'API_RUNS_JOBS',
      message:
        'false needs REDIS_URL: without Redis the jobs queue lives in this process and nothing else would run it',
    });
  } else if (p.API_RUNS_JOBS === 'false' && mode === 'embedded') {
    problems.push({
      variable: 'API_RUNS_JOBS',
      message:
        'false needs the INTUIT_* variables (or QBO_SANDBOX_URL): the embedded sandbox lives in this process, and `npm run worker` cannot reach it',
    });
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze({
    mode,
    port: p.PORT,
    sandboxPort: p.SANDBOX_PORT,
    logLevel: p.LOG_LEVEL,
    logFormat: p.LOG_FORMAT,
    dataDir,
    trustProxy: p.TRUST_PROXY ?? false,
    adminUiDir: path.resolve(p.ADMIN_UI_DIR ?? DEFAULT_ADMIN_UI_DIR),
    databaseUrl: p.DATABASE_URL ?? null,
    redisUrl: p.REDIS_URL ?? null,
    redisPrefix: `${p.REDIS_PREFIX ?? 'qbo-sync'}:`,
    // auto: here, unless workers can do it: they need Redis, and a QBO of their own to call
    // (the embedded sandbox lives in this process; worker.ts refuses to start without one).
    apiRunsJobs:
      p.API_RUNS_JOBS === 'auto' ? !p.REDIS_URL || mode === 'embedded' : p.API_RUNS_JOBS === 'true',
    jobsCheckIntervalMs: p.JOBS_CHECK_INTERVAL_MS,
    adminApiToken: adminApiToken!,
    tokenKeyring: tokenKeyring!,
    sandboxControlToken,
    intuit,
    qbo: {
      minorVersion: p.QBO_MINOR_VERSION,
      requestLogRetentionDays: p.QBO_REQUEST_LOG_RETENTION_DAYS,
      metering: {
        monthlyAllowance: p.QBO_COREPLUS_MONTHLY_ALLOWANCE,
        alertPercent: p.QBO_COREPLUS_ALERT_PERCENT,
        backgroundPercent: p.QBO_COREPLUS_BACKGROUND_PERCENT,
        // Intuit bills production calls only: any sandbox (embedded, QBO_SANDBOX_URL,
        // Intuit's own) is counted but not metered.
        metered: intuit?.environment === 'production' && !intuit.sandboxUrl,
      },
      reconcileCron: p.QBO_RECONCILE_CRON,
      // PGlite is one session: runs would only queue for it.
      syncConcurrency: p.QBO_SYNC_CONCURRENCY ?? (p.DATABASE_URL ? 4 : 1),
      webhookCoalesceMs: p.QBO_WEBHOOK_COALESCE_MS,
      webhookInvalidPerMinute: p.QBO_WEBHOOK_INVALID_PER_MINUTE,
      rateTransitMs: p.QBO_RATE_TRANSIT_MS,
    },
    secretsSource,
  });
}

/**
 * Intuit's endpoints, or the same paths on one qbo-sandbox host (it serves them all).
 * The entry point also uses this for the embedded sandbox once it knows its URL.
 */
export function intuitUrls(environment: IntuitEnvironment, sandboxUrl: string | null): IntuitUrls {
  const discoveryName =
    environment === 'production' ? 'openid_configuration' : 'openid_sandbox_configuration';
  if (sandboxUrl) {
    const b = sandboxUrl.replace(/\/+$/, '');
    return {
      authorize: `${b}/connect/oauth2`,
      token: `${b}/oauth2/v1/tokens/bearer`,
      revoke: `${b}/v2/oauth2/tokens/revoke`,
      userinfo: `${b}/v1/openid_connect/userinfo`,
      jwks: `${b}/op/v1/jwks`,
      discovery: `${b}/.well-known/${discoveryName}`,
      apiBase: b,
    };
  }
  const prod = environment === 'production';
  return {
    authorize: 'https://appcenter.intuit.com/connect/oauth2',
    token: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
    revoke: 'https://developer.api.intuit.com/v2/oauth2/tokens/revoke',
    userinfo: prod
      ? 'https://accounts.platform.intuit.com/v1/openid_connect/userinfo'
      : 'https://sandbox-accounts.platform.intuit.com/v1/openid_connect/userinfo',
    jwks: 'https://oauth.platform.intuit.com/op/v1/jwks',
    discovery: `https://developer.intuit.com/.well-known/${discoveryName}`,
    apiBase: prod
      ? 'https://quickbooks.api.intuit.com'
      : 'https://sandbox-quickbooks.api.intuit.com',
  };
}

/**
 * Where a browser reaches the admin page: the origin of the OAuth redirect URI (in the
 * embedded default the sandbox app registers `http://localhost:PORT/api/quickbooks/callback`).
 * It must be that host exactly: the consent's state is bound to the admin session's cookie,
 * which a browser keeps per host, so a sign-in on 127.0.0.1 ends in a callback on localhost
 * that is refused.
 */
export function adminOrigin(config: Pick<AppConfig, 'port' | 'intuit'>): string {
  return config.intuit ? new URL(config.intuit.redirectUri).origin : embeddedOrigin(config.port);
}

/** The embedded default's own address, which its sandbox app registers for the callback. */
export function embeddedOrigin(port: number): string {
  return `http://localhost:${port}`;
}

/** The config with every secret masked, for the start-up log. */
export function redactedConfig(config: AppConfig): Record<string, unknown> {
  const mask = '[redacted]';
  return {
    ...config,
    databaseUrl: config.databaseUrl && maskUrlPassword(config.databaseUrl),
    redisUrl: config.redisUrl && maskUrlPassword(config.redisUrl),
    adminApiToken: mask,
    sandboxControlToken: config.sandboxControlToken && mask,
    tokenKeyring: {
      currentKeyId: config.tokenKeyring.currentKeyId,
      keyIds: Object.keys(config.tokenKeyring.keys),
    },
    intuit: config.intuit && {
      ...config.intuit,
      clientSecret: mask,
      webhookVerifierToken: mask,
    },
  };
}

/** Key id of an unlabelled key: stable, so moving it into a keyring keeps old values readable. */
export function keyFingerprintId(hex: string): string {
  return `fp-${createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex').slice(0, 8)}`;
}

// ---------------------------------------------------------------------------------------

const PLACEHOLDERS = new Set([
  'placeholder',
  'changeme',
  'change-me',
  'change_me',
  'todo',
  'xxx',
  'secret',
  'null',
  'undefined',
  'none',
]);

function weakSecret(v: string): string | null {
  if (PLACEHOLDERS.has(v.toLowerCase()) || /^<.*>$/.test(v) || /^\$\{.*\}$/.test(v)) {
    return 'is a placeholder, not a real value';
  }
  if (/^0+$/.test(v)) return 'is all zeros';
  return null;
}

function parseKeyring(
  single: string | undefined,
  list: string | undefined,
  problems: ConfigProblem[],
): TokenKeyring | undefined {
  if (single !== undefined && list !== undefined) {
    problems.push({
      variable: 'QBO_TOKEN_ENCRYPTION_KEYS',
      message:
        'set either QBO_TOKEN_ENCRYPTION_KEY or QBO_TOKEN_ENCRYPTION_KEYS, not both (list the single key inside the keyring)',
    });
    return undefined;
  }
  const variable = list !== undefined ? 'QBO_TOKEN_ENCRYPTION_KEYS' : 'QBO_TOKEN_ENCRYPTION_KEY';
  const raw = list ?? single;
  if (raw === undefined) return undefined;
  const entries: { id?: string; hex: string }[] = [];
  const before = problems.length;
  const items = list !== undefined ? raw.split(',').map((s) => s.trim()) : [raw];
  items.forEach((item, i) => {
    const where = list !== undefined ? `entry ${i + 1}` : 'value';
    const m = /^(?:([^:]*):)?(.*)$/.exec(item)!;
    const id = m[1];
    const hex = m[2]!;
    if (id !== undefined && !KEY_ID_PATTERN.test(id)) {
      problems.push({ variable, message: `${where}: key id must be 1-32 of A-Z a-z 0-9 _ -` });
      return;
    }
    const bad = weakSecret(hex);
    if (bad) problems.push({ variable, message: `${where} ${bad}; ${GEN_KEY}` });
    else if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
      problems.push({
        variable,
        message: `${where} must be 64 hex characters (32 bytes); ${GEN_KEY}`,
      });
    } else entries.push({ ...(id !== undefined ? { id } : {}), hex: hex.toLowerCase() });
  });
  if (problems.length > before) return undefined;
  const ring = keyringOf(entries);
  if (Object.keys(ring.keys).length !== entries.length) {
    problems.push({ variable, message: 'key ids must be unique (and each key listed once)' });
    return undefined;
  }
  if (new Set(entries.map((e) => e.hex)).size !== entries.length) {
    problems.push({ variable, message: 'the same key is listed twice under different ids' });
    return undefined;
  }
  return ring;
}

/** The first entry is the current key. */
function keyringOf(entries: { id?: string; hex: string }[]): TokenKeyring {
  const keys: Record<string, string> = {};
  for (const e of entries) keys[e.id ?? keyFingerprintId(e.hex)] = e.hex;
  const first = entries[0]!;
  return { currentKeyId: first.id ?? keyFingerprintId(first.hex), keys };
}

const localSecretsSchema = z.object({
  version: z.literal(1),
  tokenEncryptionKey: z.string().regex(/^[0-9a-f]{64}$/),
  adminApiToken: z.string().min(16),
  // Added later: files written before it get one on their next start.
  sandboxControlToken: z.string().min(32).optional(),
});
type LocalSecrets = Required<z.infer<typeof localSecretsSchema>>;

/**
 * The embedded default needs a key, an admin token and the embedded sandbox's control
 * token before anyone has configured anything; generating them on first start and keeping
 * them in DATA_DIR means tokens stored in ./.data stay readable across restarts.
 */
function loadOrCreateLocalSecrets(dataDir: string, problems: ConfigProblem[]): LocalSecrets | null {
  const file = path.join(dataDir, LOCAL_SECRETS_FILE);
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const fresh: LocalSecrets = {
      version: 1,
      tokenEncryptionKey: randomBytes(32).toString('hex'),
      adminApiToken: randomBytes(32).toString('hex'),
      sandboxControlToken: randomBytes(32).toString('hex'),
    };
    try {
      // 'wx' fails if the file exists, so two starts racing never overwrite each other's key.
      fs.writeFileSync(
        file,
        `${JSON.stringify({ ...fresh, createdAt: new Date().toISOString() }, null, 2)}\n`,
        {
          flag: 'wx',
          mode: 0o600,
        },
      );
      return fresh;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
    const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    const parsed = localSecretsSchema.safeParse(raw);
    if (parsed.success) {
      const { sandboxControlToken = fresh.sandboxControlToken, ...rest } = parsed.data;
      // Written by an earlier version: add the control token, keeping everything else.
      if (!parsed.data.sandboxControlToken)
        replacePrivateFile(file, { ...(raw as object), sandboxControlToken });
      return { ...rest, sandboxControlToken };
    }
    problems.push({
      variable: 'DATA_DIR',
      message: `${file} is not a valid local secrets file; restore it from a backup (tokens stored under its key are unreadable without it) or delete it to generate new secrets`,
    });
  } catch (err) {
    problems.push({
      variable: 'DATA_DIR',
      message: `cannot read or create ${file} (${(err as Error).message}); point DATA_DIR at a writable directory`,
    });
  }
  return null;
}

/** Writes JSON through a new owner-only temporary file, flushed, then renamed over `file`. */
function replacePrivateFile(file: string, value: object): void {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

function maskUrlPassword(raw: string): string {
  const u = new URL(raw);
  if (u.password) u.password = '***';
  return u.toString();
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** For entry points: the config, or every problem printed and exit code 1. */
export function loadConfigOrExit(env: Env = process.env): AppConfig {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}
