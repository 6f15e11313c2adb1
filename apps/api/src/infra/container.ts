// Builds every adapter and service from configuration, once, for an entry point: database
// (migrated), Redis (when REDIS_URL), lock, rate limiter, token cipher, Intuit OAuth, token
// store, QBO API client, logger. Tests call `buildServices` with their own database and
// sandbox; main.ts and worker.ts call `createContainer`.
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import pino from 'pino';
import type { AppDeps } from '../app.ts';
import type { AppConfig, IntuitConfig, LogLevel } from '../config.ts';
import type { Database } from '../db/schema.ts';
import { AdminAuth } from '../http/admin-auth.ts';
import { QboApiClient, type QboApiClientDeps } from '../lib/quickbooks/client/api-client.ts';
import { ConnectionService } from '../lib/quickbooks/connection/connection.service.ts';
import { ACCOUNTING_SCOPE, QboOAuth } from '../lib/quickbooks/connection/oauth.ts';
import { deriveOAuthStateSecret } from '../lib/quickbooks/connection/oauth-state.ts';
import {
  HOUR_MS,
  systemClock,
  type Clock,
  type Lock,
  type RateLimiter,
} from '../lib/quickbooks/ports.ts';
import { DbRequestLogSink, pruneExpiredRequestLog } from '../lib/quickbooks/client/request-log.ts';
import { TokenCipher, type TokenKeyring } from '../lib/quickbooks/connection/token-cipher.ts';
import { TokenStore } from '../lib/quickbooks/connection/token-store.ts';
import type { JobWorker } from '../lib/jobs.ts';
import { onMirrorWrite } from '../lib/quickbooks/sync/listeners.ts';
import { refreshFromMirror } from '../lib/quickbooks/writeback/back-from-qbo.ts';
import { PUSH_ALL_JOB, PushAll, type WritebackJobs } from '../lib/quickbooks/writeback/push-all.ts';
import { Writeback } from '../lib/quickbooks/writeback/writeback.ts';
import { createJobs } from './jobs.ts';
import {
  createDatabase,
  databaseOptionsFromConfig,
  maskPassword,
  pgliteClusterExists,
  type DatabaseHandle,
} from './db.ts';
import { createLock } from './lock.ts';
import { migrate } from './migrate.ts';
import { createRateLimiter } from './rate-limit.ts';
import { closeRedis, createRedis } from './redis.ts';

// ---------------------------------------------------------------------------------------
// Logger: secrets are removed by configuration, whatever a call site passes.

const SECRET_KEYS = [
  'authorization',
  'cookie',
  'set-cookie',
  'token',
  'accessToken',
  'refreshToken',
  'idToken',
  'access_token',
  'refresh_token',
  'id_token',
  'clientSecret',
  'client_secret',
  'webhookVerifierToken',
  'verifierToken',
  'adminApiToken',
  'tokenKeyring',
  'secret',
  'password',
];
/**
 * The OAuth authorization code and state travel as `code` / `state` in a callback's query.
 * `*.code` is not redacted everywhere: error objects carry diagnostic codes (ECONNREFUSED,
 * QBO fault codes) under that name.
 */
const CALLBACK_PATHS = ['code', 'state', 'authorizationCode'].flatMap((k) => [
  k,
  `query.${k}`,
  `*.query.${k}`,
  `params.${k}`,
  `body.${k}`,
]);

const key = (k: string, prefix = ''): string =>
  /^[A-Za-z_]+$/.test(k) ? `${prefix}${k}` : `${prefix ? prefix.slice(0, -1) : ''}["${k}"]`;

export const LOG_REDACT_PATHS = [
  ...SECRET_KEYS.map((k) => key(k)),
  ...SECRET_KEYS.map((k) => key(k, '*.')),
  ...CALLBACK_PATHS,
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'config.intuit.clientSecret',
];

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): pino.Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'qbo-sync' },
    redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

// ---------------------------------------------------------------------------------------
// Services

export interface ServiceOptions {
  db: Kysely<Database>;
  intuit: IntuitConfig;
  adminApiToken: string;
  tokenKeyring: TokenKeyring;
  minorVersion: number;
  logger: pino.Logger;
  redis?: Redis | null;
  clock?: Clock;
  /** Key prefixes for the Redis lock and limiter (tests isolate themselves with these). */
  redisPrefix?: string;
  scopes?: string[];
  /** Overrides for the QBO client (tests shorten backoff sleeps). */
  apiClient?: Partial<Pick<QboApiClientDeps, 'sleep' | 'maxAttempts' | 'timeoutMs' | 'retry'>>;
}

