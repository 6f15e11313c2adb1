// `npm run db:migrate`: applies supabase/migrations to DATABASE_URL (or, without it, to the
// embedded PGlite under DATA_DIR) and exits. Safe to run while other instances start:
// the runner takes an advisory lock on Postgres.
import { ConfigError, loadConfig } from './config.ts';
import { createDatabase, databaseOptionsFromConfig } from './infra/db.ts';
import { MigrationError, migrate } from './infra/migrate.ts';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(2);
}

const handle = await createDatabase(databaseOptionsFromConfig(config));
try {
  const result = await migrate(handle, { log: (line) => console.log(line) });
  console.log(
    `${handle.kind} ${handle.location}: ${result.applied.length} migration(s) applied, ${result.skipped.length} already applied`,
  );
} catch (err) {
  console.error(err instanceof MigrationError ? err.message : err);
  process.exitCode = 1;
} finally {
  await handle.close();
}
