// Worker-only entry for the scaled mode (DATABASE_URL and REDIS_URL; several API processes
// behind a load balancer, and one or more of these). It consumes the background jobs through
// BullMQ — sync runs ('qbo.sync'), webhook processing ('qbo.webhook-process'), invoice push-all
// ('qbo.invoice-push-all'), the daily reconciliation and keep-alive — checks every
// JOBS_CHECK_INTERVAL_MS that Redis still holds them (lib/job-recovery.ts), and deletes
// qbo_request_log rows older than QBO_REQUEST_LOG_RETENTION_DAYS, hourly. In the embedded default `npm start` does all of this in-process (PGlite allows one
// process per data directory).
import { loadConfigOrExit, type AppConfig } from './config.ts';
import {
  SHUTDOWN_GRACE_MS,
  createContainer,
  createLogger,
  forceExitAfter,
  startJobProcessing,
  startRequestLogPruning,
} from './infra/container.ts';

const config: AppConfig = loadConfigOrExit();
const refuse = (why: string): never => {
  console.error(why);
  process.exit(1);
};
if (!config.databaseUrl) {
  refuse(
    'worker.ts is for the scaled mode and needs DATABASE_URL; in the embedded default, `npm start` runs the worker in-process (PGlite allows one process per data directory)',
  );
}
if (!config.redisUrl) {
  refuse(
    'worker.ts consumes jobs from Redis and needs REDIS_URL; without it `npm start` runs every job in-process',
  );
}
if (!config.intuit) {
  refuse(
    'worker.ts calls QuickBooks and needs the INTUIT_* variables (or QBO_SANDBOX_URL); the embedded sandbox lives in the `npm start` process',
  );
}

const logger = createLogger(config.logLevel, undefined, config.logFormat).child({
  process: 'worker',
});
const container = await createContainer(config, { logger });
const stop = startRequestLogPruning({
  db: container.db,
  retentionDays: config.qbo.requestLogRetentionDays,
  logger,
});
const stopJobChecks = await startJobProcessing(container, config.jobsCheckIntervalMs);
logger.info(
  {
    retentionDays: config.qbo.requestLogRetentionDays,
    jobsCheckIntervalMs: config.jobsCheckIntervalMs,
  },
  'worker started: background jobs, request-log pruning hourly',
);

// SIGTERM/SIGINT: start no new work, let the pass in flight finish, close the pool, exit 0.
// A shutdown that hangs (a dead database) ends after SHUTDOWN_GRACE_MS with exit code 1,
// and a second signal ends it at once.
let stopping = false;
const shutdown = async (signal: string): Promise<void> => {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, 'worker stopping…');
  forceExitAfter(SHUTDOWN_GRACE_MS, () => logger.error('worker shutdown timed out; exiting'));
  await stop();
  await stopJobChecks();
  // Jobs in flight get their grace period, then are handed back; pools close after them.
  await container
    .close()
    .catch((err: unknown) => logger.warn({ err }, 'closing the container failed'));
  logger.info('worker stopped');
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// The timers are unref'd; this keeps the process alive until a signal.
setInterval(() => {}, 1 << 30);
