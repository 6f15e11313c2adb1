/**
 * Write-back benchmark: N pending campaign invoices pushed by one push-all run into a
 * qbo-sandbox company with QBO's limits (10 requests per second, 500 per minute, 10 in
 * flight per realm) and a `latency` fault on every Accounting API call, against the time
 * QBO's limits allow for the calls the push needs.
 *
 *   npm run bench:writeback -- [--invoices 1000] [--clients 50] [--latency 300]
 *                              [--concurrency 8] [--db pglite|postgres]
 *
 * Calls and 429s are the sandbox's own counters (`GET /_sandbox/stats`) for the run's app;
 * duplicates are counted in the sandbox by DocNumber. The bound: the calls needed (one
 * Preferences read, per client a DisplayName query and a create, the item and income
 * account look-ups and the item create, one create per invoice) spread over QBO's sliding
 * 60-second window of 500 and 1-second window of 10, plus one call's latency.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { toJson } from '../apps/api/src/db/schema.ts';
import { createDatabase } from '../apps/api/src/infra/db.ts';
import { MemoryJobs } from '../apps/api/src/infra/jobs-memory.ts';
import { migrate } from '../apps/api/src/infra/migrate.ts';
import { MemoryRateLimiter } from '../apps/api/src/infra/rate-limit.ts';
import { QboApiClient } from '../apps/api/src/lib/quickbooks/client/api-client.ts';
import { DbRequestLogSink } from '../apps/api/src/lib/quickbooks/client/request-log.ts';
import { systemClock } from '../apps/api/src/lib/quickbooks/ports.ts';
import { PushAll, type WritebackJobs } from '../apps/api/src/lib/quickbooks/writeback/push-all.ts';
import { Writeback } from '../apps/api/src/lib/quickbooks/writeback/writeback.ts';
import { startSandbox } from '../packages/qbo-sandbox/src/index.ts';

const { values } = parseArgs({
  options: {
    invoices: { type: 'string', default: '1000' },
    clients: { type: 'string', default: '50' },
    latency: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '10' },
    db: { type: 'string', default: 'pglite' },
  },
});
const N = Number(values.invoices);
const CLIENTS = Number(values.clients);
const LATENCY = Number(values.latency);
const CONCURRENCY = Number(values.concurrency);
if (!Number.isInteger(N) || N < 1) throw new Error('--invoices: a positive integer');
if (!Number.isInteger(CLIENTS) || CLIENTS < 1 || CLIENTS > N)
  throw new Error('--clients: 1..invoices');
if (values.db === 'postgres' && !process.env.DATABASE_URL)
  throw new Error('--db postgres needs DATABASE_URL');

async function control(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** The fewest seconds QBO's sliding windows allow for `calls` calls (+ one call's latency). */
function boundSeconds(calls: number, latencyMs: number): number {
  const minutes = Math.floor((calls - 1) / 500);
  const inLastMinute = ((calls - 1) % 500) + 1;
  return minutes * 60 + (inLastMinute - 1) / 10 + latencyMs / 1000;
}

