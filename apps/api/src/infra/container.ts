// Builds every adapter and service from configuration, once, for an entry point: database
// (migrated), Redis (when REDIS_URL), lock, rate limiter, token cipher, Intuit OAuth, token
// store, QBO API client, logger. Tests call `buildServices` with their own database and
// sandbox; main.ts and worker.ts call `createContainer`.
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import pino from 'pino';
import pretty from 'pino-pretty';
import type { AppDeps } from '../app.ts';
import type { AppConfig, IntuitConfig, LogFormat, LogLevel } from '../config.ts';
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
import type { MeteringPolicy } from '../lib/quickbooks/client/metering.ts';
import type { JobWorker } from '../lib/jobs.ts';
import { JobRecovery } from '../lib/job-recovery.ts';
import type { QboJobs } from '../lib/quickbooks/jobs.ts';
import { alertsOfEveryRealm } from '../lib/quickbooks/metrics.ts';
import { createSyncService, type SyncService } from '../lib/quickbooks/sync/sync.ts';
import { registerKeepAlive, scheduleKeepAlive } from '../lib/quickbooks/connection/keep-alive.ts';
import { TokenCipher, type TokenKeyring } from '../lib/quickbooks/connection/token-cipher.ts';
import { TokenStore } from '../lib/quickbooks/connection/token-store.ts';
import { onMirrorWrite } from '../lib/quickbooks/sync/listeners.ts';
import { refreshFromMirror } from '../lib/quickbooks/writeback/back-from-qbo.ts';
import { PUSH_ALL_JOB, PushAll } from '../lib/quickbooks/writeback/push-all.ts';
import { Writeback } from '../lib/quickbooks/writeback/writeback.ts';
import {
  createDatabase,
  databaseOptionsFromConfig,
  maskPassword,
  pgliteClusterExists,
  type DatabaseHandle,
} from './db.ts';
import { qboReader } from '../lib/quickbooks/webhooks/qbo-reader.ts';
import { Webhooks } from '../lib/quickbooks/webhooks/webhooks.ts';
import { createJobs } from './jobs.ts';
import { createReadinessCheck, type ReadinessCheck } from './health.ts';
import { createLock } from './lock.ts';
import { QboPrometheus } from './prometheus.ts';
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

/**
 * JSON lines (for log collectors) unless `format` asks for, or `auto` finds a terminal on
 * stdout and picks, lines a person reads. Redaction applies before either.
 */
export function createLogger(
  level: LogLevel,
  destination?: pino.DestinationStream,
  format: LogFormat = 'auto',
): pino.Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'qbo-sync' },
    redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' },
  };
  const readable =
    format === 'pretty' || (format === 'auto' && !destination && process.stdout.isTTY);
  if (!readable) return destination ? pino(options, destination) : pino(options);
  return pino(
    options,
    pretty({
      colorize: !destination && process.stdout.isTTY,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,service',
      ...(destination ? { destination } : {}),
      sync: true,
    }),
  );
}

// ---------------------------------------------------------------------------------------
// Services

export interface ServiceOptions {
  db: Kysely<Database>;
  /** `DatabaseHandle.urgentDb`: where webhook deliveries are stored (default `db`). */
  urgentDb?: Kysely<Database>;
  intuit: IntuitConfig;
  adminApiToken: string;
  tokenKeyring: TokenKeyring;
  minorVersion: number;
  logger: pino.Logger;
  redis?: Redis | null;
  /**
   * A BullMQ-ready connection (`createRedis(url, { purpose: 'bullmq' })`): jobs go through
   * BullMQ. Null or absent: the in-process runner.
   */
  bullmqRedis?: Redis | null;
  /** The daily reconciliation's UTC cron (QBO_RECONCILE_CRON). */
  reconcileCron?: string;
  /** Sync runs at once in this process (QBO_SYNC_CONCURRENCY). Default 1. */
  syncConcurrency?: number;
  clock?: Clock;
  /** Key prefixes for the Redis lock and limiter (tests isolate themselves with these). */
  redisPrefix?: string;
  scopes?: string[];
  metering?: MeteringPolicy;
  /** Overrides for the QBO client (QBO_RATE_TRANSIT_MS; tests shorten backoff sleeps). */
  apiClient?: Partial<
    Pick<QboApiClientDeps, 'sleep' | 'maxAttempts' | 'timeoutMs' | 'retry' | 'rateTransitMs'>
  >;
  webhooks?: { coalesceMs?: number; invalidPerMinute?: number };
  /** BullMQ: how long a running job's lock lasts without renewal (tests shorten it). */
  jobLockMs?: number;
}

