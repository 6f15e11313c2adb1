/**
 * One contender of the sync benchmark (`bench/sync.bench.ts`), run in a child process of
 * its own so that its peak RSS is its own: it syncs the six mirrored entities of one
 * sandbox company into a fresh, migrated database and prints one `RESULT {json}` line.
 *
 *   node --import tsx bench/sync-contenders.ts < job.json   (the harness does this)
 *
 * Contenders:
 *  - `node-quickbooks`: the way most Node integrations do it today. node-quickbooks 2.0.50
 *    `findX({fetchAll: true})` for one entity after the other (each call returns every row
 *    at once), then each row upserted on its own.
 *  - `engine`: this service's sync engine, through `runEngine` below; "not available" until
 *    the engine's module exists.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompiledQuery, type Kysely } from 'kysely';
import pino from 'pino';
import { createDatabase, type DatabaseHandle } from '../apps/api/src/infra/db.ts';
import { migrate } from '../apps/api/src/infra/migrate.ts';
import { buildServices } from '../apps/api/src/infra/container.ts';
import { intuitUrls, type IntuitConfig } from '../apps/api/src/config.ts';
import { MIRROR_TABLES, type Database, type QboEntityType } from '../apps/api/src/db/schema.ts';

export type ContenderName = 'node-quickbooks' | 'engine';
export type DatabaseChoice = 'pglite' | 'postgres';

/** What the harness hands a contender. */
export interface ContenderJob {
  contender: ContenderName;
  sandboxUrl: string;
  realmId: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  accessToken: string;
  refreshToken: string;
  /** Seconds, as the token endpoint answers them. */
  expiresIn: number;
  refreshExpiresIn: number;
  database: DatabaseChoice;
  /** Postgres only. */
  databaseUrl?: string;
  /** Entities to sync, in this order. */
  entities: QboEntityType[];
}

/** What a contender reports (one `RESULT` line). */
export interface ContenderResult {
  contender: ContenderName;
  available: boolean;
  /** Why not available, or what stopped the sync. */
  reason?: string;
  ok: boolean;
  error?: string;
  /** From the first QBO call to the last row written. */
  wallMs: number;
  /** Time spent fetching (node-quickbooks: the find calls; engine: not separable). */
  fetchMs: number | null;
  /** Time spent writing rows (node-quickbooks: the upsert loops; engine: not separable). */
  writeMs: number | null;
  rowsFetched: Partial<Record<QboEntityType, number>>;
  /** Rows in the mirror tables at the end. */
  rowsStored: number;
  /** RSS after the database was opened and migrated, before the sync (MB). */
  rssBeforeMb: number;
  /** Peak RSS of this process (MB), `process.resourceUsage().maxRSS`. */
  peakRssMb: number;
  /**
   * The highest RSS sampled (every 100 ms) in each tenth of the sync's wall time (MB): shows
   * whether memory grows with the rows synced or levels off.
   */
  rssByTenthMb?: number[];
}

const mb = (kb: number): number => Math.round(kb / 1024);
const rssNowMb = (): number => Math.round(process.memoryUsage.rss() / 1024 / 1024);

// ---------------------------------------------------------------------------------------
// Database: fresh and migrated for every run (a PGlite directory or a Postgres schema).

interface BenchDatabase {
  handle: DatabaseHandle;
  close(): Promise<void>;
}

