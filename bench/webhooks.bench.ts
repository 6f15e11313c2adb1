/**
 * Webhook benchmark: the real service (`apps/api/src/main.ts` in a child process, pointed at
 * a qbo-sandbox in this process through QBO_SANDBOX_URL) with a connected, seeded company.
 *
 *   npm run bench:webhooks -- [--modes embedded,scaled] [--rates 100,250,500,1000,2000]
 *                             [--seconds 5] [--lag-rate 100] [--lag-seconds 20]
 *
 * Three measurements per mode (embedded: PGlite in a temporary DATA_DIR and in-process jobs;
 * scaled: a database of its own in DATABASE_URL's Postgres and BullMQ on REDIS_URL, one
 * process with API_RUNS_JOBS=true):
 *
 * 1. Acknowledgement latency. Signed deliveries (HMAC-SHA256 with the app's verifier token;
 *    legacy `eventNotifications` and CloudEvents arrays alternately, 1–3 entity changes of
 *    the company's real objects each, every body distinct) are sent open-loop at a fixed
 *    rate for `--seconds` per rate over keep-alive connections; latency is from the moment a
 *    request is due to its answer, so a server that falls behind cannot hide it. Between
 *    rates the service is left to process what it received.
 * 2. Webhook-to-mirror lag. The sandbox's app points its webhook URL at the service, and
 *    `--lag-rate` changes per second are made through the sandbox's control API ("someone
 *    edited it in QuickBooks"), each to a different object; the sandbox sends its own
 *    signed, batched deliveries. Per change: lag = the event's `processed_at` (written after
 *    the object is in the mirror) − the change's time (`lastUpdated` in the notification),
 *    joined through the delivery's `intuit-t-id`.
 * 3. QBO calls per 1,000 changed objects: the sandbox's own counters for the realm and app
 *    (`GET /_sandbox/stats`, served + throttled) over the lag phase.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { Browser, consent, freePort } from '../apps/api/test/service-harness.ts';
import { startSandbox, type Sandbox } from '../packages/qbo-sandbox/src/index.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const { values } = parseArgs({
  options: {
    modes: { type: 'string', default: 'embedded,scaled' },
    rates: { type: 'string', default: '100,250,500,1000,2000' },
    seconds: { type: 'string', default: '5' },
    'lag-rate': { type: 'string', default: '100' },
    'lag-seconds': { type: 'string', default: '20' },
    'batch-delay': { type: 'string', default: '1000' },
    /**
     * QBO_WEBHOOK_COALESCE_MS for the service (default: its own, 500). A large value keeps
     * processing out of the acknowledgement phases (but for the per-minute sweep).
     */
    'coalesce-ms': { type: 'string' },
    /** Write the service's CPU profile (node --cpu-prof) into this directory. */
    profile: { type: 'string' },
  },
});
const MODES = values.modes.split(',').map((m) => {
  if (m !== 'embedded' && m !== 'scaled') throw new Error(`--modes: embedded or scaled, not ${m}`);
  return m;
});
const RATES = values.rates.split(',').map(Number);
const SECONDS = Number(values.seconds);
const LAG_RATE = Number(values['lag-rate']);
const LAG_SECONDS = Number(values['lag-seconds']);
const BATCH_DELAY = Number(values['batch-delay']);
// With processing pushed out (--coalesce-ms), the acknowledgement phases do not wait for it.
const RECEIVE_ONLY = values['coalesce-ms'] !== undefined;
if (MODES.includes('scaled') && !(process.env.DATABASE_URL && process.env.REDIS_URL))
  throw new Error('--modes scaled needs DATABASE_URL and REDIS_URL');

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
const log = (msg: string) => process.stderr.write(`[${new Date().toISOString()}] ${msg}\n`);
/** CPU time (user + system) the process has used, in ms (Linux: /proc/<pid>/stat). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function json(url: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
const control = (sb: Sandbox, method: string, path: string, body?: unknown) =>
  json(`${sb.url}/_sandbox${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

// ---------------------------------------------------------------------------------------
// The service in a child process, as `npm start` runs it.

interface Service {
  url: string;
  adminToken: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

async function startService(
  mode: 'embedded' | 'scaled',
  sb: Sandbox,
): Promise<{ svc: Service; clientId: string; verifierToken: string; cleanup: () => void }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const app = sb.registerApp({
    name: 'qbo-sync (bench)',
    redirectUris: [`${url}/api/quickbooks/callback`],
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'qbo-wh-bench-'));
  const adminToken = randomBytes(24).toString('hex');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    INTUIT_CLIENT_ID: app.clientId,
    INTUIT_CLIENT_SECRET: app.clientSecret,
    INTUIT_REDIRECT_URI: `${url}/api/quickbooks/callback`,
    INTUIT_ENVIRONMENT: 'sandbox',
    INTUIT_WEBHOOK_VERIFIER_TOKEN: app.verifierToken,
    QBO_SANDBOX_URL: sb.url,
    QBO_TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    ADMIN_API_TOKEN: adminToken,
    ...(values['coalesce-ms'] ? { QBO_WEBHOOK_COALESCE_MS: values['coalesce-ms'] } : {}),
  };
  let cleanup = () => rmSync(dataDir, { recursive: true, force: true });
  if (mode === 'scaled') {
    // A database of its own (the server is shared), dropped afterwards; BullMQ in a Redis
    // database index of its own, flushed afterwards.
    const dbName = `wh_bench_${randomBytes(4).toString('hex')}`;
    const base = new URL(process.env.DATABASE_URL!);
    execFileSync('psql', [base.toString(), '-qc', `create database ${dbName}`]);
    const dbUrl = new URL(base);
    dbUrl.pathname = `/${dbName}`;
    const redisUrl = new URL(process.env.REDIS_URL!);
    redisUrl.pathname = '/13';
    env.DATABASE_URL = dbUrl.toString();
    env.REDIS_URL = redisUrl.toString();
    // One process that enqueues through BullMQ and consumes too (without it, an API process
    // with REDIS_URL leaves the jobs to `npm run worker`).
    env.API_RUNS_JOBS = 'true';
    const rmDir = cleanup;
    cleanup = () => {
      rmDir();
      execFileSync('psql', [
        base.toString(),
        '-qc',
        `drop database if exists ${dbName} with (force)`,
      ]);
      execFileSync('redis-cli', ['-u', redisUrl.toString(), 'flushdb']);
    };
  }
  const profile = values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'apps/api/src/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const until = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited:\n${out}`);
    const ok = await fetch(`${url}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > until) throw new Error(`the service did not start:\n${out}`);
    await sleep(200);
  }
  const svc: Service = {
    url,
    adminToken,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
  return { svc, clientId: app.clientId, verifierToken: app.verifierToken, cleanup };
}

const admin = (svc: Service, path: string) =>
  json(`${svc.url}${path}`, { headers: { authorization: `Bearer ${svc.adminToken}` } });

/** The admin signs in and connects the company through the OAuth flow, as a person would. */
async function connect(svc: Service, realmId: string): Promise<void> {
  const browser = new Browser();
  const go = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    browser.attach(headers);
    const res = await fetch(path.startsWith('http') ? path : `${svc.url}${path}`, {
      ...init,
      headers,
      redirect: 'manual',
    });
    browser.store(res);
    return res;
  };
  await go('/api/admin/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: svc.adminToken }),
  });
  const { auth_url } = (await (await go('/api/quickbooks/connect')).json()) as {
    auth_url: string;
  };
  const c = await consent(auth_url, 'connect', realmId);
  const cb = await go(c.callbackUrl);
  if (!cb.headers.get('location')?.includes('qbo_connected=true'))
    throw new Error(`connect failed: ${cb.status} ${cb.headers.get('location')}`);
}

