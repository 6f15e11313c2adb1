/**
 * qbo-sandbox benchmark: seeds a 100,000-entity company in a sandbox started through its
 * real CLI (a child process, so the load generator does not share its event loop), then
 * measures over loopback HTTP with keep-alive connections (undici Pool):
 *   (a) 1,000-row query pages  `select * from Invoice startposition N maxresults 1000`
 *   (b) reads by id            `GET /v3/company/{realm}/invoice/{id}`
 *   (c) writes                 `POST /v3/company/{realm}/customer`
 * plus snapshot save/load of the whole state. Limits are disabled (`--no-limits`), or the
 * sandbox would answer 429 after 10 requests per second as QBO does.
 *
 *   node --import tsx bench/sandbox.bench.ts [--entities 100000] [--seconds 5]
 *   npm run bench:sandbox
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    entities: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
  },
});
const ENTITIES = Number(values.entities);
const SECONDS = Number(values.seconds);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'packages', 'qbo-sandbox', 'bin', 'qbo-sandbox.js');
const REALM = '9341000000000000001';
const CLIENT = 'ABbenchClient';
/** Where the sandbox may write the snapshot the benchmark saves and loads. */
const SNAPSHOT_DIR = mkdtempSync(join(tmpdir(), 'qbo-sandbox-bench-'));

interface Started {
  child: ChildProcess;
  url: string;
  seedSeconds: number;
  startMs: number;
}

function startSandbox(): Promise<Started> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      BIN,
      ...['--port', '0', '--no-limits', '--seed', values.seed, '--entities', String(ENTITIES)],
      ...['--realm-id', REALM, '--client-id', CLIENT, '--snapshot-dir', SNAPSHOT_DIR],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!out.includes('control api')) return;
      resolve({
        child,
        url: /listening on (\S+)/.exec(out)![1]!,
        seedSeconds: Number(/seeded in ([\d.]+) s/.exec(out)?.[1]),
        startMs: performance.now() - started,
      });
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}:\n${out}`)));
  });
}

/** Resident memory of a process in MB (Linux /proc). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
}

interface Result {
  requests: number;
  errors: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  bytes: number;
}

const percentile = (sorted: number[], p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;

/** `concurrency` loops, each awaiting one request at a time, for `seconds`. */
async function load(
  pool: Pool,
  concurrency: number,
  seconds: number,
  request: (i: number) => { method: 'GET' | 'POST'; path: string; body?: string; type?: string },
  ok: (status: number, body: string) => boolean,
): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  let bytes = 0;
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const r = request(n++);
      const t0 = performance.now();
      const res = await pool.request({
        method: r.method,
        path: r.path,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(r.type ? { 'content-type': r.type } : {}),
        },
        ...(r.body ? { body: r.body } : {}),
      });
      const text = await res.body.text();
      latencies.push(performance.now() - t0);
      bytes += text.length;
      if (!ok(res.statusCode, text)) {
        errors += 1;
        if (errors === 1) console.error(`first error: ${res.statusCode} ${text.slice(0, 300)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    bytes,
  };
}