/** Every background job's payload, by name: the catalogue the jobs adapter is typed with. */
export type AppJobs = WritebackJobs;

export interface Services {
  db: Kysely<Database>;
  clock: Clock;
  logger: pino.Logger;
  lock: Lock;
  limiter: RateLimiter;
  cipher: TokenCipher;
  oauth: QboOAuth;
  tokens: TokenStore;
  api: QboApiClient;
  connections: ConnectionService;
  auth: AdminAuth;
  stateSecret: Buffer;
  intuit: IntuitConfig;
  scopes: string[];
  /** Background jobs: handlers are registered here; the entry point calls `start()`. */
  jobs: JobWorker<AppJobs>;
  writeback: Writeback;
  pushAll: PushAll;
  /** Stops the jobs and closes what they opened. */
  closeJobs(): Promise<void>;
}

export function buildServices(o: ServiceOptions): Services {
  const clock = o.clock ?? systemClock;
  const redis = o.redis ?? null;
  const prefix = o.redisPrefix ?? 'qbo-sync:';
  const lock = createLock(redis, { prefix: `${prefix}lock:` });
  const limiter = createRateLimiter(redis, { prefix: `${prefix}rl:` });
  const cipher = new TokenCipher(o.tokenKeyring);
  const scopes = o.scopes ?? [ACCOUNTING_SCOPE];
  const log = o.logger.child({ component: 'quickbooks' });

  // Every HTTP attempt, to the Accounting API or to Intuit's OAuth server, becomes a
  // qbo_request_log row through the one sink; each says what kind of call it was.
  const requestLog = new DbRequestLogSink(o.db, log.child({ component: 'request-log' }));
  const oauth = new QboOAuth({
    clientId: o.intuit.clientId,
    clientSecret: o.intuit.clientSecret,
    redirectUri: o.intuit.redirectUri,
    environment: o.intuit.environment,
    urls: o.intuit.urls,
    scopes,
    clock,
    requestLog,
  });
  const tokens = new TokenStore({
    db: o.db,
    cipher,
    lock,
    oauth,
    clock,
    logger: log.child({ component: 'token-store' }),
  });
  const api = new QboApiClient({
    requestLog,
    tokens,
    limiter,
    clock,
    logger: log.child({ component: 'api-client' }),
    apiBaseUrl: `${o.intuit.urls.apiBase}/v3/company`,
    minorVersion: o.minorVersion,
    ...o.apiClient,
  });
  const stateSecret = deriveOAuthStateSecret(o.tokenKeyring);
  const connections = new ConnectionService({
    db: o.db,
    clock,
    oauth,
    tokens,
    api,
    stateSecret,
    environment: o.intuit.environment,
    scopes,
  });

  // BullMQ needs a connection of its own (no per-request retry limit).
  const bullmq = redis ? redis.duplicate({ maxRetriesPerRequest: null }) : null;
  const jobs = createJobs<AppJobs>({
    bullmqConnection: bullmq,
    lock,
    clock,
    prefix: `${prefix}jobs`,
    onError: (err, job) => log.error({ err, jobId: job.id, job: job.name }, 'job failed'),
  });
  const writeback = new Writeback({
    db: o.db,
    api,
    clock,
    logger: log.child({ component: 'writeback' }),
  });
  const pushAll = new PushAll({
    db: o.db,
    writeback,
    jobs,
    logger: log.child({ component: 'push-all' }),
  });
  jobs.handle(PUSH_ALL_JOB, (data, ctx) => pushAll.run(data, ctx), {
    groupOf: (data) => data.realmId,
    attempts: 3,
    onGiveUp: (data, err) => pushAll.giveUp(data, err),
  });
  // Payments and voids seen by sync or webhooks reach the campaign invoices.
  const stopListening = onMirrorWrite((...args) => refreshFromMirror(...args));

  return {
    db: o.db,
    clock,
    logger: o.logger,
    jobs,
    writeback,
    pushAll,
    closeJobs: async () => {
      stopListening();
      await jobs.close();
      if (bullmq) await closeRedis(bullmq);
    },
    lock,
    limiter,
    cipher,
    oauth,
    tokens,
    api,
    connections,
    auth: new AdminAuth({ adminApiToken: o.adminApiToken, clock }),
    stateSecret,
    intuit: o.intuit,
    scopes,
  };
}