/** Waits until the service holds no pending or claimed event. */
async function drained(svc: Service, timeoutMs = 300_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const open = await Promise.all(
      ['pending', 'processing'].map(
        async (s) =>
          (await admin(svc, `/api/quickbooks/webhook-events?status=${s}&limit=1`)).events.length,
      ),
    );
    if (open[0] + open[1] === 0) return;
    if (Date.now() > until) throw new Error('the service did not drain its webhook events');
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------
// 1. Acknowledgement latency at fixed rates.

interface Target {
  entity: string;
  id: string;
}

function deliveryBodies(realmId: string, targets: Target[], n: number, seq: number): string[] {
  const source = `intuit.${randomBytes(32).toString('base64')}`;
  const bodies: string[] = [];
  for (let i = 0; i < n; i++) {
    const now = new Date().toISOString();
    const picked = Array.from(
      { length: 1 + ((seq + i) % 3) },
      (_, k) => targets[(seq * 7 + i * 3 + k) % targets.length]!,
    );
    if ((seq + i) % 2 === 0) {
      bodies.push(
        JSON.stringify({
          eventNotifications: [
            {
              realmId,
              dataChangeEvent: {
                entities: picked.map((t) => ({
                  name: t.entity,
                  id: t.id,
                  operation: 'Update',
                  lastUpdated: now,
                })),
              },
            },
          ],
        }),
      );
    } else {
      bodies.push(
        JSON.stringify(
          picked.map((t) => ({
            specversion: '1.0',
            id: randomUUID(),
            source,
            type: `qbo.${t.entity.toLowerCase()}.updated.v1`,
            datacontenttype: 'application/json',
            time: now,
            intuitentityid: t.id,
            intuitaccountid: realmId,
            data: {},
          })),
        ),
      );
    }
  }
  return bodies;
}

interface AckResult {
  rate: number;
  sent: number;
  ok: number;
  errors: number;
  achievedRate: number;
  p50: number;
  p99: number;
  max: number;
}

async function ackAtRate(
  pool: Pool,
  bodies: string[],
  verifierToken: string,
  rate: number,
): Promise<AckResult> {
  const signed = bodies.map((b) => ({
    body: b,
    signature: createHmac('sha256', verifierToken).update(b).digest('base64'),
  }));
  const latencies: number[] = [];
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const t0 = performance.now();
  let sent = 0;
  while (sent < signed.length) {
    const due = Math.min(signed.length, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    while (sent < due) {
      const { body, signature } = signed[sent]!;
      const dueAt = t0 + (sent * 1000) / rate;
      sent++;
      inFlight.push(
        pool
          .request({
            path: '/api/quickbooks/webhook',
            method: 'POST',
            headers: {
              'content-type': 'application/json; charset=utf-8',
              'intuit-signature': signature,
              'intuit-t-id': randomUUID(),
            },
            body,
          })
          .then(async (res) => {
            await res.body.text();
            if (res.statusCode === 200) latencies.push(performance.now() - dueAt);
            else errors++;
          })
          .catch(() => {
            errors++;
          }),
      );
    }
    await sleep(1);
  }
  const sendS = (performance.now() - t0) / 1000;
  await Promise.all(inFlight);
  latencies.sort((a, b) => a - b);
  return {
    rate,
    sent,
    ok: latencies.length,
    errors,
    achievedRate: Math.round(sent / sendS),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? NaN,
  };
}

// ---------------------------------------------------------------------------------------
// 2 and 3. Lag at a steady rate of changes; QBO calls per 1,000 changed objects.

interface LagResult {
  changes: number;
  /** How long making them took (LAG_SECONDS when the rate was held). */
  changeSeconds: number;
  /** Notifications the sandbox delivered, its attempts, and why attempts failed. */
  deliveries: number;
  attempts: number;
  failedAttempts: Record<string, number>;
  p50: number;
  p95: number;
  max: number;
  toReceiptP50: number;
  toReceiptP95: number;
  receiptToAppliedP50: number;
  receiptToAppliedP95: number;
  unmatched: number;
  statuses: Record<string, number>;
  qboCalls: number;
  callsPer1000: number;
}

async function lagPhase(
  sb: Sandbox,
  svc: Service,
  clientId: string,
  realmId: string,
  pools: { Customer: string[]; Invoice: string[] },
): Promise<LagResult> {
  sb.updateApp(clientId, {
    webhookUrl: `${svc.url}/api/quickbooks/webhook`,
    webhookFormat: 'legacy',
  });
  await control(sb, 'PATCH', '/webhooks/options', { batchDelayMs: BATCH_DELAY });
  const stats = () => control(sb, 'GET', `/stats?realmId=${realmId}&clientId=${clientId}`);
  const before = await stats();
  const total = LAG_RATE * LAG_SECONDS;
  const kinds = ['CustomerUpdate', 'InvoiceUpdate', 'CustomerCreate', 'VendorCreate'] as const;
  const customers = [...pools.Customer];
  const invoices = [...pools.Invoice];
  const company = sb.state.companies.get(realmId)!;
  const current = (entity: string, id: string) => company.table(entity as never).get(id)!.data;
  const change = async (i: number) => {
    const kind = kinds[i % kinds.length]!;
    const tag = `b${i}-${randomBytes(2).toString('hex')}`;
    let entity: string;
    let body: Record<string, unknown>;
    if (kind === 'CustomerUpdate' || kind === 'InvoiceUpdate') {
      entity = kind === 'CustomerUpdate' ? 'Customer' : 'Invoice';
      const id = (entity === 'Customer' ? customers : invoices).pop();
      if (!id) throw new Error(`not enough seeded ${entity}s for ${total} changes`);
      const o = current(entity, id);
      body = {
        Id: id,
        SyncToken: o.SyncToken,
        sparse: true,
        ...(entity === 'Customer' ? { CompanyName: tag } : { PrivateNote: tag }),
      };
    } else {
      entity = kind === 'CustomerCreate' ? 'Customer' : 'Vendor';
      body = { DisplayName: `Bench ${tag}` };
    }
    await control(sb, 'POST', `/companies/${realmId}/entities/${entity}`, { body });
  };
  const changedAt = performance.now();
  let made = 0;
  const t0 = performance.now();
  while (made < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * LAG_RATE) / 1000) + 1);
    const batch: Promise<void>[] = [];
    while (made < due) batch.push(change(made++));
    await Promise.all(batch);
    await sleep(2);
  }
  // A loaded machine can keep the changes from being made at the rate asked: say so.
  const changeSeconds = +((performance.now() - changedAt) / 1000).toFixed(1);
  log(`  ${total} changes in ${changeSeconds} s; settling`);
  const until = Date.now() + 120_000;
  for (;;) {
    const p = await control(sb, 'GET', '/webhooks/pending');
    const open = (p.pending as { collecting: number; queued: number; waitingForRetry: number }[])
      .map((x) => x.collecting + x.queued + x.waitingForRetry)
      .reduce((a, b) => a + b, 0);
    if (open === 0) break;
    if (Date.now() > until) throw new Error(`the sandbox kept deliveries: ${JSON.stringify(p)}`);
    await sleep(200);
  }
  await drained(svc);
  const after = await stats();
  await control(sb, 'PATCH', `/apps/${clientId}`, { webhookUrl: null });

  const deliveries = (
    await control(sb, 'GET', `/webhooks/deliveries?clientId=${clientId}&limit=10000`)
  ).deliveries as {
    notificationId: string;
    payload: string;
    headers: Record<string, string>;
    result: string;
    error: string | null;
  }[];
  const events: {
    intuit_t_id: string;
    received_at: string;
    processed_at: string | null;
    status: string;
  }[] = [];
  let cursor: string | null = null;
  do {
    const page: { events: typeof events; next_cursor: string | null } = await admin(
      svc,
      `/api/quickbooks/webhook-events?realmId=${realmId}&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
    );
    events.push(...page.events);
    cursor = page.next_cursor;
  } while (cursor);
  const byTid = new Map(events.map((e) => [e.intuit_t_id, e]));
  const statuses: Record<string, number> = {};
  for (const e of events) statuses[e.status] = (statuses[e.status] ?? 0) + 1;
  // A notification's attempts share its id; the event row carries the t-id of the first
  // attempt the service stored (an attempt the sandbox gave up on after 3 s may have been
  // stored all the same: its re-send is then counted on that row).
  const attempts = new Map<string, typeof deliveries>();
  for (const d of deliveries) {
    const list = attempts.get(d.notificationId);
    if (list) list.push(d);
    else attempts.set(d.notificationId, [d]);
  }
  const failedAttempts: Record<string, number> = {};
  for (const d of deliveries) {
    if (d.result === 'delivered') continue;
    const why = (d.error ?? d.result).replace(/\d+/g, 'N');
    failedAttempts[why] = (failedAttempts[why] ?? 0) + 1;
  }
  const lag: number[] = [];
  const toReceipt: number[] = [];
  const receiptToApplied: number[] = [];
  let unmatched = 0;
  let delivered = 0;
  for (const list of attempts.values()) {
    if (!list.some((d) => d.result === 'delivered')) continue;
    delivered++;
    const e = list.map((d) => byTid.get(d.headers['intuit-t-id']!)).find((x) => x);
    const payload = JSON.parse(list[0]!.payload) as {
      eventNotifications: { dataChangeEvent: { entities: { lastUpdated: string }[] } }[];
    };
    const changes = payload.eventNotifications.flatMap((n) => n.dataChangeEvent.entities);
    if (!e?.processed_at) {
      unmatched += changes.length;
      continue;
    }
    const received = Date.parse(e.received_at);
    const applied = Date.parse(e.processed_at);
    receiptToApplied.push(applied - received);
    for (const c of changes) {
      const at = Date.parse(c.lastUpdated);
      lag.push(applied - at);
      toReceipt.push(received - at);
    }
  }
  for (const a of [lag, toReceipt, receiptToApplied]) a.sort((x, y) => x - y);
  const qboCalls = after.served + after.throttled - before.served - before.throttled;
  return {
    changes: total,
    changeSeconds,
    deliveries: delivered,
    attempts: deliveries.length,
    failedAttempts,
    p50: percentile(lag, 50),
    p95: percentile(lag, 95),
    max: lag.at(-1) ?? NaN,
    toReceiptP50: percentile(toReceipt, 50),
    toReceiptP95: percentile(toReceipt, 95),
    receiptToAppliedP50: percentile(receiptToApplied, 50),
    receiptToAppliedP95: percentile(receiptToApplied, 95),
    unmatched,
    statuses,
    qboCalls,
    callsPer1000: +((qboCalls * 1000) / total).toFixed(1),
  };
}

// ---------------------------------------------------------------------------------------

const report: Record<string, unknown>[] = [];
log(`load average ${load()} at the start`);
for (const mode of MODES) {
  const sb = await startSandbox({ port: 0, journalBodies: false });
  const started = await startService(mode, sb);
  const { svc } = started;
  try {
    // A company of 10,000 seeded entities (about 1,000 Customers, 5,800 Invoices).
    const { realmId } = await control(sb, 'POST', '/seed', { seed: 7, entities: 10_000 });
    await connect(svc, realmId);
    const company = sb.state.companies.get(realmId)!;
    const ids = (entity: string) =>
      [...company.table(entity as never).values()].map((r) => String(r.data.Id));
    const pools = { Customer: ids('Customer'), Invoice: ids('Invoice') };
    const targets: Target[] = [
      ...pools.Customer.slice(0, 50).map((id) => ({ entity: 'Customer', id })),
      ...pools.Invoice.slice(0, 150).map((id) => ({ entity: 'Invoice', id })),
      ...ids('Vendor')
        .slice(0, 20)
        .map((id) => ({ entity: 'Vendor', id })),
    ];
    log(`${mode}: service up at ${svc.url}, realm ${realmId} connected; load ${load()}`);

    const pool = new Pool(svc.url, { connections: 256, pipelining: 1 });
    // Warm-up: the first requests compile the route and open connections.
    await ackAtRate(pool, deliveryBodies(realmId, targets, 200, 0), started.verifierToken, 100);
    if (!RECEIVE_ONLY) await drained(svc);
    for (const [n, rate] of RATES.entries()) {
      const bodies = deliveryBodies(realmId, targets, Math.round(rate * SECONDS), n + 1);
      const loadBefore = load();
      const cpu0 = cpuMs(svc.child.pid!);
      const r = await ackAtRate(pool, bodies, started.verifierToken, rate);
      if (!RECEIVE_ONLY) await drained(svc);
      // The service's CPU per delivery, received and processed: what the load cannot skew.
      const cpuPerDelivery = +((cpuMs(svc.child.pid!) - cpu0) / r.sent).toFixed(2);
      const row = { mode, phase: 'ack', ...r, cpuMsPerDelivery: cpuPerDelivery, load: loadBefore };
      log(JSON.stringify(row));
      report.push(row);
    }
    await pool.close();

    if (LAG_SECONDS <= 0) continue;
    const loadBefore = load();
    const lag = await lagPhase(sb, svc, started.clientId, realmId, pools);
    const row = {
      mode,
      phase: 'lag',
      rate: LAG_RATE,
      batchDelayMs: BATCH_DELAY,
      ...lag,
      load: loadBefore,
    };
    log(JSON.stringify(row));
    report.push(row);
  } catch (err) {
    log(`${mode} failed: ${String(err)}\n--- service output ---\n${svc.output().slice(-4000)}`);
    throw err;
  } finally {
    await svc.stop();
    await sb.close();
    started.cleanup();
  }
}
log(`load average ${load()} at the end`);
for (const r of report) console.log(JSON.stringify(r));