const logger = pino({ level: 'silent' });
const sandbox = await startSandbox({ port: 0, journalBodies: false });
const dataDir = mkdtempSync(join(tmpdir(), 'qbo-wb-bench-'));
const database = await createDatabase(
  values.db === 'postgres'
    ? {
        databaseUrl: process.env.DATABASE_URL,
        schema: `wb_bench_${randomBytes(4).toString('hex')}`,
      }
    : { dataDir },
);
try {
  await migrate(database, { log: () => {} });
  const { db } = database;
  const url = sandbox.url;
  const app = await control(url, 'POST', '/_sandbox/apps', {
    redirectUris: ['http://localhost:3000/callback'],
  });
  const { realmId } = await control(url, 'POST', '/_sandbox/seed', { seed: 11, entities: 60 });
  await control(url, 'POST', '/_sandbox/faults', {
    kind: 'latency',
    latencyMs: LATENCY,
    realmId,
    surface: 'accounting',
  });
  let token: Promise<string> | null = null;
  const tokens = {
    getAccessToken: () =>
      (token ??= control(url, 'POST', '/_sandbox/tokens', { clientId: app.clientId, realmId }).then(
        (b: { access_token: string }) => b.access_token,
      )),
    invalidateAccessToken: async () => {
      token = null;
    },
  };
  const api = new QboApiClient({
    requestLog: new DbRequestLogSink(db, logger),
    tokens,
    limiter: new MemoryRateLimiter(),
    clock: systemClock,
    logger,
    apiBaseUrl: `${url}/v3/company`,
    minorVersion: 75,
  });

  const run = randomBytes(3).toString('hex');
  const rows = Array.from({ length: N }, (_, i) => {
    const cents = 1000 + ((i * 7919) % 900_000);
    const amount = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    return {
      client_name: `Bench Client ${i % CLIENTS} & Co's`,
      client_email: `ap${i % CLIENTS}@bench.example`,
      line_items: toJson([
        { description: `Campaign ${i}`, quantity: '1', unit_price: amount, amount },
      ]),
      subtotal: amount,
      total: amount,
      invoice_number: `B${run}-${i}`,
      status: 'issued' as const,
    };
  });
  for (let i = 0; i < rows.length; i += 500)
    await db
      .insertInto('campaign_invoices')
      .values(rows.slice(i, i + 500))
      .execute();

  const writeback = new Writeback({ db, api, clock: systemClock, logger });
  const pushAll = new PushAll({
    db,
    writeback,
    jobs: new MemoryJobs<WritebackJobs>(),
    logger,
    concurrency: CONCURRENCY,
  });
  const before = (
    await control(url, 'GET', `/_sandbox/stats?realmId=${realmId}&clientId=${app.clientId}`)
  ).served as number;
  const t0 = performance.now();
  const { run: r } = await pushAll.start(realmId);
  await pushAll.run(
    { realmId, runId: r.id },
    {
      id: 'bench',
      name: 'qbo.invoice-push-all',
      attempt: 1,
      maxAttempts: 1,
      signal: new AbortController().signal,
    },
  );
  const wallS = (performance.now() - t0) / 1000;
  const stats = await control(
    url,
    'GET',
    `/_sandbox/stats?realmId=${realmId}&clientId=${app.clientId}`,
  );
  const summary = await db
    .selectFrom('qbo_writeback_runs')
    .selectAll()
    .where('id', '=', r.id)
    .executeTakeFirstOrThrow();
  const found = await api.query<{ Invoice?: { DocNumber: string }[] }>(
    realmId,
    `select * from Invoice where DocNumber like 'B${run}-%' maxresults 1000`,
  );
  let inQbo = (found.Invoice ?? []).map((x) => x.DocNumber);
  for (let start = 1001; inQbo.length === start - 1; start += 1000) {
    const page = await api.query<{ Invoice?: { DocNumber: string }[] }>(
      realmId,
      `select * from Invoice where DocNumber like 'B${run}-%' startposition ${start} maxresults 1000`,
    );
    inQbo = inQbo.concat((page.Invoice ?? []).map((x) => x.DocNumber));
  }
  const calls = (stats.served as number) - before;
  const bound = boundSeconds(calls, LATENCY);
  const result = {
    invoices: N,
    clients: CLIENTS,
    latencyMs: LATENCY,
    concurrency: CONCURRENCY,
    database: database.kind,
    pushed: summary.pushed,
    failed: summary.failed,
    calls,
    boundS: +bound.toFixed(1),
    wallS: +wallS.toFixed(1),
    ratio: +(wallS / bound).toFixed(3),
    throttled429: stats.throttled,
    peakPerSecond: stats.peakPerSecond,
    peakPerMinute: stats.peakPerMinute,
    peakConcurrency: stats.peakConcurrency,
    invoicesInQbo: inQbo.length,
    duplicates: inQbo.length - new Set(inQbo).size,
  };
  console.log(JSON.stringify(result));
} finally {
  await database.close();
  await sandbox.close();
  rmSync(dataDir, { recursive: true, force: true });
}
