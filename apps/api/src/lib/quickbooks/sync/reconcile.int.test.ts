// The daily reconciliation: fired at 03:00 UTC by the schedule (injected clock in-process),
// caught up after a missed run, run once with two BullMQ workers, and proving the mirror in
// sync — drift recorded, shown in /sync/status and repaired.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { BullJobs } from '../../../infra/jobs-bullmq.ts';
import { MemoryJobs } from '../../../infra/jobs-memory.ts';
import { closeRedis, createRedis } from '../../../infra/redis.ts';
import { forEachService, type TestService } from '../../../../test/service-harness.ts';
import {
  expectMirrorEqualsQbo,
  idsOf,
  seededRealm,
  waitForIdle,
} from '../../../../test/sync-helpers.ts';
import { nextCronTime } from '../../jobs.ts';
import type { QboJobs } from '../jobs.ts';
import { DEFAULT_RECONCILE_CRON, createSyncService } from './sync.ts';

/** Waits until the realm has a finished reconciliation; returns the realm's status. */
async function reconciled(svc: TestService, realmId: string): Promise<any> {
  const end = Date.now() + 120_000;
  for (;;) {
    const realm = await waitForIdle(svc, realmId);
    if (realm.last_run?.kind === 'reconcile') return realm;
    if (Date.now() > end) throw new Error('no reconciliation ran');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function reconcileRuns(svc: TestService, realmId: string): Promise<number> {
  const r = await svc.db
    .selectFrom('qbo_sync_runs')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('realm_id', '=', realmId)
    .where('kind', '=', 'reconcile')
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

forEachService((env) => {
  it('the daily run finds drift, shows it and repairs it', async () => {
    const { svc, sandbox, db } = env;
    const { realmId, company } = await seededRealm(svc, sandbox, 300, 31);
    await svc.services.sync.fullSync(realmId);
    // Drift: a customer missing, an invoice stale, an invoice QBO never had.
    const [customerId] = idsOf(company, 'Customer');
    const [invoiceId] = idsOf(company, 'Invoice');
    await db
      .deleteFrom('qbo_customers')
      .where('realm_id', '=', realmId)
      .where('qbo_id', '=', customerId!)
      .execute();
    await db
      .updateTable('qbo_invoices')
      .set({ sync_token: '', balance: '1.00', qbo_updated_at: new Date('2001-01-01T00:00:00Z') })
      .where('realm_id', '=', realmId)
      .where('qbo_id', '=', invoiceId!)
      .execute();
    await sql`insert into qbo_invoices (realm_id, qbo_id, sync_token, raw)
      values (${realmId}, '999999', '0', '{}')`.execute(db);

    const jobs = svc.services.jobs;
    if (jobs instanceof MemoryJobs) {
      // In-process: the schedule follows the injected clock; move it past 03:00 UTC.
      await svc.services.sync.startBackground(jobs);
      const fire = nextCronTime(DEFAULT_RECONCILE_CRON, svc.clock.now());
      expect(new Date(fire).getUTCHours()).toBe(3);
      svc.clock.advance(fire - svc.clock.now() + 1_000);
      jobs.tick();
    } else {
      await svc.services.sync.reconcile(realmId);
    }
    const realm = await reconciled(svc, realmId);
    expect(realm.last_run.status).toBe('success');
    const by = (e: string) => realm.entities.find((x: any) => x.entity_type === e);
    expect(by('Customer')).toMatchObject({ drift: 1, repaired: 1 });
    expect(by('Invoice')).toMatchObject({ drift: 2, repaired: 2 });
    expect(by('Vendor')).toMatchObject({ drift: 0, qbo_count: company.table('Vendor').size });
    expect(by('Invoice').last_reconciled_at).not.toBeNull();
    await expectMirrorEqualsQbo(db, company);
  });

  it('a daily run missed while nothing ran is caught up once at start', async () => {
    const { svc, sandbox, db } = env;
    // The database's clock decides when a run started: the injected clock goes back to it.
    svc.clock.offsetMs = 0;
    const { realmId, company } = await seededRealm(svc, sandbox, 120, 37);
    await db
      .updateTable('qbo_connections')
      .set({ connected_at: sql`now() - interval '3 days'` })
      .where('realm_id', '=', realmId)
      .execute();
    await svc.services.sync.startBackground(svc.services.jobs);
    await reconciled(svc, realmId);
    await expectMirrorEqualsQbo(db, company);
    // Reconciled since the last fire time: another start does not run it again.
    await svc.services.sync.startBackground(svc.services.jobs);
    await waitForIdle(svc, realmId);
    expect(await reconcileRuns(svc, realmId)).toBe(1);
  });

  it('past the metered-read cap for background work, the daily run waits and records nothing', async () => {
    const { svc, sandbox, db } = env;
    const { realmId } = await seededRealm(svc, sandbox, 60, 43);
    await db
      .updateTable('qbo_connections')
      .set({ connected_at: sql`now() - interval '3 days'` })
      .where('realm_id', '=', realmId)
      .execute();
    const capped = createSyncService({
      db,
      api: svc.services.api,
      clock: svc.services.clock,
      logger: svc.services.logger,
      backgroundReadsAllowed: async () => false,
    });
    expect(await capped.reconcileDue()).toEqual([]);
    expect(await reconcileRuns(svc, realmId)).toBe(0);
  });

  it('two workers schedule the daily job once and reconcile a realm once', async () => {
    const { svc, sandbox } = env;
    svc.clock.offsetMs = 0;
    if (!process.env.REDIS_URL) {
      // In-process there is one runner by construction: one schedule entry per id.
      const jobs = svc.services.jobs;
      await svc.services.sync.startBackground(jobs);
      await svc.services.sync.startBackground(jobs);
      expect((await jobs.scheduled()).filter((s) => s.name === 'qbo.daily-reconcile')).toHaveLength(
        1,
      );
      return;
    }
    const { realmId } = await seededRealm(svc, sandbox, 100, 41);
    await svc.db
      .updateTable('qbo_connections')
      .set({ connected_at: sql`now() - interval '3 days'` })
      .where('realm_id', '=', realmId)
      .execute();
    const prefix = `reconcile-${randomBytes(4).toString('hex')}`;
    const connections = [0, 1].map(() =>
      createRedis(process.env.REDIS_URL!, { purpose: 'bullmq' }),
    );
    const workers = connections.map(
      (connection) => new BullJobs<QboJobs>({ connection, lock: svc.services.lock, prefix }),
    );
    try {
      for (const w of workers) {
        // Only the daily job: its fan-out enqueues runs on the service's own queue.
        w.handle('qbo.daily-reconcile', async () => {
          await svc.services.sync.reconcileDue();
        });
        await w.schedule(
          'qbo.daily-reconcile',
          { id: 'qbo.daily-reconcile', cron: DEFAULT_RECONCILE_CRON },
          {},
        );
        await w.start();
      }
      expect(await workers[0]!.scheduled()).toHaveLength(1);
      // Both workers take a daily job at the same moment.
      await Promise.all(workers.map((w) => w.enqueue('qbo.daily-reconcile', {})));
      await reconciled(svc, realmId);
      expect(await reconcileRuns(svc, realmId)).toBe(1);
    } finally {
      for (const w of workers) await w.close(1_000);
      for (const c of connections) await closeRedis(c);
    }
  });
});