let mirrorListenerRegistered = false;

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
  /** Background jobs: handlers are registered here; entry points call `start()`. */
  jobs: JobWorker<QboJobs>;
  /** The periodic check that puts back jobs and schedules the queue lost; entry points start it. */
  recovery: JobRecovery<QboJobs>;
  sync: SyncService;
  readiness: ReadinessCheck;
  prometheus: QboPrometheus;
  webhooks: Webhooks;
  writeback: Writeback;
  pushAll: PushAll;
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
  // Prometheus counts each attempt as it is logged (infra/prometheus.ts).
  const prometheus = new QboPrometheus();
  const requestLog = prometheus.wrap(
    new DbRequestLogSink(o.db, log.child({ component: 'request-log' })),
  );
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
  const jobs = createJobs<QboJobs>({
    bullmqConnection: o.bullmqRedis ?? null,
    lock,
    clock,
    prefix: `${prefix}jobs`,
    ...(o.jobLockMs ? { lockDurationMs: o.jobLockMs } : {}),
    onError: (err, job) => log.warn({ err, jobId: job.id, job: job.name }, 'job run failed'),
  });
  const sync = createSyncService({
    db: o.db,
    api,
    clock,
    logger: log,
    lock,
    jobs,
    ...(o.reconcileCron ? { reconcileCron: o.reconcileCron } : {}),
    ...(o.syncConcurrency ? { concurrency: o.syncConcurrency } : {}),
    backgroundReadsAllowed: async () => !(await connections.meteredUsage()).backgroundBlocked,
  });
  sync.register(jobs);
  registerKeepAlive(jobs, { db: o.db, tokens, clock, logger: log });
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
    ...(o.metering ? { metering: o.metering } : {}),
  });
  prometheus.addStateSources({
    queueCounts: () => jobs.counts(),
    oldestPendingWebhook: () => oldestPendingWebhook(o.db),
    syncStatus: () => sync.status(),
    meteredUsage: () => connections.meteredUsage(),
    alerts: async () =>
      alertsOfEveryRealm(o.db, {
        now: clock.now(),
        coreplus: await connections.meteredUsage(),
        reconcileCron: sync.reconcileCron,
      }),
  });
  const webhooks = new Webhooks({
    db: o.db,
    ...(o.urgentDb ? { urgentDb: o.urgentDb } : {}),
    clock,
    logger: log,
    verifierToken: o.intuit.webhookVerifierToken,
    jobs,
    qbo: qboReader(api),
    ...(o.webhooks?.coalesceMs !== undefined ? { coalesceMs: o.webhooks.coalesceMs } : {}),
    ...(o.webhooks?.invalidPerMinute !== undefined
      ? { invalidStorePerMinute: o.webhooks.invalidPerMinute }
      : {}),
  });
  webhooks.register(jobs);
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
  const recovery = new JobRecovery<QboJobs>({
    worker: jobs,
    sources: [() => sync.queuedWork(), () => pushAll.queuedWork()],
    // Whatever else the queue held is gone too: a sweep takes the webhook events still due,
    // and a daily reconciliation whose fire time passed meanwhile runs now.
    onQueueLost: async () => {
      webhooks.wake('sweep', 0);
      await sync.catchUpReconcile(jobs);
    },
    logger: log.child({ component: 'job-recovery' }),
  });
  // Payments and voids seen by sync or webhooks reach the campaign invoices. The listener
  // gets the database of each write, so one registration serves every service set.
  if (!mirrorListenerRegistered) {
    onMirrorWrite((...args) => refreshFromMirror(...args));
    mirrorListenerRegistered = true;
  }
  return {
    db: o.db,
    clock,
    logger: o.logger,
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
    jobs,
    recovery,
    sync,
    readiness: createReadinessCheck({ db: o.db, redis }),
    prometheus,
    webhooks,
    writeback,
    pushAll,
  };
}