async function control(url: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Server-side durations (request received to response written) of the last `count`
 * query requests, from the sandbox's request journal: the page latency without the
 * client's share (reading and decoding 1.5 MB).
 */
async function serverTimes(url: string, count: number): Promise<number[]> {
  const res = await fetch(
    `${url}/_sandbox/requests?realmId=${REALM}&limit=${Math.min(count, 5000)}`,
  );
  const body = (await res.json()) as { requests: { url: string; durationMs: number }[] };
  return body.requests
    .filter((r) => r.url.includes('/query'))
    .map((r) => r.durationMs)
    .sort((a, b) => a - b);
}

let token = '';

const sandbox = await startSandbox();
try {
  const rssAfterSeed = rssMb(sandbox.child.pid!);
  token = (await control(sandbox.url, '/_sandbox/tokens', { clientId: CLIENT, realmId: REALM }))
    .access_token;
  const company = (await (await fetch(`${sandbox.url}/_sandbox/companies/${REALM}`)).json()) as {
    counts: Record<string, number>;
  };
  const counts = company.counts;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const invoices = counts.Invoice!;
  const base = `/v3/company/${REALM}`;
  const pool = new Pool(sandbox.url, { connections: 64, pipelining: 1 });
  const pages = Math.ceil(invoices / 1000);
  const isQueryPage = (status: number, body: string) =>
    status === 200 && body.startsWith('{"QueryResponse":{"Invoice":[');
  const page = (i: number) => ({
    method: 'GET' as const,
    path: `${base}/query?minorversion=75&query=${encodeURIComponent(
      `select * from Invoice startposition ${(i % pages) * 1000 + 1} maxresults 1000`,
    )}`,
  });

  // Warm up: JIT, and whatever the query engine caches on first use.
  await load(pool, 2, 1, page, isQueryPage);
  const queryLatency = await load(pool, 1, SECONDS, page, isQueryPage);
  const serverQueryMs = await serverTimes(sandbox.url, queryLatency.requests);
  const queryLoaded = await load(pool, 8, SECONDS, page, isQueryPage);
  // Invoice ids from pages across the table (ids are shared with payments and bills).
  const invoiceIds: string[] = [];
  for (const start of [1, 10_001, 20_001, 30_001, 40_001].filter((s) => s <= invoices)) {
    const res = await pool.request({
      method: 'GET',
      path: `${base}/query?query=${encodeURIComponent(`select * from Invoice startposition ${start} maxresults 1000`)}`,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    const body = (await res.body.json()) as { QueryResponse: { Invoice: { Id: string }[] } };
    for (const inv of body.QueryResponse.Invoice) invoiceIds.push(inv.Id);
  }
  const readsById = await load(
    pool,
    32,
    SECONDS,
    (i) => ({
      method: 'GET',
      path: `${base}/invoice/${invoiceIds[(i * 7919) % invoiceIds.length]}`,
    }),
    (status) => status === 200,
  );
  const writes = await load(
    pool,
    32,
    SECONDS,
    (i) => ({
      method: 'POST',
      path: `${base}/customer?minorversion=75`,
      type: 'application/json',
      body: JSON.stringify({
        DisplayName: `Bench Customer ${process.pid}-${i}`,
        PrimaryEmailAddr: { Address: `bench${i}@example.com` },
      }),
    }),
    (status) => status === 200,
  );
  const rssAfterLoad = rssMb(sandbox.child.pid!);

  const file = 'bench.jsonl';
  const saved = await control(sandbox.url, '/_sandbox/snapshot', { file });
  const loaded = await control(sandbox.url, '/_sandbox/snapshot/load', { file });
  rmSync(SNAPSHOT_DIR, { recursive: true, force: true });
  await pool.close();

  const ms = (n: number) => n.toFixed(1);
  const rate = (n: number) => Math.round(n).toLocaleString('en-US');
  const row = (name: string, c: number, r: Result) =>
    `| ${name} | ${c} | ${rate(r.requests)} | ${rate(r.perSecond)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${r.errors} |`;
  console.log(`
## qbo-sandbox benchmark

- date: ${new Date().toISOString()}
- machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} CPUs (nproc), Node ${process.version}, ${process.platform}
- command: \`node --import tsx bench/sandbox.bench.ts --entities ${ENTITIES} --seconds ${SECONDS} --seed ${values.seed}\`
- sandbox: started through its CLI in a child process, \`--no-limits\`; client: undici Pool, keep-alive, same machine

| setup | value |
|---|---|
| entities seeded | ${total.toLocaleString('en-US')} (${Object.entries(counts)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
    .join(', ')}) |
| seed time | ${sandbox.seedSeconds.toFixed(1)} s (process start to listening: ${(sandbox.startMs / 1000).toFixed(1)} s) |
| sandbox RSS after seed | ${rssAfterSeed} MB (after the load below: ${rssAfterLoad} MB) |
| snapshot save | ${(saved.ms / 1000).toFixed(2)} s, ${(saved.bytes / 1e6).toFixed(0)} MB, ${saved.entities.toLocaleString('en-US')} entities |
| snapshot load | ${(loaded.ms / 1000).toFixed(2)} s |

| workload | concurrency | requests | per second | p50 ms | p95 ms | p99 ms | errors |
|---|---|---|---|---|---|---|---|
${row('(a) query page, 1,000 invoices', 1, queryLatency)}
${row('(a) query page, 1,000 invoices', 8, queryLoaded)}
${row('(b) read invoice by id', 32, readsById)}
${row('(c) create Customer', 32, writes)}

Targets: 1,000-row page < 30 ms median (${queryLatency.p50 < 30 ? 'met' : 'NOT met'}), > 2,000 reads/s (${readsById.perSecond > 2000 ? 'met' : 'NOT met'}).
Server-side time of a 1,000-row page at concurrency 1 (request journal): p50 ${ms(percentile(serverQueryMs, 50))} ms, p95 ${ms(percentile(serverQueryMs, 95))} ms.
Average page size: ${(queryLatency.bytes / Math.max(queryLatency.requests, 1) / 1e6).toFixed(2)} MB.
`);
} finally {
  sandbox.child.kill('SIGTERM');
}