/** What buildApp needs, from the services. */
export function appDepsOf(s: Services): AppDeps {
  return {
    db: s.db,
    clock: s.clock,
    logger: s.logger,
    auth: s.auth,
    connections: s.connections,
    writeback: s.writeback,
    pushAll: s.pushAll,
  };
}

// ---------------------------------------------------------------------------------------
// Container: services plus the resources an entry point must close.

export interface Container extends Services {
  config: AppConfig;
  database: DatabaseHandle;
  redis: Redis | null;
  close(): Promise<void>;
}

export async function createContainer(
  config: AppConfig,
  opts: { intuit?: IntuitConfig; logger?: pino.Logger } = {},
): Promise<Container> {
  const intuit = opts.intuit ?? config.intuit;
  if (!intuit) {
    throw new Error(
      'no Intuit configuration: set the INTUIT_* variables or start the embedded sandbox first',
    );
  }
  const logger = opts.logger ?? createLogger(config.logLevel);
  const database = await openDatabase(config, logger);
  let redis: Redis | null = null;
  try {
    redis = config.redisUrl ? createRedis(config.redisUrl, { name: 'qbo-sync' }) : null;
    const services = buildServices({
      db: database.db,
      intuit,
      adminApiToken: config.adminApiToken,
      tokenKeyring: config.tokenKeyring,
      minorVersion: config.qbo.minorVersion,
      logger,
      redis,
    });
    return {
      ...services,
      config,
      database,
      redis,
      close: async () => {
        await services.closeJobs();
        if (redis) await closeRedis(redis);
        await database.close();
      },
    };
  } catch (err) {
    if (redis) await closeRedis(redis);
    await database.close();
    throw err;
  }
}

/** The configured database, migrated (every entry point migrates at start). */
export async function openDatabase(
  config: Pick<AppConfig, 'databaseUrl' | 'dataDir'>,
  logger: pino.Logger,
): Promise<DatabaseHandle> {
  const options = databaseOptionsFromConfig(config);
  // The first start is the slow one (PGlite's initdb): say so before it, not after.
  if (options.databaseUrl) {
    logger.info({ location: maskPassword(options.databaseUrl) }, 'connecting to Postgres…');
  } else if (options.dataDir && !pgliteClusterExists(options.dataDir)) {
    logger.info(
      { location: options.dataDir },
      'creating the database (first start: PGlite sets up a new cluster, about 15 s)…',
    );
  } else {
    logger.info({ location: options.dataDir }, 'opening the database…');
  }
  const database = await createDatabase(options);
  try {
    logger.info('applying migrations…');
    const result = await migrate(database, { log: (line) => logger.info(line) });
    logger.info(
      { database: database.kind, location: database.location, applied: result.applied.length },
      'database ready',
    );
    return database;
  } catch (err) {
    await database.close();
    throw err;
  }
}

/**
 * Deletes qbo_request_log rows older than the retention period now and then every
 * `intervalMs` (default hourly). Returns a stop function. Until the jobs layer exists this
 * is a timer; each process running it deletes the same rows, which is harmless.
 */
export function startRequestLogPruning(o: {
  db: Kysely<Database>;
  retentionDays: number;
  logger: pino.Logger;
  clock?: Clock;
  intervalMs?: number;
}): () => void {
  const clock = o.clock ?? systemClock;
  let running: Promise<void> | null = null;
  const run = () => {
    if (running) return;
    running = pruneExpiredRequestLog(o.db, { retentionDays: o.retentionDays, nowMs: clock.now() })
      .then((n) => {
        if (n > 0)
          o.logger.info({ deleted: n, retentionDays: o.retentionDays }, 'pruned request log');
      })
      .catch((err: unknown) => o.logger.error({ err }, 'request-log pruning failed'))
      .finally(() => {
        running = null;
      });
  };
  run();
  const timer = setInterval(run, o.intervalMs ?? HOUR_MS);
  timer.unref();
  return () => clearInterval(timer);
}
