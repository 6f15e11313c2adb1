// /metrics' freshness alerts against qbo-sandbox and a real database: "daily job overdue"
// (no completed reconciliation in a cron period + 2 h while connected) and "drift found" (the
// last reconciliation repaired records the mirror had missed, until a full sync re-reads them).
import { MetricsResponse } from '@qbo-sync/contract';
import { expect, it } from 'vitest';
import { forEachService } from './service-harness.ts';
import { idsOf, seededRealm, waitForIdle } from './sync-helpers.ts';

const HOUR = 3_600_000;

forEachService((env) => {
  const alerts = async (realmId: string) => {
    const r = await env.svc.admin('GET', `/api/quickbooks/metrics?realmId=${realmId}`);
    expect(r.status).toBe(200);
    return MetricsResponse.parse(r.body).alerts;
  };

  it('a company connected for a day and more without a completed reconciliation raises "daily job overdue"; one run clears it', async () => {
    const { realmId } = await seededRealm(env.svc, env.sandbox, 51);
    // Just connected: nothing is due yet.
    expect((await alerts(realmId)).daily_job_overdue).toMatchObject({
      active: false,
      threshold: 26, // the default daily cron's 24 h + 2 h
      value: null,
    });

    // The same company, connected 30 h ago, that no reconciliation reached.
    await env.db
      .updateTable('qbo_connections')
      .set({ connected_at: new Date(Date.now() - 30 * HOUR) })
      .where('realm_id', '=', realmId)
      .execute();
    const overdue = (await alerts(realmId)).daily_job_overdue;
    expect(overdue).toMatchObject({ active: true, threshold: 26, value: null });
    expect(overdue.message).toContain('QBO_RECONCILE_CRON "0 3 * * *"');

    await env.svc.services.sync.reconcile(realmId);
    const after = (await alerts(realmId)).daily_job_overdue;
    expect(after.active).toBe(false);
    expect(after.value).toBeLessThan(1);
  });

  it('a reconciliation that repaired drift raises "drift found" for that entity until a full sync of it', async () => {
    const { realmId, company } = await seededRealm(env.svc, env.sandbox, 51);
    await env.svc.services.sync.fullSync(realmId);
    await env.svc.services.sync.reconcile(realmId);
    expect((await alerts(realmId)).drift_found).toMatchObject({
      active: false,
      value: 0,
      entities: [],
    });

    // The mirror lost a customer that QBO still has (no change for CDC to bring).
    const [customerId] = idsOf(company, 'Customer');
    await env.db
      .deleteFrom('qbo_customers')
      .where('realm_id', '=', realmId)
      .where('qbo_id', '=', customerId!)
      .execute();
    await env.svc.services.sync.reconcile(realmId);
    const drift = (await alerts(realmId)).drift_found;
    expect(drift).toMatchObject({ active: true, threshold: 0, value: 1, entities: ['Customer'] });
    expect(drift.message).toContain('Customer 1');

    // What the banner's button asks for: a full sync of that entity.
    const started = await env.svc.admin('POST', '/api/quickbooks/sync/full', {
      realm_id: realmId,
      entity: 'Customer',
    });
    expect(started.status).toBe(202);
    const realm = await waitForIdle(env.svc, realmId);
    expect(realm.last_run).toMatchObject({ run_id: started.body.run_id, status: 'success' });
    expect((await alerts(realmId)).drift_found).toMatchObject({ active: false, entities: [] });
  });
});
