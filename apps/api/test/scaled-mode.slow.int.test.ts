// The scaled mode as it is deployed (docs/operations.md): API processes and workers started by
// the image's entry point with the image's environment, on one Postgres, one Redis and a
// qbo-sandbox standing in for Intuit. What a user of many processes relies on: one token
// refresh however many processes need it, each company within QBO's limits without holding
// up another, nothing lost or duplicated when a worker is killed mid-work, and recovery
// without a person when Redis or Postgres restarts. Needs DATABASE_URL and REDIS_URL (CI sets
// both); the restarts run on a Redis server and a Postgres cluster of the test's own.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Company } from 'qbo-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countUnfinished } from '../src/lib/quickbooks/webhooks/webhook-events.repo.ts';
import {
  readiness,
  startOwnPostgres,
  startOwnRedis,
  startScaled,
  stopProcess,
  until,
  type OwnServer,
  type Scaled,
  type ServiceProcess,
} from './scaled-harness.ts';
import { control } from './service-harness.ts';
import { expectMirrorEqualsQbo } from './sync-helpers.ts';

const postgresUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
const configured = Boolean(postgresUrl && redisUrl);

/** The sandbox's counters for one realm and the deployment's app. */
async function stats(s: Scaled, realmId: string): Promise<any> {
  return (await control(s.sandbox, 'GET', `/stats?realmId=${realmId}&clientId=${s.clientId}`)).body;
}

/** Someone edits the company in QuickBooks: a change QBO announces by webhook. */
async function edit(s: Scaled, realmId: string, entity: string, body: Record<string, unknown>) {
  const r = await control(s.sandbox, 'POST', `/companies/${realmId}/entities/${entity}`, { body });
  if (r.status !== 200) throw new Error(`sandbox ${entity}: ${JSON.stringify(r.body)}`);
  return r.body[entity] as { Id: string; SyncToken: string };
}