async function oldestPendingWebhook(db: Kysely<Database>): Promise<Date | null> {
  const row = await db
    .selectFrom('qbo_webhook_events')
    .select((eb) => eb.fn.min('received_at').as('oldest'))
    .where('status', 'in', ['pending', 'processing'])
    .executeTakeFirst();
  return row?.oldest ? new Date(row.oldest) : null;
}

/** What buildApp needs, from the services. */
export function appDepsOf(s: Services): AppDeps {
  return {
    db: s.db,
    clock: s.clock,
    logger: s.logger,
    auth: s.auth,
    connections: s.connections,
    sync: s.sync,
    readiness: s.readiness,
    prometheus: s.prometheus,
    webhooks: s.webhooks,
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
  const logger = opts.logger ?? createLogger(config.logLevel, undefined, config.logFormat);
  const database = await openDatabase(config, logger);
  let redis: Redis | null = null;
  let bullmqRedis: Redis | null = null;
  try {
    redis = config.redisUrl ? createRedis(config.redisUrl, { name: 'qbo-sync' }) : null;
    bullmqRedis = config.redisUrl
      ? createRedis(config.redisUrl, { name: 'qbo-sync-jobs', purpose: 'bullmq' })
      : null;
    const services = buildServices({
      db: database.db,
      urgentDb: database.urgentDb,
      intuit,
      adminApiToken: config.adminApiToken,
      tokenKeyring: config.tokenKeyring,
      minorVersion: config.qbo.minorVersion,
      metering: config.qbo.metering,
      reconcileCron: config.qbo.reconcileCron,
      syncConcurrency: config.qbo.syncConcurrency,
      logger,
      redis,
      bullmqRedis,
      redisPrefix: config.redisPrefix,
      webhooks: {
        coalesceMs: config.qbo.webhookCoalesceMs,
        invalidPerMinute: config.qbo.webhookInvalidPerMinute,
      },
      apiClient: { rateTransitMs: config.qbo.rateTransitMs },
    });
    return {
      ...services,
      config,
      database,
      redis,
      close: async () => {
        await services.jobs.close();
        if (bullmqRedis) await closeRedis(bullmqRedis);
        if (redis) await closeRedis(redis);
        await database.close();
      },
    };
  } catch (err) {
    if (bullmqRedis) await closeRedis(bullmqRedis);
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
 * `intervalMs` (default hourly). Returns a stop function: it starts no further pass and
 * resolves once a pass in flight has finished, so a shutdown closes the pool after it, not
 * under it. Until the jobs layer exists this is a timer; each process running it deletes
 * the same rows, which is harmless.
 */
export function startRequestLogPruning(o: {
  db: Kysely<Database>;
  retentionDays: number;
  logger: pino.Logger;
  clock?: Clock;
  intervalMs?: number;
}): () => Promise<void> {
  const clock = o.clock ?? systemClock;
  let running: Promise<void> | null = null;
  let stopped = false;
  const run = () => {
    if (running || stopped) return;
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
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}

/**
 * What a process that runs jobs starts: the consumers, the schedules (keep-alive, the
 * daily reconciliation, the webhook sweep), the runs a crash left
 * unfinished, a webhook sweep, and the periodic check that puts back what the queue loses
 * (lib/job-recovery.ts). Returns a stop function for the check (call it before `close`).
 */
export async function startJobProcessing(
  s: Pick<Services, 'jobs' | 'sync' | 'webhooks' | 'recovery'>,
  checkIntervalMs: number,
): Promise<() => Promise<void>> {
  await s.jobs.start();
  await scheduleKeepAlive(s.jobs);
  await s.sync.startBackground(s.jobs);
  await s.webhooks.startSweeps(s.jobs);
  return s.recovery.start(checkIntervalMs);
}

/** How long a shutdown may take before the process exits anyway (code 1). */
export const SHUTDOWN_GRACE_MS = 15_000;

/** Exits with code 1 after `ms` unless the process has ended by then (the timer is unref'd). */
export function forceExitAfter(ms: number, onTimeout: () => void): void {
  setTimeout(() => {
    onTimeout();
    process.exit(1);
  }, ms).unref();
}