async function openDatabase(job: ContenderJob): Promise<BenchDatabase> {
  if (job.database === 'postgres') {
    if (!job.databaseUrl) throw new Error('--db postgres needs DATABASE_URL');
    const schema = `bench_sync_${process.pid}`;
    const handle = await createDatabase({ databaseUrl: job.databaseUrl, schema });
    await migrate(handle);
    return {
      handle,
      close: async () => {
        await handle.db.executeQuery(CompiledQuery.raw(`drop schema if exists ${schema} cascade`));
        await handle.close();
      },
    };
  }
  // On disk, as the service's embedded default keeps it (DATA_DIR/pglite). The engine gets
  // the service's PGlite on its own thread; the node-quickbooks way opens PGlite as its
  // users do, on the calling thread.
  const dir = mkdtempSync(join(tmpdir(), 'qbo-sync-bench-'));
  const handle = await createDatabase({
    dataDir: join(dir, 'pglite'),
    pgliteThread: job.contender === 'engine',
  });
  await migrate(handle);
  return {
    handle,
    close: async () => {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function countMirrorRows(db: Kysely<Database>): Promise<number> {
  let total = 0;
  for (const table of Object.values(MIRROR_TABLES)) {
    const r = await db.executeQuery<{ n: string | number }>(
      CompiledQuery.raw(`select count(*) as n from ${table}`),
    );
    total += Number(r.rows[0]?.n ?? 0);
  }
  return total;
}

// ---------------------------------------------------------------------------------------
// Contender A: node-quickbooks, fetchAll per entity, one upsert per row.

const require = createRequire(import.meta.url);

type Row = Record<string, any>;
type Columns = Record<string, (o: Row) => unknown>;

const money = (v: unknown): string | null =>
  typeof v === 'number' || typeof v === 'string' ? String(v) : null;
const ref = (v: unknown): string | null => (v as { value?: string } | undefined)?.value ?? null;

/** Columns Customer and Vendor mirrors share. */
const PARTY: Columns = {
  display_name: (o) => o.DisplayName ?? null,
  company_name: (o) => o.CompanyName ?? null,
  email: (o) => o.PrimaryEmailAddr?.Address ?? null,
  phone: (o) => o.PrimaryPhone?.FreeFormNumber ?? null,
  active: (o) => o.Active !== false,
  balance: (o) => money(o.Balance),
  currency: (o) => ref(o.CurrencyRef),
};

/** The mirror columns each entity fills besides the shared ones (supabase/migrations). */
const COLUMNS: Record<QboEntityType, Columns> = {
  Customer: {
    ...PARTY,
    given_name: (o) => o.GivenName ?? null,
    family_name: (o) => o.FamilyName ?? null,
  },
  Vendor: PARTY,
  Item: {
    name: (o) => o.Name ?? null,
    fully_qualified_name: (o) => o.FullyQualifiedName ?? null,
    type: (o) => o.Type ?? null,
    unit_price: (o) => money(o.UnitPrice),
    income_account_qbo_id: (o) => ref(o.IncomeAccountRef),
    active: (o) => o.Active !== false,
  },
  Account: {
    name: (o) => o.Name ?? null,
    fully_qualified_name: (o) => o.FullyQualifiedName ?? null,
    account_type: (o) => o.AccountType ?? null,
    account_sub_type: (o) => o.AccountSubType ?? null,
    classification: (o) => o.Classification ?? null,
    current_balance: (o) => money(o.CurrentBalance),
    currency: (o) => ref(o.CurrencyRef),
    active: (o) => o.Active !== false,
  },
  Invoice: {
    doc_number: (o) => o.DocNumber ?? null,
    customer_qbo_id: (o) => ref(o.CustomerRef),
    customer_name: (o) => o.CustomerRef?.name ?? null,
    txn_date: (o) => o.TxnDate ?? null,
    due_date: (o) => o.DueDate ?? null,
    total_amt: (o) => money(o.TotalAmt),
    balance: (o) => money(o.Balance),
    currency: (o) => ref(o.CurrencyRef),
    email_status: (o) => o.EmailStatus ?? null,
  },
  Payment: {
    customer_qbo_id: (o) => ref(o.CustomerRef),
    txn_date: (o) => o.TxnDate ?? null,
    total_amt: (o) => money(o.TotalAmt),
    unapplied_amt: (o) => money(o.UnappliedAmt),
    currency: (o) => ref(o.CurrencyRef),
    payment_ref_num: (o) => o.PaymentRefNum ?? null,
  },
};

const SHARED: Columns = {
  sync_token: (o) => o.SyncToken,
  raw: (o) => JSON.stringify(o),
  qbo_created_at: (o) => o.MetaData?.CreateTime ?? null,
  qbo_updated_at: (o) => o.MetaData?.LastUpdatedTime ?? null,
};

/** `insert … on conflict (realm_id, qbo_id) do update` for one row of one entity. */
function upsertStatement(entity: QboEntityType): {
  sql: string;
  params: (realmId: string, o: Row) => unknown[];
} {
  const columns = { ...SHARED, ...COLUMNS[entity] };
  const names = ['realm_id', 'qbo_id', ...Object.keys(columns)];
  const sql =
    `insert into ${MIRROR_TABLES[entity]} (${names.join(', ')}, synced_at) ` +
    `values (${names.map((_, i) => `$${i + 1}`).join(', ')}, now()) ` +
    `on conflict (realm_id, qbo_id) do update set ` +
    [...names.slice(2), 'synced_at'].map((n) => `${n} = excluded.${n}`).join(', ');
  const getters = Object.values(columns);
  return { sql, params: (realmId, o) => [realmId, o.Id, ...getters.map((g) => g(o))] };
}

const FIND: Record<QboEntityType, string> = {
  Customer: 'findCustomers',
  Vendor: 'findVendors',
  Item: 'findItems',
  Account: 'findAccounts',
  Invoice: 'findInvoices',
  Payment: 'findPayments',
};

function describeError(err: unknown): string {
  const e = err as any;
  const fault = e?.Fault?.Error?.[0] ?? e?.response?.data?.Fault?.Error?.[0];
  const status = e?.response?.status ?? e?.statusCode;
  if (fault) return `HTTP ${status ?? '?'} ${fault.code} ${fault.Message}`.trim();
  if (e instanceof Error) return e.message;
  return JSON.stringify(e).slice(0, 300);
}

async function runNodeQuickbooks(job: ContenderJob): Promise<ContenderResult> {
  const QuickBooks: any = require('node-quickbooks');
  QuickBooks.V3_ENDPOINT_BASE_URL = `${job.sandboxUrl}/v3/company/`;
  const qbo = new QuickBooks(
    job.clientId,
    job.clientSecret,
    job.accessToken,
    false, // no token secret: OAuth 2.0
    job.realmId,
    true, // use the sandbox endpoint (pointed at qbo-sandbox above)
    false, // debug
    75, // minor version
    '2.0',
    job.refreshToken,
  );
  const find = (entity: QboEntityType): Promise<Row[]> =>
    new Promise((resolve, reject) => {
      qbo[FIND[entity]]({ fetchAll: true }, (err: unknown, data: any) => {
        // node-quickbooks calls back with the axios error or the Fault body.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        if (err) reject(err);
        else resolve((data?.QueryResponse?.[entity] as Row[] | undefined) ?? []);
      });
    });

  const database = await openDatabase(job);
  return measured('node-quickbooks', database, async (progress) => {
    progress.fetchMs = 0;
    progress.writeMs = 0;
    for (const entity of job.entities) {
      const f0 = performance.now();
      const rows = await find(entity);
      progress.fetchMs += performance.now() - f0;
      progress.rowsFetched[entity] = rows.length;
      const { sql, params } = upsertStatement(entity);
      const w0 = performance.now();
      for (const row of rows)
        await database.handle.db.executeQuery(CompiledQuery.raw(sql, params(job.realmId, row)));
      progress.writeMs += performance.now() - w0;
      // PGlite answers in-process without the event loop ever reaching I/O: after minutes of
      // upserts the HTTP agent has not yet seen the server close the idle keep-alive socket,
      // and node-quickbooks' next call would fail with EPIPE on it. One turn lets it see.
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
}

type Progress = Pick<ContenderResult, 'fetchMs' | 'writeMs' | 'rowsFetched'>;

/** Times `sync` from its first call to its last write, then counts the rows it stored. */
async function measured(
  contender: ContenderName,
  database: BenchDatabase,
  sync: (progress: Progress) => Promise<void>,
): Promise<ContenderResult> {
  const rssBeforeMb = rssNowMb();
  const progress: Progress = { fetchMs: null, writeMs: null, rowsFetched: {} };
  let error: string | undefined;
  const started = performance.now();
  const samples: [ms: number, rssMb: number][] = [];
  const sampler = setInterval(() => samples.push([performance.now() - started, rssNowMb()]), 100);
  try {
    await sync(progress);
  } catch (err) {
    error = describeError(err);
  }
  clearInterval(sampler);
  const wallMs = performance.now() - started;
  const rssByTenthMb = Array.from({ length: 10 }, (_, i) =>
    Math.max(
      0,
      ...samples
        .filter(([ms]) => ms >= (i * wallMs) / 10 && ms < ((i + 1) * wallMs) / 10)
        .map(([, rss]) => rss),
    ),
  );
  const rowsStored = await countMirrorRows(database.handle.db);
  await database.close();
  return {
    contender,
    available: true,
    ok: error === undefined,
    ...(error ? { error } : {}),
    wallMs,
    ...progress,
    rowsStored,
    rssBeforeMb,
    peakRssMb: mb(process.resourceUsage().maxRSS),
    rssByTenthMb,
  };
}

// ---------------------------------------------------------------------------------------
// Contender B: the service's sync engine.

/** Where the engine lives; the harness imports it only when the file exists. */
export const ENGINE_MODULE = new URL(
  '../apps/api/src/lib/quickbooks/sync/sync.ts',
  import.meta.url,
);

/**
 * Contender B: `createSyncService(deps).fullSync(realmId)` from
 * `apps/api/src/lib/quickbooks/sync/sync.ts`, with `deps` the service's own adapters
 * (`buildServices`: db, api client with its per-realm limiter, token store, lock, clock,
 * logger) over a fresh migrated database whose connection holds the job's tokens.
 * Reports "not available" while that module or export does not exist: no figures are made
 * up for it.
 */
export async function runEngine(job: ContenderJob): Promise<ContenderResult> {
  const notAvailable = (reason: string): ContenderResult => ({
    contender: 'engine',
    available: false,
    reason,
    ok: false,
    wallMs: 0,
    fetchMs: null,
    writeMs: null,
    rowsFetched: {},
    rowsStored: 0,
    rssBeforeMb: 0,
    peakRssMb: 0,
  });
  let engine: { createSyncService?: unknown };
  try {
    engine = (await import(ENGINE_MODULE.href)) as { createSyncService?: unknown };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String(err).includes('sync.ts'))
      return notAvailable('apps/api/src/lib/quickbooks/sync/sync.ts does not exist yet');
    throw err;
  }
  if (typeof engine.createSyncService !== 'function')
    return notAvailable('apps/api/src/lib/quickbooks/sync/sync.ts exports no createSyncService');

  const database = await openDatabase(job);
  const intuit: IntuitConfig = {
    clientId: job.clientId,
    clientSecret: job.clientSecret,
    redirectUri: job.redirectUri,
    environment: 'sandbox',
    webhookVerifierToken: 'unused-by-the-benchmark',
    sandboxUrl: job.sandboxUrl,
    urls: intuitUrls('sandbox', job.sandboxUrl),
  };
  const services = buildServices({
    db: database.handle.db,
    intuit,
    adminApiToken: 'unused-by-the-benchmark',
    tokenKeyring: { currentKeyId: 'bench', keys: { bench: randomBytes(32).toString('hex') } },
    minorVersion: 75,
    logger: pino({ level: 'silent' }),
    redis: null,
  });
  const now = Date.now();
  await services.tokens.saveTokens(job.realmId, {
    accessToken: job.accessToken,
    refreshToken: job.refreshToken,
    accessTokenExpiresAt: new Date(now + job.expiresIn * 1000),
    refreshTokenExpiresAt: new Date(now + job.refreshExpiresIn * 1000),
    refreshTokenHardExpiresAt: null,
  });
  const sync = (engine.createSyncService as (deps: typeof services) => SyncService)(services);
  return measured('engine', database, async () => {
    await sync.fullSync(job.realmId);
  });
}

/** What the harness needs of the engine's service. */
interface SyncService {
  fullSync(realmId: string): Promise<unknown>;
}

// ---------------------------------------------------------------------------------------

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // The job (tokens included) comes on stdin rather than in the visible command line.
  let input = '';
  for await (const chunk of process.stdin) input += String(chunk);
  const job = JSON.parse(input) as ContenderJob;
  const result = job.contender === 'engine' ? await runEngine(job) : await runNodeQuickbooks(job);
  console.log(`RESULT ${JSON.stringify(result)}`);
  // PGlite's worker and keep-alive sockets must not hold the process open.
  process.exit(0);
}
