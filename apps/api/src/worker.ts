// Worker-only entry for the scaled mode (DATABASE_URL; several API processes behind a load
// balancer, and one or more of these). It consumes the background jobs (BullMQ on
// REDIS_URL: invoice push-all…) and keeps the request log within its retention
// (QBO_REQUEST_LOG_RETENTION_DAYS, hourly). In the embedded default `npm start` does this
// work in-process (PGlite allows one process per data directory).
import { loadConfigOrExit, type AppConfig } from './config.ts';
import { createContainer, createLogger, startRequestLogPruning } from './infra/container.ts';

const config: AppConfig = loadConfigOrExit();
if (!config.databaseUrl) {
  console.error(
    'worker.ts is for the scaled mode and needs DATABASE_URL; in the embedded default, `npm start` runs the worker in-process (PGlite allows one process per data directory)',
  );
  process.exit(1);
}

const logger = createLogger(config.logLevel).child({ process: 'worker' });
const container = await createContainer(config, { logger });
await container.jobs.start();
const stop = startRequestLogPruning({
  db: container.db,
  retentionDays: config.qbo.requestLogRetentionDays,
  logger,
});
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
// The pruning timer is unref'd; this keeps the process alive until a signal.
setInterval(() => {}, 1 << 30);
