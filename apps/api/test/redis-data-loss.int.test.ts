// A Redis that loses its data while the service runs (restarted without persistence, a
// failover to a replica that had not caught up): the queued and running jobs, the job
// schedulers and the locks are gone at once. The process that runs jobs must notice and put
// back what the database says is unfinished, without anyone restarting it. Needs
// DATABASE_URL and REDIS_URL; the loss is simulated by deleting every key of this service's
// own prefix, so other users of the shared Redis are untouched.
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Sandbox } from 'qbo-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/schema.ts';
import { openTestDatabase, type TestDatabase } from './db-helpers.ts';
import {
  control,
  startTestSandbox,
  startTestService,
  type TestService,
} from './service-harness.ts';
import { expectMirrorEqualsQbo, seededRealm } from './sync-helpers.ts';
import { until } from './until.ts';

const configured = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);

/** Deletes every Redis key that starts with `prefix` (what a data loss does to them). */
async function loseRedisData(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

async function syncRun(db: Kysely<Database>, runId: string) {
  return db
    .selectFrom('qbo_sync_runs')
    .select(['status', 'job_id', 'error'])
    .where('id', '=', runId)
    .executeTakeFirstOrThrow();
}

describe.runIf(configured)('when Redis loses its data', () => {
  let sandbox: Sandbox | undefined;
  let database: TestDatabase | undefined;
  let svc: TestService | undefined;
  beforeAll(async () => {
    sandbox = await startTestSandbox();
    database = await openTestDatabase('postgres');
    // Checks every 300 ms (30 s in production); job locks of 1 s, so a running job notices
    // the loss of its lock within a second.
    svc = await startTestService(database.db, sandbox, {
      jobProcessing: { checkIntervalMs: 300, jobLockMs: 1_000 },
    });
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
    await database?.close();
    await sandbox?.close();
  });

  it('a full sync under way still finishes with the mirror equal to QBO, and the daily schedules come back, without a restart', async () => {
    const s = svc!;
    const { realmId, company } = await seededRealm(s, sandbox!, 60);
    // Slow QBO, so the loss lands while the run is in the middle of its pages.
    await control(sandbox!, 'POST', '/faults', {
      kind: 'latency',
      surface: 'accounting',
      realmId,
      latencyMs: 1_000,
    });
    const started = await s.admin('POST', '/api/quickbooks/sync/full', { realm_id: realmId });
    expect(started.status).toBe(202);
    const runId = started.body.run_id as string;
    const lostJob = await until('the run to be under way', async () => {
      const r = await syncRun(s.db, runId);
      return r.status === 'running' ? r.job_id : null;
    });
    const scheduled = (await s.services.jobs.scheduled()).map((e) => e.id).sort();
    expect(scheduled).toEqual(['keep-alive', 'qbo.daily-reconcile', 'qbo.webhook-sweep']);

    expect(await loseRedisData(process.env.REDIS_URL!, s.redisPrefix)).toBeGreaterThan(0);

    // The run is carried on by a job enqueued again from the database's record of it.
    await until(
      'the run to get a new job',
      async () => {
        const r = await syncRun(s.db, runId);
        return r.job_id !== lostJob || r.status !== 'running' ? r : null;
      },
      30_000,
    );
    await control(sandbox!, 'DELETE', '/faults');
    const finished = await until(
      'the run to finish',
      async () => {
        const r = await syncRun(s.db, runId);
        return r.status === 'success' || r.status === 'error' ? r : null;
      },
      30_000,
    );
    expect(finished).toMatchObject({ status: 'success', error: null });
    expect(finished.job_id).not.toBe(lostJob);
    await expectMirrorEqualsQbo(s.db, company);
    expect((await s.services.jobs.scheduled()).map((e) => e.id).sort()).toEqual(scheduled);
  }, 60_000);

  it('a push-all under way still pushes every invoice, each exactly once in QBO', async () => {
    const s = svc!;
    const { realmId, company } = await seededRealm(s, sandbox!, 51, 5);
    const ids: string[] = [];
    for (const client of ['North Radio', 'South Print', 'East Outdoor']) {
      const r = await s.admin('POST', '/api/quickbooks/campaign-invoices', {
        client_name: client,
        client_email: 'ap@example.com',
        line_items: [
          { description: 'Airtime', quantity: '1', unit_price: '90.00', amount: '90.00' },
        ],
        subtotal: '90.00',
        total: '90.00',
        issue_date: '2026-03-01',
        due_date: '2026-03-31',
      });
      expect(r.status).toBe(201);
      ids.push(r.body.id as string);
    }
    await control(sandbox!, 'POST', '/faults', {
      kind: 'latency',
      surface: 'accounting',
      realmId,
      latencyMs: 1_000,
    });
    const started = await s.admin('POST', `/api/quickbooks/invoices/push-all?realmId=${realmId}`);
    expect(started.status).toBe(202);
    const runId = started.body.run.id as string;
    const pushAllRun = () =>
      s.db
        .selectFrom('qbo_writeback_runs')
        .selectAll()
        .where('id', '=', runId)
        .executeTakeFirstOrThrow();
    await until('the push-all to be under way', async () =>
      (await pushAllRun()).status === 'running' ? true : null,
    );

    await loseRedisData(process.env.REDIS_URL!, s.redisPrefix);
    await control(sandbox!, 'DELETE', '/faults');

    const finished = await until(
      'the push-all to finish',
      async () => {
        const r = await pushAllRun();
        return r.status === 'running' || r.status === 'queued' ? null : r;
      },
      30_000,
    );
    expect(finished).toMatchObject({ status: 'finished', total: 3, pushed: 3, failed: 0 });
    const invoices = await s.db
      .selectFrom('campaign_invoices')
      .select(['qbo_sync_status', 'qbo_invoice_id'])
      .where('id', 'in', ids)
      .execute();
    expect(invoices.map((i) => i.qbo_sync_status)).toEqual(['synced', 'synced', 'synced']);
    // QBO holds one Customer and one Invoice per client: nothing was created twice.
    const rows = (entity: 'Customer' | 'Invoice') =>
      [...company.table(entity).values()].map((r) => r.data as Record<string, any>);
    for (const client of ['North Radio', 'South Print', 'East Outdoor']) {
      const customers = rows('Customer').filter((c) => c.DisplayName === client);
      expect(customers).toHaveLength(1);
      const billed = rows('Invoice').filter((inv) => inv.CustomerRef?.value === customers[0]!.Id);
      expect(billed).toHaveLength(1);
    }
  }, 60_000);
});
