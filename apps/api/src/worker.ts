// Worker-only entry for the scaled mode (DATABASE_URL and REDIS_URL; several API processes
// behind a load balancer, and one or more of these). It consumes the background jobs through
// BullMQ — sync runs ('qbo.sync'), webhook processing ('qbo.webhook-process'), and the jobs other capabilities register in the
// container — and deletes qbo_request_log rows older than QBO_REQUEST_LOG_RETENTION_DAYS,
// hourly. In the embedded default `npm start` does all of this in-process (PGlite allows one
// process per data directory).
import { loadConfigOrExit, type AppConfig } from './config.ts';
import { createContainer, createLogger, startRequestLogPruning } from './infra/container.ts';

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

const logger = createLogger(config.logLevel).child({ process: 'worker' });
const container = await createContainer(config, { logger });
const stop = startRequestLogPruning({
  db: container.db,
  retentionDays: config.qbo.requestLogRetentionDays,
  logger,
});
await container.jobs.start();
await container.sync.resumeUnfinished();
await container.webhooks.startSweeps(container.jobs);
logger.info(
  { retentionDays: config.qbo.requestLogRetentionDays },
  'worker started: background jobs, request-log pruning hourly',
);

const shutdown = async (): Promise<void> => {
  stop();
  await container.close().catch(() => {});
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
// The timers are unref'd; this keeps the process alive until a signal.
setInterval(() => {}, 1 << 30);
