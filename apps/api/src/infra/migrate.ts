// Applies supabase/migrations/*.sql in name order, each file in its own transaction, and
// records it in schema_migrations (name, checksum, applied_at). Refuses to go on when an
// applied file was edited or a new file sorts before an applied one; a failing file is
// named in the error with the database's message. On Postgres an advisory lock makes two
// processes starting at once apply each file exactly once. Rules: docs/database.md.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompiledQuery } from 'kysely';
import type { DatabaseHandle } from './db.ts';

export const MIGRATIONS_DIR = fileURLToPath(
  new URL('../../../../supabase/migrations/', import.meta.url),
);

// Supabase CLI naming: <14-digit timestamp>_<name>.sql; plain string order is time order.
const FILE_NAME = /^\d{14}_[a-z0-9_]+\.sql$/;

export interface MigrationFile {
  name: string;
  /** sha256 of the file with line endings normalised, so a CRLF checkout is not "changed". */
  checksum: string;
  sql: string;
}

export interface MigrateOptions {
  /** Default: the repository's supabase/migrations. */
  dir?: string;
  log?: (message: string) => void;
}

export interface MigrateResult {
  /** Files applied by this call, in order. */
  applied: string[];
  /** Files that were already recorded. */
  skipped: string[];
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(
    message: string,
    /** The migration file at fault, when there is one. */
    readonly file: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export async function readMigrations(dir: string = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.sql')).sort(compareNames);
  const files: MigrationFile[] = [];
  for (const name of names) {
    if (!FILE_NAME.test(name)) {
      throw new MigrationError(
        `migration file ${name} in ${dir} is not named <YYYYMMDDHHMMSS>_<name>.sql (lowercase, digits, _)`,
        name,
      );
    }
    const sql = await fs.readFile(path.join(dir, name), 'utf8');
    files.push({ name, sql, checksum: checksumOf(sql) });
  }
  return files;
}

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

export async function migrate(
  handle: DatabaseHandle,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const files = await readMigrations(options.dir);
  const log = options.log ?? (() => {});
  return withSession(handle, async (session) => {
    await lock(session, handle.schema);
    try {
      return await applyPending(session, handle, files, log);
    } finally {
      await unlock(session, handle.schema);
    }
  });
}

// ---------------------------------------------------------------------------------------

interface Session {
  query<R>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs a multi-statement script, then `record`, in one transaction. */
  applyScript(script: string, record: { text: string; params: unknown[] }): Promise<void>;
}

/**
 * Postgres: one pooled connection for the whole run (the advisory lock is per session) and
 * the simple query protocol for scripts (Kysely sends parameterless queries that way).
 * PGlite: its `exec` (the extended protocol, used by `query`, takes one statement only).
 */
async function withSession<T>(
  handle: DatabaseHandle,
  fn: (session: Session) => Promise<T>,
): Promise<T> {
  const pglite = handle.pglite;
  if (pglite) {
    return fn({
      query: async <R>(text: string, params: unknown[] = []) =>
        (await pglite.query<R>(text, params)).rows,
      applyScript: async (script, record) => {
        await pglite.transaction(async (tx) => {
          await tx.exec(script);
          await tx.query(record.text, record.params);
        });
      },
    });
  }
  return handle.db.connection().execute(async (conn) =>
    fn({
      query: async <R>(text: string, params: unknown[] = []) =>
        (await conn.executeQuery<R>(CompiledQuery.raw(text, params))).rows,
      applyScript: async (script, record) => {
        await conn.transaction().execute(async (trx) => {
          await trx.executeQuery(CompiledQuery.raw(script));
          await trx.executeQuery(CompiledQuery.raw(record.text, record.params));
        });
      },
    }),
  );
}

async function applyPending(
  session: Session,
  handle: DatabaseHandle,
  files: MigrationFile[],
  log: (message: string) => void,
): Promise<MigrateResult> {
  if (handle.schema) await session.query(`create schema if not exists "${handle.schema}"`);
  await session.query(
    `create table if not exists schema_migrations (
       name text primary key,
       checksum text not null,
       applied_at timestamptz not null default now()
     )`,
  );
  // Like every other table: invisible to roles other than the owner (Supabase's anon…).
  await session.query('alter table schema_migrations enable row level security');

  let applied: { name: string; checksum: string }[];
  try {
    applied = await session.query('select name, checksum from schema_migrations order by name');
  } catch (err) {
    throw new MigrationError(
      `schema_migrations exists but was not created by qbo-sync (${(err as Error).message}); run qbo-sync in its own schema`,
      null,
      { cause: err },
    );
  }

  const byName = new Map(files.map((f) => [f.name, f]));
  for (const row of applied) {
    const file = byName.get(row.name);
    if (!file) {
      // An older release running against a newer schema: harmless to it, worth a line.
      log(`migration ${row.name} is recorded as applied but has no file in this release`);
    } else if (file.checksum !== row.checksum) {
      throw new MigrationError(
        `migration ${row.name} was changed after it was applied (checksum ${row.checksum.slice(0, 12)}… recorded, ${file.checksum.slice(0, 12)}… on disk); restore the file and put the change in a new migration`,
        row.name,
      );
    }
  }

  const done = new Set(applied.map((r) => r.name));
  const pending = files.filter((f) => !done.has(f.name));
  const latest = applied.at(-1)?.name;
  const early = latest === undefined ? undefined : pending.find((f) => f.name < latest);
  if (early && latest) {
    throw new MigrationError(
      `migration ${early.name} sorts before ${latest}, which is already applied; give it a later timestamp so every database applies files in the same order`,
      early.name,
    );
  }

  for (const file of pending) {
    const started = Date.now();
    try {
      await session.applyScript(file.sql, {
        text: 'insert into schema_migrations (name, checksum) values ($1, $2)',
        params: [file.name, file.checksum],
      });
    } catch (err) {
      throw new MigrationError(
        `migration ${file.name} failed: ${describe(err, file.sql)}`,
        file.name,
        {
          cause: err,
        },
      );
    }
    log(`applied migration ${file.name} (${Date.now() - started} ms)`);
  }
  return { applied: pending.map((f) => f.name), skipped: [...done].filter((n) => byName.has(n)) };
}

/** The database's message plus where it points, e.g. `relation "x" does not exist (line 12)`. */
function describe(err: unknown, sql: string): string {
  const e = err as Error & { position?: string; detail?: string; hint?: string; code?: string };
  let text = e.message;
  const position = Number(e.position);
  if (Number.isInteger(position) && position > 0) {
    text += ` (line ${sql.slice(0, position - 1).split('\n').length})`;
  }
  if (e.code) text += ` [SQLSTATE ${e.code}]`;
  if (e.detail) text += `; detail: ${e.detail}`;
  if (e.hint) text += `; hint: ${e.hint}`;
  return text;
}

// One lock per schema, so parallel test files (a schema each) do not queue behind each other.
async function lock(session: Session, schema: string | null): Promise<void> {
  await session.query('select pg_advisory_lock($1::bigint)', [await lockKey(session, schema)]);
}

async function unlock(session: Session, schema: string | null): Promise<void> {
  await session.query('select pg_advisory_unlock($1::bigint)', [await lockKey(session, schema)]);
}

async function lockKey(session: Session, schema: string | null): Promise<string> {
  const name =
    schema ??
    (await session.query<{ s: string | null }>('select current_schema() as s'))[0]?.s ??
    'public';
  const digest = createHash('sha256').update(`qbo-sync schema_migrations ${name}`).digest();
  return digest.readBigInt64BE(0).toString();
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
