// Kysely over PGlite (the embedded default: Postgres in WASM, files under DATA_DIR) or over
// node-postgres (DATABASE_URL: Postgres / Supabase). Both adapters return values in the same
// shapes — see src/db/schema.ts — so code and tests cannot tell them apart.
import fs from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../db/schema.ts';
import { pgliteKysely } from './pglite-dialect.ts';
import { RemotePglite, type PgliteSession } from './pglite-remote.ts';
import { openPgliteSession } from './pglite-open.mjs';

export type DatabaseKind = 'pglite' | 'postgres';

export interface DatabaseOptions {
  /** postgres:// URL; when set, node-postgres is used and `dataDir` is ignored. */
  databaseUrl?: string | undefined;
  /**
   * PGlite directory (default `./.data/pglite`); `'memory'` keeps everything in memory.
   * One process per directory: a second opener is refused (PGlite would lose writes).
   */
  dataDir?: string | undefined;
  /**
   * Schema to work in (search_path), created by the migration runner if missing.
   * Default: the server's search_path (normally `public`). Tests use one per file.
   */
  schema?: string | undefined;
  /** PGlite only: start from this `dumpDataDir()` tarball instead of an empty cluster. */
  loadDataDir?: Blob | undefined;
  /** node-postgres pool size (default 10). */
  poolSize?: number | undefined;
  /**
   * PGlite only: run it on a worker thread of its own (the default), or on the calling
   * thread (`false`), where every statement blocks the event loop while it runs.
   */
  pgliteThread?: boolean | undefined;
}

export interface DatabaseHandle {
  db: Kysely<Database>;
  /**
   * The same database, for the few writes a caller waits on (storing a webhook delivery).
   * On PGlite (one session) its statements go ahead of queued ones; on Postgres it is `db`.
   */
  urgentDb: Kysely<Database>;
  kind: DatabaseKind;
  /** The schema given in the options, if any. */
  schema: string | null;
  /** For logs: the PGlite directory, 'memory', or the URL with its password masked. */
  location: string;
  /** The PGlite session (PGlite only): the migration runner and test snapshots use it. */
  pglite: PgliteSession | null;
  /** PGlite only: this open created the cluster (a first start); false for Postgres. */
  created: boolean;
  /** Closes the pool or the PGlite instance (and frees the data directory). */
  close(): Promise<void>;
}

export const DEFAULT_PGLITE_DIR = './.data/pglite';
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

// node-postgres' `date` type OID (pg_type); PGlite's parsers are in pglite-open.mjs.
const DATE = 1082;
const identity = (value: string): string => value;

export async function createDatabase(options: DatabaseOptions = {}): Promise<DatabaseHandle> {
  const schema = options.schema ?? null;
  if (schema !== null && !SCHEMA_NAME.test(schema)) {
    throw new Error(`database schema "${schema}" must match ${SCHEMA_NAME}`);
  }
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, schema, options.poolSize ?? 10)
    : openPglite(
        options.dataDir ?? DEFAULT_PGLITE_DIR,
        schema,
        options.loadDataDir,
        options.pgliteThread ?? true,
      );
}

// node-postgres turns `date` into a local-midnight Date, shifting the day in any zone west
// of UTC; keep the text. Everything else keeps its default parser.
const poolTypeParser = ((oid: number, format?: 'text' | 'binary'): unknown =>
  oid === DATE
    ? identity
    : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(
        oid,
        format,
      )) as typeof pg.types.getTypeParser;

function openPostgres(url: string, schema: string | null, poolSize: number): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    application_name: 'qbo-sync',
    // A startup parameter rather than a SET after connect: it holds for every pooled
    // connection from its first query. (Transaction-mode poolers may drop it; tests and
    // custom schemas need a direct connection.)
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
    // Per-pool parsers, so nothing else in the process sees changed globals.
    types: { getTypeParser: poolTypeParser },
  });
  // A client losing its connection (a server restart) must not crash the process. The pool
  // listens on idle clients only; a checked-out client between two queries (inside a
  // transaction, say) emits 'error' with nobody listening, which ends the process. Its query
  // or the next one fails instead, and the pool drops it when it is released.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    urgentDb: db,
    kind: 'postgres',
    schema,
    location: maskPassword(url),
    pglite: null,
    created: false,
    close: () => db.destroy(), // ends the pool
  };
}

const openDataDirs = new Set<string>();

