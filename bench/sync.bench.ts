/**
 * Sync benchmark: how long a full sync of a QBO company into the mirror tables takes, and
 * how close it comes to what QBO's limits allow.
 *
 * The sandbox runs through its CLI in a child process, with QBO's real limits (10 requests
 * per second, 500 per minute, 10 in flight per realm) and, in the latency mode, a `latency`
 * fault of 500 ms on every Accounting API call. Each company is seeded deterministically
 * through the control API. Each contender runs in a child process of its own
 * (`bench/sync-contenders.ts`), so its peak RSS is its own, into a fresh migrated database
 * (PGlite in a temporary directory, or a schema of its own in DATABASE_URL's Postgres).
 * Calls and 429s are the sandbox's counters (`GET /_sandbox/stats`) for the run's own app.
 *
 *   npm run bench:sync -- [--sizes 10000,100000,250000] [--latency 500,0]
 *                         [--db pglite,postgres] [--contenders node-quickbooks,engine]
 *                         [--seed 7] [--mix six|sandbox] [--cpu-prof DIR]
 *
 * `--mix six` (default) spreads each size over the six mirrored entities (Customer,
 * Invoice, Payment, Vendor, Item, Account); `--mix sandbox` seeds the sandbox's own split
 * for that total (`--entities N`, 12% of it Bills, which are not mirrored).
 * `--cpu-prof DIR` writes a V8 CPU profile of each contender process (`node --cpu-prof`) and
 * of the sandbox into DIR, to see where a run's time goes; it slows the runs a little.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { QboEntityType } from '../apps/api/src/db/schema.ts';
import { ACCOUNTS } from '../packages/qbo-sandbox/src/seed/chart.ts';
import type {
  ContenderJob,
  ContenderName,
  ContenderResult,
  DatabaseChoice,
} from './sync-contenders.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    latency: { type: 'string', default: '500,0' },
    db: { type: 'string', default: 'pglite' },
    contenders: { type: 'string', default: 'node-quickbooks,engine' },
    seed: { type: 'string', default: '7' },
    mix: { type: 'string', default: 'six' },
    'cpu-prof': { type: 'string' },
  },
});
const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const SIZES = list(values.sizes).map(Number);
const LATENCIES = list(values.latency).map(Number);
const DATABASES = list(values.db) as DatabaseChoice[];
const CONTENDERS = list(values.contenders) as ContenderName[];
const SEED = /^\d+$/.test(values.seed) ? Number(values.seed) : values.seed;
const MIX = values.mix;
const PROFILE_ARGS = values['cpu-prof']
  ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`]
  : [];
if (SIZES.some((n) => !Number.isInteger(n) || n < 1000))
  throw new Error('--sizes: integers ≥ 1000');
if (LATENCIES.some((n) => !Number.isInteger(n) || n < 0)) throw new Error('--latency: ms ≥ 0');
if (DATABASES.some((d) => d !== 'pglite' && d !== 'postgres'))
  throw new Error('--db: pglite and/or postgres');
if (DATABASES.includes('postgres') && !process.env.DATABASE_URL)
  throw new Error('--db postgres needs DATABASE_URL');
if (CONTENDERS.some((c) => c !== 'node-quickbooks' && c !== 'engine'))
  throw new Error('--contenders: node-quickbooks and/or engine');
if (MIX !== 'six' && MIX !== 'sandbox') throw new Error('--mix: six or sandbox');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SANDBOX_BIN = join(ROOT, 'packages', 'qbo-sandbox', 'bin', 'qbo-sandbox.js');
const CONTENDER_FILE = join(ROOT, 'bench', 'sync-contenders.ts');
const REALM = '9341000000000000077';
const REDIRECT = 'http://localhost:3000/api/quickbooks/callback';
/** The entities the service mirrors, in the order the node-quickbooks way fetches them. */
const ENTITIES: QboEntityType[] = ['Customer', 'Invoice', 'Payment', 'Vendor', 'Item', 'Account'];
const PAGE = 1000;

// ---------------------------------------------------------------------------------------
// What QBO's limits allow

/** One count query per entity plus its pages of 1,000: the fewest calls a full sync needs. */
function minimumCalls(counts: Partial<Record<QboEntityType, number>>): number {
  return ENTITIES.reduce((n, e) => n + Math.ceil((counts[e] ?? 0) / PAGE) + 1, 0);
}

/**
 * The least wall time QBO's limits allow for `calls` calls: 10 per second, and once 500
 * have gone in a minute, the next must wait for that minute to pass (500 per minute).
 */