async function fullSync(s: Scaled, realmId: string, via?: ServiceProcess): Promise<string> {
  const r = await s.admin('POST', '/api/quickbooks/sync/full', { realm_id: realmId }, via);
  if (r.status !== 202) throw new Error(`sync/full: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.run_id as string;
}

async function runStatus(s: Scaled, runId: string): Promise<string> {
  const r = await s.db
    .selectFrom('qbo_sync_runs')
    .select(['status', 'error'])
    .where('id', '=', runId)
    .executeTakeFirstOrThrow();
  if (r.status === 'error') throw new Error(`sync run ${runId} failed: ${r.error}`);
  return r.status;
}

const runSucceeded = (s: Scaled, runId: string, timeoutMs = 120_000) =>
  until(
    `sync run ${runId}`,
    async () => ((await runStatus(s, runId)) === 'success' ? true : null),
    timeoutMs,
  );

/** Every delivery the sandbox owes is made, and every stored event is processed. */
const webhooksSettled = (s: Scaled, timeoutMs = 120_000) =>
  until(
    'webhooks to settle',
    async () => {
      const flushed = await control(s.sandbox, 'POST', '/webhooks/flush');
      const pending = await control(s.sandbox, 'GET', '/webhooks/pending');
      const open = (pending.body.pending as unknown[]).length + Number(flushed.body.pending);
      return open === 0 && (await countUnfinished(s.db)) === 0 ? true : null;
    },
    timeoutMs,
    300,
  );

/** Valid webhook events of the realm that did not end processed (should be none). */
async function unprocessedEvents(s: Scaled, realmId: string): Promise<number> {
  const r = await s.db
    .selectFrom('qbo_webhook_events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where(sql<boolean>`realm_ids @> array[${realmId}]::text[]`)
    .where('signature_valid', '=', true)
    .where('status', '!=', 'processed')
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Which worker logged the start of this sync run. */
function runner(workers: ServiceProcess[], runId: string): ServiceProcess | null {
  return (
    workers.find((w) =>
      w
        .output()
        .split('\n')
        .some((l) => l.includes('"sync run started"') && l.includes(runId)),
    ) ?? null
  );
}

const LIMITS = { perSecond: 10, concurrent: 10, perMinute: 500 };
function expectWithinLimits(realm: any): void {
  expect(realm.throttled).toBe(0);
  expect(realm.peakConcurrency).toBeLessThanOrEqual(LIMITS.concurrent);
  expect(realm.peakPerSecond).toBeLessThanOrEqual(LIMITS.perSecond);
  expect(realm.peakPerMinute).toBeLessThanOrEqual(LIMITS.perMinute);
}

describe.runIf(configured)('two API processes and two workers on one Postgres and Redis', () => {
  let s: Scaled;
  beforeAll(async () => {
    s = await startScaled({ postgresUrl: postgresUrl!, redisUrl: redisUrl!, apis: 2, workers: 2 });
  }, 180_000);
  afterAll(async () => {
    await s?.close();
  });

  it('200 concurrent calls that need a token refresh, over both API processes: one refresh, no invalid_grant, within QBO limits while a second company keeps flowing', async () => {
    const [busy, quiet] = await Promise.all([s.company(0), s.company(0)]);
    // The access token expired: every call must refresh before it can reach QBO.
    await s.db
      .updateTable('qbo_tokens')
      .set({ access_token_expires_at: new Date(Date.now() - 60_000) })
      .where('realm_id', '=', busy.realmId)
      .execute();
    const journalFrom = s.sandbox.state.journal.at(-1)?.seq ?? 0;
    await control(s.sandbox, 'DELETE', '/stats');

    let busyDone = 0;
    const probe = (realmId: string, via: ServiceProcess) =>
      s.admin('GET', `/api/quickbooks/test-connection?realmId=${realmId}`, undefined, via);
    const burst = Array.from({ length: 200 }, (_, i) =>
      probe(busy.realmId, s.apis[i % 2]!).finally(() => busyDone++),
    );
    // The second company's calls start after the whole burst was sent.
    const quietAnswers = [];
    for (let i = 0; i < 10; i++) quietAnswers.push(await probe(quiet.realmId, s.apis[i % 2]!));
    const busyDoneWhenQuietFinished = busyDone;
    const busyAnswers = await Promise.all(burst);

    expect(busyAnswers.map((a) => [a.status, a.body.ok, a.body.error?.code ?? null])).toEqual(
      Array.from({ length: 200 }, () => [200, true, null]),
    );
    expect(quietAnswers.every((a) => a.status === 200 && a.body.ok === true)).toBe(true);
    // Not queued behind the busy company: its 10 calls were answered while most of the
    // burst (which QBO's 10 calls a second stretch over 20 s) still waited.
    expect(busyDoneWhenQuietFinished).toBeLessThan(100);

    const tokenCalls = s.sandbox.state.journal.filter(
      (e) => e.seq > journalFrom && e.url.includes('/oauth2/v1/tokens/bearer'),
    );
    expect(tokenCalls.map((e) => [e.realmId, e.status])).toEqual([[busy.realmId, 200]]);
    const refreshedBy = s.apis.filter((p) =>
      p.output().includes('QuickBooks access token refreshed'),
    );
    expect(refreshedBy).toHaveLength(1);
    const status = await s.admin('GET', `/api/quickbooks/status?realmId=${busy.realmId}`);
    expect(status.body).toMatchObject({ connected: true, status: 'connected' });

    const busyStats = await stats(s, busy.realmId);
    expect(busyStats.served).toBe(200);
    expectWithinLimits(busyStats);
    expectWithinLimits(await stats(s, quiet.realmId));
  }, 120_000);

  it('kill -9 of the worker running a full sync, during a webhook storm and an invoice push: the mirror equals QBO, no event lost, no invoice duplicated', async () => {
    const [synced, stormed] = await Promise.all([s.company(1_500, 21), s.company(60, 5)]);
    // The stormed company's mirror starts complete; from here on only webhooks update it.
    await runSucceeded(s, await fullSync(s, stormed.realmId));
    // Slow answers, so the kill lands in the middle of the pass.
    await control(s.sandbox, 'POST', '/faults', {
      kind: 'latency',
      surface: 'accounting',
      realmId: synced.realmId,
      latencyMs: 700,
    });
    await control(s.sandbox, 'PATCH', '/webhooks/options', { duplicateProbability: 1, seed: 3 });
    const invoices: string[] = [];
    for (let i = 0; i < 4; i++) {
      const number = `SC-${randomBytes(3).toString('hex')}`;
      const r = await s.admin('POST', '/api/quickbooks/campaign-invoices', {
        client_name: `Storm Client ${i}`,
        client_email: `ap${i}@storm.example`,
        line_items: [
          { description: 'Campaign', quantity: '1', unit_price: '99.50', amount: '99.50' },
        ],
        subtotal: '99.50',
        total: '99.50',
        issue_date: '2026-03-01',
        invoice_number: number,
      });
      expect(r.status).toBe(201);
      invoices.push(number);
    }

    // The storm: someone keeps editing the second company while everything else runs.
    let storming = true;
    const storm = (async () => {
      const made: { Id: string; SyncToken: string }[] = [];
      for (let i = 0; storming || i < 12; i++) {
        if (i % 3 === 2 && made.length) {
          const o = made[i % made.length]!;
          Object.assign(
            o,
            await edit(s, stormed.realmId, 'Customer', {
              Id: o.Id,
              SyncToken: o.SyncToken,
              sparse: true,
              CompanyName: `Round ${i}`,
            }),
          );
        } else {
          made.push(
            await edit(s, stormed.realmId, 'Customer', {
              DisplayName: `Storm ${i} ${randomBytes(3).toString('hex')}`,
            }),
          );
        }
        await new Promise((r) => setTimeout(r, 150));
      }
    })();

    const runId = await fullSync(s, synced.realmId, s.apis[1]);
    const push = await s.admin(
      'POST',
      `/api/quickbooks/invoices/push-all?realmId=${stormed.realmId}`,
    );
    expect(push.status).toBe(202);
    const pageCalls = () =>
      s.sandbox.state.journal.filter(
        (e) => e.realmId === synced.realmId && /STARTPOSITION/i.test(decodeURIComponent(e.url)),
      ).length;
    const victim = await until('the sync run to be under way', () =>
      pageCalls() >= 2 ? runner(s.workers, runId) : null,
    );
    expect(await runStatus(s, runId)).toBe('running');
    expect(await stopProcess(victim, 'SIGKILL')).toBe('SIGKILL');

    // A restarted worker joins the one left; QBO answers at full speed again.
    await control(s.sandbox, 'DELETE', '/faults');
    s.workers.splice(s.workers.indexOf(victim), 1, await s.start('worker', 'worker-restarted'));
    await new Promise((r) => setTimeout(r, 1_500));
    storming = false;
    await storm;

    await runSucceeded(s, runId);
    await webhooksSettled(s);
    const pushRun = await until('the push-all run', async () => {
      const r = await s.db
        .selectFrom('qbo_writeback_runs')
        .selectAll()
        .where('id', '=', push.body.run.id)
        .executeTakeFirstOrThrow();
      return r.status === 'finished' || r.status === 'failed' ? r : null;
    });
    expect(pushRun).toMatchObject({ status: 'finished', failed: 0 });
    // Pushing created invoices, customers and an item, announced by webhook too.
    await webhooksSettled(s);

    await expectMirrorEqualsQbo(s.db, synced);
    await expectMirrorEqualsQbo(s.db, stormed);
    expect(await unprocessedEvents(s, stormed.realmId)).toBe(0);
    const inQbo = [...stormed.table('Invoice').values()].map((o) => String(o.data.DocNumber));
    for (const number of invoices) expect(inQbo.filter((d) => d === number)).toHaveLength(1);
    const pushed = await s.db
      .selectFrom('campaign_invoices')
      .select(['qbo_sync_status', 'qbo_invoice_id'])
      .where('invoice_number', 'in', invoices)
      .execute();
    expect(pushed.map((p) => p.qbo_sync_status)).toEqual(['synced', 'synced', 'synced', 'synced']);
    expectWithinLimits(await stats(s, synced.realmId));
  }, 240_000);

  it('three companies syncing at once each finish within their own QBO limits', async () => {
    const companies = await Promise.all([1, 2, 3].map((i) => s.company(400, 30 + i)));
    for (const c of companies) {
      // QBO's answer time, so the runs last long enough to overlap on a busy machine.
      await control(s.sandbox, 'POST', '/faults', {
        kind: 'latency',
        surface: 'accounting',
        realmId: c.realmId,
        latencyMs: 150,
      });
    }
    const runs = await Promise.all(companies.map((c, i) => fullSync(s, c.realmId, s.apis[i % 2])));
    await Promise.all(runs.map((runId) => runSucceeded(s, runId)));
    await control(s.sandbox, 'DELETE', '/faults');
    for (const c of companies) {
      await expectMirrorEqualsQbo(s.db, c);
      expectWithinLimits(await stats(s, c.realmId));
    }
    // At once: every run started before any of them finished.
    const times = await s.db
      .selectFrom('qbo_sync_runs')
      .select(['started_at', 'finished_at'])
      .where('id', 'in', runs)
      .execute();
    const lastStart = Math.max(...times.map((t) => t.started_at.getTime()));
    const firstEnd = Math.min(...times.map((t) => t.finished_at!.getTime()));
    expect(lastStart).toBeLessThan(firstEnd);
  }, 180_000);
});

describe.runIf(configured)('Redis and Postgres restarts', () => {
  let redis: OwnServer | undefined;
  let postgres: OwnServer | undefined;
  let s: Scaled | undefined;
  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startOwnRedis(), startOwnPostgres()]);
    s = await startScaled({
      postgresUrl: postgres.url,
      redisUrl: redis.url,
      apis: 1,
      workers: 1,
    });
  }, 180_000);
  afterAll(async () => {
    await s?.close();
    await Promise.all([redis?.close(), postgres?.close()]);
  });

  /** /readyz goes not-ready, naming `check`, while `server` is down; ready once it is back. */
  async function restart(server: OwnServer, check: 'redis' | 'database'): Promise<void> {
    const api = s!.apis[0]!;
    await server.stop();
    const down = await until(`/readyz to report ${check} down`, async () => {
      const r = await readiness(api);
      return r && r.status === 503 && r.body.checks[check]?.ok === false ? r : null;
    });
    expect(down.body.ready).toBe(false);
    await server.start();
    const up = await until(`/readyz to report ready again`, async () => {
      const r = await readiness(api);
      return r?.status === 200 ? r : null;
    });
    expect(up.body).toMatchObject({ ready: true });
  }

  it('a full sync and webhooks under way survive a Redis restart and a Postgres restart, and the processes recover by themselves', async () => {
    const company: Company = await s!.company(800, 41);
    await control(s!.sandbox, 'POST', '/faults', {
      kind: 'latency',
      surface: 'accounting',
      realmId: company.realmId,
      latencyMs: 1_000,
    });
    const runId = await fullSync(s!, company.realmId);
    await until('the sync run to be under way', async () =>
      (await runStatus(s!, runId)) === 'running' ? true : null,
    );
    await edit(s!, company.realmId, 'Customer', {
      DisplayName: `Before ${randomBytes(3).toString('hex')}`,
    });

    await restart(redis!, 'redis');
    await edit(s!, company.realmId, 'Customer', {
      DisplayName: `Between ${randomBytes(3).toString('hex')}`,
    });
    await restart(postgres!, 'database');
    // Both restarts happened in the middle of the run (about 12 one-second QBO calls).
    expect(await runStatus(s!, runId)).toBe('running');
    await control(s!.sandbox, 'DELETE', '/faults');
    await edit(s!, company.realmId, 'Vendor', {
      DisplayName: `After ${randomBytes(3).toString('hex')}`,
    });

    await runSucceeded(s!, runId);
    await webhooksSettled(s!);
    await expectMirrorEqualsQbo(s!.db, company);
    expect(await unprocessedEvents(s!, company.realmId)).toBe(0);
    // Nobody restarted them: the same API process and worker are still running.
    for (const p of [...s!.apis, ...s!.workers]) expect(p.child.exitCode).toBeNull();
  }, 240_000);
});
