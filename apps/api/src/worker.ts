// Worker-only entry for the scaled mode (DATABASE_URL; several API processes behind a load
// balancer, and one or more of these). For now its one job is request-log retention:
// deleting qbo_request_log rows older than QBO_REQUEST_LOG_RETENTION_DAYS, hourly. Sync and
// webhook consumers join it as they land. In the embedded default `npm start` does this
// work in-process (PGlite allows one process per data directory).
import { loadConfigOrExit, type AppConfig } from './config.ts';
import { createLogger, openDatabase, startRequestLogPruning } from './infra/container.ts';

const config: AppConfig = loadConfigOrExit();
if (!config.databaseUrl) {
  console.error(
    'worker.ts is for the scaled mode and needs DATABASE_URL; in the embedded default, `npm start` runs the worker in-process (PGlite allows one process per data directory)',
  );
  process.exit(1);
}

const logger = createLogger(config.logLevel, undefined, config.logFormat).child({
  process: 'worker',
});
const database = await openDatabase(config, logger);
const stop = startRequestLogPruning({
  db: database.db,
  retentionDays: config.qbo.requestLogRetentionDays,
  logger,
});
logger.info(
  { retentionDays: config.qbo.requestLogRetentionDays },
  'worker started: request-log pruning hourly',
);

const shutdown = async (): Promise<void> => {
  stop();
  await database.close().catch(() => {});
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
// The pruning timer is unref'd; this keeps the process alive until a signal.
setInterval(() => {}, 1 << 30);