function boundSeconds(calls: number): number {
  if (calls <= 0) return 0;
  return 60 * Math.floor((calls - 1) / 500) + (((calls - 1) % 500) + 1) / 10;
}

/** Six-entity counts for a total: the sandbox's proportions, Bills' share moved to sales. */
function sixEntityCounts(total: number): Record<string, number> {
  const rest = total - ACCOUNTS.length;
  const items = Math.max(2, Math.min(200, Math.floor(rest * 0.01)));
  const customers = Math.floor(rest * 0.1);
  const vendors = Math.floor(rest * 0.02);
  const payments = Math.floor(rest * 0.29);
  const invoices = rest - items - customers - vendors - payments;
  return { customers, vendors, items, invoices, payments, bills: 0 };
}

// ---------------------------------------------------------------------------------------
// The sandbox

interface Sandbox {
  child: ChildProcess;
  url: string;
}

function startSandbox(): Promise<Sandbox> {
  const child = spawn(
    process.execPath,
    [
      ...PROFILE_ARGS,
      SANDBOX_BIN,
      '--port',
      '0',
      '--realm-id',
      REALM,
      '--company-name',
      'Sync Bench Co',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      if (out.includes('control api')) return;
      out += d.toString();
      if (out.includes('control api')) resolve({ child, url: /listening on (\S+)/.exec(out)![1]! });
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}:\n${out}`)));
  });
}

async function control(
  sandbox: Sandbox,
  method: string,
  path: string,
  body?: unknown,
): Promise<any> {
  const res = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// ---------------------------------------------------------------------------------------
// One run

interface Run {
  size: number;
  latencyMs: number;
  database: DatabaseChoice;
  result: ContenderResult;
  calls: number;
  throttled: number;
  peakPerSecond: number;
  peakConcurrency: number;
}

function runContender(job: ContenderJob): Promise<ContenderResult> {
  const child = spawn(process.execPath, [...PROFILE_ARGS, '--import', 'tsx', CONTENDER_FILE], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.end(JSON.stringify(job));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) resolve(JSON.parse(line.slice('RESULT '.length)) as ContenderResult);
      else reject(new Error(`contender ${job.contender} exited with ${code}:\n${out}`));
    });
  });
}

async function run(
  sandbox: Sandbox,
  size: number,
  latencyMs: number,
  database: DatabaseChoice,
  contender: ContenderName,
): Promise<Run> {
  // Let the previous run's minute pass on the sandbox clock (its limiter windows use it).
  await control(sandbox, 'POST', '/_sandbox/clock', { advanceSeconds: 61 });
  await control(sandbox, 'DELETE', '/_sandbox/faults');
  if (latencyMs > 0)
    await control(sandbox, 'POST', '/_sandbox/faults', {
      kind: 'latency',
      surface: 'accounting',
      realmId: REALM,
      latencyMs,
    });
  // An app per run: the sandbox's counters are per realm and app.
  const app = await control(sandbox, 'POST', '/_sandbox/apps', {
    name: `sync bench ${contender}`,
    redirectUris: [REDIRECT],
  });
  const tokens = await control(sandbox, 'POST', '/_sandbox/tokens', {
    clientId: app.clientId,
    realmId: REALM,
  });
  const job: ContenderJob = {
    contender,
    sandboxUrl: sandbox.url,
    realmId: REALM,
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    redirectUri: REDIRECT,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    expiresIn: tokens.expires_in,
    refreshExpiresIn: tokens.x_refresh_token_expires_in,
    database,
    ...(database === 'postgres' ? { databaseUrl: process.env.DATABASE_URL! } : {}),
    entities: ENTITIES,
  };
  const result = await runContender(job);
  const stats = await control(
    sandbox,
    'GET',
    `/_sandbox/stats?realmId=${REALM}&clientId=${encodeURIComponent(app.clientId)}`,
  );
  return {
    size,
    latencyMs,
    database,
    result,
    calls: stats.served + stats.throttled,
    throttled: stats.throttled,
    peakPerSecond: stats.peakPerSecond,
    peakConcurrency: stats.peakConcurrency,
  };
}

// ---------------------------------------------------------------------------------------

interface Company {
  size: number;
  counts: Record<string, number>;
  mirrored: number;
  minimum: number;
  bound: number;
  seedMs: number;
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
const fmt = (n: number, digits = 1): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

function row(c: Company, r: Run): string {
  const x = r.result;
  const cells = [int(r.size), r.latencyMs ? `${r.latencyMs} ms` : 'none', r.database, x.contender];
  if (!x.available)
    return `| ${[...cells, `not available: ${x.reason}`].join(' | ')} |${' |'.repeat(10)}`;
  const wall = x.wallMs / 1000;
  const rows = x.rowsStored;
  return `| ${[
    ...cells,
    x.ok ? 'ok' : `**failed**: ${x.error}`,
    fmt(wall),
    x.fetchMs === null ? '—' : fmt(x.fetchMs / 1000),
    `${r.calls} (min ${c.minimum})`,
    x.ok ? `${fmt(wall / c.bound, 2)}×` : '—',
    String(r.throttled),
    `${int(rows)} / ${int(c.mirrored)}`,
    int(rows / wall),
    x.writeMs ? int(rows / (x.writeMs / 1000)) : '—',
    `${x.rssBeforeMb} → ${x.peakRssMb}`,
    `${r.peakPerSecond} / ${r.peakConcurrency}`,
  ].join(' | ')} |`;
}

const runs: { company: Company; run: Run }[] = [];
const companies: Company[] = [];
const startedAt = new Date();
const loadAtStart = load();

for (const size of SIZES) {
  const sandbox = await startSandbox();
  try {
    const seedBody =
      MIX === 'six'
        ? { seed: SEED, replace: true, ...sixEntityCounts(size) }
        : { seed: SEED, replace: true, entities: size };
    const seeded = await control(sandbox, 'POST', `/_sandbox/companies/${REALM}/seed`, seedBody);
    const counts = seeded.counts as Record<string, number>;
    const mirrored = ENTITIES.reduce((n, e) => n + (counts[e] ?? 0), 0);
    const minimum = minimumCalls(counts);
    const company: Company = {
      size,
      counts,
      mirrored,
      minimum,
      bound: boundSeconds(minimum),
      seedMs: seeded.ms,
    };
    companies.push(company);
    console.error(
      `company ${int(size)}: ${ENTITIES.map((e) => `${e} ${int(counts[e] ?? 0)}`).join(', ')}; ` +
        `minimum ${minimum} calls, bound ${fmt(company.bound)} s (load ${load()})`,
    );
    for (const latencyMs of LATENCIES)
      for (const database of DATABASES)
        for (const contender of CONTENDERS) {
          const r = await run(sandbox, size, latencyMs, database, contender);
          runs.push({ company, run: r });
          console.error(`${row(company, r)}  (load ${load()})`);
        }
  } finally {
    sandbox.child.kill('SIGTERM');
  }
}

const argv = process.argv.slice(2).join(' ');
console.log(`
## Sync benchmark

- date: ${startedAt.toISOString()}
- machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} CPUs (nproc), Node ${process.version}, ${process.platform}
- load average (1, 5, 15 min): ${loadAtStart} at the start, ${load()} at the end
- command: \`npm run bench:sync --${argv ? ` ${argv}` : ''}\`
- sandbox: its CLI in a child process, QBO's limits (10/s, 500/min, 10 in flight per realm)${LATENCIES.some((l) => l > 0) ? '; latency mode: a `latency` fault on every Accounting API call' : ''}
- seed ${String(SEED)}, mix \`${MIX}\`

| company | mirrored rows | per entity | minimum calls | bound |
|---|---|---|---|---|
${companies
  .map(
    (c) =>
      `| ${int(c.size)} | ${int(c.mirrored)} | ${ENTITIES.map((e) => `${e} ${int(c.counts[e] ?? 0)}`).join(', ')} | ${c.minimum} | ${fmt(c.bound)} s |`,
  )
  .join('\n')}

minimum calls = Σ ceil(rows / 1,000) + one count per entity; bound = minimum calls at 10 per
second, and at most 500 in any minute.

| company | latency | database | contender | result | wall s | of it fetching s | calls | wall / bound | 429s | rows stored | rows/s | rows/s writing | RSS MB before → peak | peak calls/s / in flight |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${runs.map(({ company, run: r }) => row(company, r)).join('\n')}

RSS over each run (MB): the highest 100 ms sample in each tenth of its wall time (0 where a
tenth had no sample).

${runs
  .filter(({ run: r }) => r.result.rssByTenthMb)
  .map(
    ({ run: r }) =>
      `- ${int(r.size)}, ${r.latencyMs ? `${r.latencyMs} ms` : 'no latency'}, ${r.database}, ${r.result.contender}: ${r.result.rssByTenthMb!.join(' · ')}`,
  )
  .join('\n')}
`);
