/**
 * Scaled-mode benchmark: N connected companies asked for a full sync at the same moment, on
 * API processes and workers started as the image starts them (scripts/docker-entry.sh, the
 * image's environment: apps/api/test/scaled-harness.ts), one Postgres database and one Redis
 * prefix of their own, and a qbo-sandbox with QBO's limits (10 requests a second, 500 a
 * minute, 10 in flight per realm) standing in for Intuit.
 *
 * First one more company of the same size syncs alone: the per-realm time with nothing else
 * running. Then the N sync at once. For each it reports the sandbox's own counters (calls,
 * 429s, peak in flight, peak per second) and its run's time against the least time QBO's
 * limits (10 a second, 500 a minute) allow for that many calls. The wall time from the
 * requests to the last run's end is set against the solo time: 1.0 would mean all N synced
 * in parallel as fast as one alone.
 *
 *   DATABASE_URL=postgres://… REDIS_URL=redis://… npm run bench:scaled -- \
 *     [--companies 20] [--entities 1000] [--apis 1] [--workers 2] [--latency 0]
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startScaled, until, type Scaled } from '../apps/api/test/scaled-harness.ts';
import { control } from '../apps/api/test/service-harness.ts';

const { values } = parseArgs({
  options: {
    companies: { type: 'string', default: '20' },
    entities: { type: 'string', default: '1000' },
    apis: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    latency: { type: 'string', default: '0' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const COMPANIES = Number(values.companies);
const ENTITIES = Number(values.entities);
const APIS = Number(values.apis);
const WORKERS = Number(values.workers);
const LATENCY = Number(values.latency);
// Extra process environment, NAME=value (e.g. QBO_SYNC_CONCURRENCY=1 to compare).
const EXTRA_ENV = Object.fromEntries(
  values.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const postgresUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
if (!postgresUrl || !redisUrl) throw new Error('set DATABASE_URL and REDIS_URL');
if (![COMPANIES, ENTITIES, APIS, WORKERS].every((n) => Number.isInteger(n) && n >= 1))
  throw new Error('--companies, --entities, --apis, --workers: integers ≥ 1');

/** The least time QBO's limits allow `calls` calls of one realm: 10 a second, 500 a minute. */
function boundSeconds(calls: number): number {
  if (calls <= 0) return 0;
  const fullMinutes = Math.floor((calls - 1) / 500);
  return fullMinutes * 60 + ((calls - 1) % 500) / 10;
}

interface RealmResult {
  realmId: string;
  calls: number;
  throttled: number;
  peakConcurrency: number;
  peakPerSecond: number;
  runSeconds: number;
  boundSeconds: number;
}

/** Asks for a full sync of every realm at once (over the API processes); waits for all. */
async function syncAll(s: Scaled, realmIds: string[]): Promise<string[]> {
  const runIds = await Promise.all(
    realmIds.map(async (realmId, i) => {
      const r = await s.admin(
        'POST',
        '/api/quickbooks/sync/full',
        { realm_id: realmId },
        s.apis[i % s.apis.length],
      );
      if (r.status !== 202) throw new Error(`sync/full: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.run_id as string;
    }),
  );
  await until(
    'every run to finish',
    async () => {
      const runs = await s.db
        .selectFrom('qbo_sync_runs')
        .select(['status', 'error'])
        .where('id', 'in', runIds)
        .execute();
      const failed = runs.find((r) => r.status === 'error');
      if (failed) throw new Error(`a run failed: ${failed.error}`);
      return runs.every((r) => r.status === 'success') ? true : null;
    },
    3_600_000,
    100,
  );
  return runIds;
}

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  console.error(`starting ${APIS} API process(es) and ${WORKERS} worker(s)…`);
  const s: Scaled = await startScaled({
    postgresUrl: postgresUrl!,
    redisUrl: redisUrl!,
    apis: APIS,
    workers: WORKERS,
    env: EXTRA_ENV,
  });
  try {
    console.error(`seeding and connecting ${COMPANIES + 1} companies of ${ENTITIES} entities…`);
    const companies = [];
    for (let i = 0; i <= COMPANIES; i++) {
      const c = await s.company(ENTITIES, 100 + i);
      if (LATENCY > 0) {
        await control(s.sandbox, 'POST', '/faults', {
          kind: 'latency',
          surface: 'accounting',
          realmId: c.realmId,
          latencyMs: LATENCY,
        });
      }
      companies.push(c);
    }
    // One company alone first: how long a company of this size takes with nothing else
    // running, the time each of the N should come close to when they all sync at once.
    const solo = companies.pop()!;
    const soloStart = performance.now();
    await syncAll(s, [solo.realmId]);
    const soloSeconds = (performance.now() - soloStart) / 1000;
    await control(s.sandbox, 'DELETE', '/stats');

    const t0 = performance.now();
    const runIds = await syncAll(
      s,
      companies.map((c) => c.realmId),
    );
    const wallSeconds = (performance.now() - t0) / 1000;

    const results: RealmResult[] = [];
    for (const [i, c] of companies.entries()) {
      const { body: stats } = await control(
        s.sandbox,
        'GET',
        `/stats?realmId=${c.realmId}&clientId=${s.clientId}`,
      );
      const run = await s.db
        .selectFrom('qbo_sync_runs')
        .select(['started_at', 'finished_at'])
        .where('id', '=', runIds[i]!)
        .executeTakeFirstOrThrow();
      const calls = stats.served + stats.throttled;
      results.push({
        realmId: c.realmId,
        calls,
        throttled: stats.throttled,
        peakConcurrency: stats.peakConcurrency,
        peakPerSecond: stats.peakPerSecond,
        runSeconds: (run.finished_at!.getTime() - run.started_at.getTime()) / 1000,
        boundSeconds: boundSeconds(calls),
      });
    }
    const maxBound = Math.max(...results.map((r) => r.boundSeconds));
    const ratios = results.map((r) => r.runSeconds / r.boundSeconds).sort((a, b) => a - b);
    const summary = {
      companies: COMPANIES,
      entitiesEach: ENTITIES,
      apis: APIS,
      workers: WORKERS,
      latencyMs: LATENCY,
      env: EXTRA_ENV,
      wallSeconds: +wallSeconds.toFixed(1),
      soloSeconds: +soloSeconds.toFixed(1),
      wallOverSolo: +(wallSeconds / soloSeconds).toFixed(2),
      largestPerRealmBoundSeconds: +maxBound.toFixed(1),
      wallOverBound: +(wallSeconds / maxBound).toFixed(2),
      runOverBound: {
        min: +ratios[0]!.toFixed(2),
        median: +ratios[Math.floor(ratios.length / 2)]!.toFixed(2),
        max: +ratios.at(-1)!.toFixed(2),
      },
      callsPerRealm: {
        min: Math.min(...results.map((r) => r.calls)),
        max: Math.max(...results.map((r) => r.calls)),
      },
      throttled429: results.reduce((n, r) => n + r.throttled, 0),
      maxPeakConcurrency: Math.max(...results.map((r) => r.peakConcurrency)),
      maxPeakPerSecond: Math.max(...results.map((r) => r.peakPerSecond)),
      cpus: cpus().length,
      loadavg: { start: +load0.toFixed(1), end: +loadavg()[0]!.toFixed(1) },
      node: process.version,
    };
    console.log(JSON.stringify(summary, null, 2));
  } finally {
    await s.close();
  }
}

await main();
process.exit(0);