async function openPglite(
  dataDir: string,
  schema: string | null,
  loadDataDir: Blob | undefined,
  onThread: boolean,
): Promise<DatabaseHandle> {
  const inMemory = dataDir === 'memory';
  const dir = inMemory ? null : path.resolve(dataDir);
  const releaseDir = dir ? lockDataDir(dir) : () => {};
  const created = dir !== null && !pgliteClusterExists(dir);
  // initdb grows the WebAssembly memory to ~800 MB and WebAssembly memory never shrinks;
  // the cluster is on disk now, and reopening it costs ~0.4 s and leaves ~440 MB
  // (measured in bench/start.md). Without this a first `npm start` idles at twice the
  // memory of every later one.
  const reopenAfterCreate = created && !loadDataDir;
  let pglite: PgliteSession;
  try {
    pglite = onThread
      ? await RemotePglite.open({ dataDir: dir, loadDataDir, reopenAfterCreate, schema })
      : await openInThread(dir, schema, loadDataDir, reopenAfterCreate);
    // After create (and the reopen, which rewrites the relation caches): a new cluster's
    // files are written with explicit modes (0666, 0644) that no umask narrows.
    if (dir) makePrivate(dir);
  } catch (err) {
    releaseDir();
    throw err;
  }
  const { db, urgentDb } = pgliteKysely<Database>(pglite);
  return {
    db,
    urgentDb,
    kind: 'pglite',
    schema,
    location: dir ?? 'memory',
    pglite,
    created,
    close: async () => {
      try {
        await db.destroy();
        // Kysely closes PGlite only if it ever ran a query itself; the migration runner
        // talks to PGlite directly, and an unclosed instance on a dataDir keeps Node alive.
        if (!pglite.closed) await pglite.close();
      } finally {
        releaseDir();
      }
    },
  };
}

async function openInThread(
  dir: string | null,
  schema: string | null,
  loadDataDir: Blob | undefined,
  reopenAfterCreate: boolean,
): Promise<PgliteSession> {
  const options = { dataDir: dir, loadDataDir: loadDataDir ?? null };
  if (reopenAfterCreate) await (await openPgliteSession({ ...options, schema: null })).close();
  return openPgliteSession({ ...options, schema });
}

/** Whether `dir` holds a PGlite (Postgres) cluster already: initdb writes PG_VERSION. */
export function pgliteClusterExists(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'PG_VERSION'));
}

/**
 * Two PGlite instances on one directory (two processes, or twice in one process) silently
 * lose writes. A lock file beside the directory turns that into a clear error at start.
 * A lock left by a dead process (or by an earlier run that had our pid, e.g. PID 1 in a
 * restarted container) is taken over.
 */
/** Another live process holds the PGlite directory (PGlite admits one process). */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
  constructor(
    readonly dir: string,
    readonly holderPid: number,
  ) {
    super(
      `PGlite data directory ${dir} is in use by process ${holderPid}; PGlite allows one process per directory (stop it, or set DATABASE_URL to share a Postgres server)`,
    );
  }
}

function lockDataDir(dir: string): () => void {
  if (openDataDirs.has(dir)) {
    throw new Error(`PGlite data directory ${dir} is already open in this process`);
  }
  fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
  const lockFile = `${dir}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0)
        throw lockError(dir, err);
      const holder = Number.parseInt(fs.readFileSync(lockFile, 'utf8'), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
        throw new DataDirInUseError(dir, holder);
      }
      fs.rmSync(lockFile, { force: true });
    }
  }
  openDataDirs.add(dir);
  return () => {
    if (!openDataDirs.delete(dir)) return;
    fs.rmSync(lockFile, { force: true });
  };
}

/**
 * The cluster holds every stored token (encrypted) and the request log: its files are the
 * owner's only (no group or other permission bits), including those an earlier version
 * left open and those PGlite's initdb writes 0666 whatever the umask. Files PGlite creates
 * later follow the process umask, which `npm start` sets to 077. Symbolic links are left
 * alone (chmod would follow them out of the directory).
 */
function makePrivate(dir: string): void {
  const tighten = (p: string, stat: fs.Stats): void => {
    if ((stat.mode & 0o077) !== 0) fs.chmodSync(p, stat.mode & 0o700);
  };
  tighten(dir, fs.statSync(dir));
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isSymbolicLink()) continue;
    const p = path.join(entry.parentPath, entry.name);
    tighten(p, fs.lstatSync(p));
  }
}

function lockError(dir: string, err: unknown): Error {
  return new Error(`cannot lock PGlite data directory ${dir}: ${(err as Error).message}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function maskPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable database URL]';
  }
}

/**
 * The one mapping from configuration to a database, shared by the entry points and
 * `npm run db:migrate`: Postgres when DATABASE_URL is set, else PGlite in DATA_DIR/pglite.
 */
export function databaseOptionsFromConfig(config: {
  databaseUrl: string | null;
  dataDir: string;
}): DatabaseOptions {
  return config.databaseUrl
    ? { databaseUrl: config.databaseUrl }
    : { dataDir: path.join(config.dataDir, 'pglite') };
}
