// Worker-only entry for the scaled mode (DATABASE_URL; several API processes behind a load
// balancer, and one or more of these). For now its one job is request-log retention:
// deleting qbo_request_log rows older than QBO_REQUEST_LOG_RETENTION_DAYS, hourly. Sync and
// webhook consumers join it as they land. In the embedded default `npm start` does this
// work in-process (PGlite allows one process per data directory).
import { loadConfigOrExit, type AppConfig } from './config.ts';
import {
  SHUTDOWN_GRACE_MS,
  createLogger,
  forceExitAfter,
  openDatabase,
  startRequestLogPruning,
} from './infra/container.ts';

const config: AppConfig = loadConfigOrExit();
if (!config.databaseUrl) {
  console.error(
    'worker.ts is for the scaled mode and needs DATABASE_URL; in the embedded default, `npm start` runs the worker in-process (PGlite allows one process per data directory)',
  );
  process.exit(1);
}

const logger = createLogger(config.logLevel).child({ process: 'worker' });
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
  await database
    .close()
    .catch((err: unknown) => logger.warn({ err }, 'closing the database failed'));
  logger.info('worker stopped');
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// The pruning timer is unref'd; this keeps the process alive until a signal.
setInterval(() => {}, 1 << 30);
