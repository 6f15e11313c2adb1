// Full sync against qbo-sandbox, through the routes an operator uses: the mirror equals QBO
// field by field (inactive and deleted included), progress is visible, a second request
// joins the running job, QBO's limits hold. PGlite and Postgres (+ Redis with REDIS_URL).
import { expect, it } from 'vitest';
import {
  expectMirrorEqualsQbo,
  idsOf,
  qboEdits,
  sandboxStats,
  seededRealm,
  waitForIdle,
} from '../../../../test/sync-helpers.ts';
import { control, forEachService } from '../../../../test/service-harness.ts';
import { countQuery, pageQuery, runFullPass } from './full-sync.ts';
import { createRun, getRun, markRunning } from './runs.ts';

it('pages in Id order and asks name lists for inactive objects too', () => {
  expect(pageQuery('Invoice', 1001)).toBe(
    'SELECT * FROM Invoice ORDERBY Id STARTPOSITION 1001 MAXRESULTS 1000',
  );
  expect(pageQuery('Customer', 1)).toBe(
    'SELECT * FROM Customer WHERE Active IN (true,false) ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000',
  );
  expect(countQuery('Vendor')).toBe('SELECT COUNT(*) FROM Vendor WHERE Active IN (true,false)');
});

forEachService((env) => {
  it('a full sync leaves every mirror equal to QBO, inactive and deleted included', async () => {
    const { svc, sandbox, db } = env;
    // 2,400 objects: Invoices take two pages, every entity has rows.
    const { realmId, company } = await seededRealm(svc, sandbox, 2_400);
    const qbo = qboEdits(svc.services.api, realmId);
    const [customerId] = idsOf(company, 'Customer');
    const [vendorId] = idsOf(company, 'Vendor');
    const invoiceIds = idsOf(company, 'Invoice');
    await qbo.sparse('Customer', customerId!, { Active: false });
    await qbo.operation('Invoice', invoiceIds[0]!, 'void');

    const first = await svc.admin('POST', '/api/quickbooks/sync/full', {});
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ realm_id: realmId, kind: 'full', deduplicated: false });
    expect(first.body.entities).toHaveLength(6);
    // A second request while the first is unfinished gets the same job.
    const again = await svc.admin('POST', '/api/quickbooks/sync/full', { realm_id: realmId });
    expect(again.body).toMatchObject({ job_id: first.body.job_id, deduplicated: true });

    const done = await waitForIdle(svc, realmId);
    expect(done.last_run).toMatchObject({ run_id: first.body.run_id, status: 'success' });
    await expectMirrorEqualsQbo(db, company);
    const customers = done.entities.find((e: any) => e.entity_type === 'Customer');
    expect(customers).toMatchObject({
      status: 'success',
      mirror_count: company.table('Customer').size,
    });
    expect(customers.last_full_sync_at).not.toBeNull();

    // Changes since: a deleted invoice, a deactivated vendor. The next full pass marks the
    // invoice deleted (QBO no longer returns it) and keeps the vendor, inactive.
    await qbo.operation('Invoice', invoiceIds[1]!, 'delete');
    await qbo.sparse('Vendor', vendorId!, { Active: false });
    const second = await svc.admin('POST', '/api/quickbooks/sync/full', { realm_id: realmId });
    expect(second.body.deduplicated).toBe(false);
    await waitForIdle(svc, realmId);
    await expectMirrorEqualsQbo(db, company);
    const deleted = await db
      .selectFrom('qbo_invoices')
      .select(['is_deleted', 'deleted_at'])
      .where('realm_id', '=', realmId)
      .where('qbo_id', '=', invoiceIds[1]!)
      .executeTakeFirstOrThrow();
    expect(deleted.is_deleted).toBe(true);
    expect(deleted.deleted_at).not.toBeNull();
    const vendor = await db
      .selectFrom('qbo_vendors')
      .select(['active', 'is_deleted'])
      .where('realm_id', '=', realmId)
      .where('qbo_id', '=', vendorId!)
      .executeTakeFirstOrThrow();
    expect(vendor).toEqual({ active: false, is_deleted: false });

    const stats = await sandboxStats(svc, realmId);
    expect(stats.throttled).toBe(0);
    expect(stats.peakPerSecond).toBeLessThanOrEqual(10);
  });

  it('one entity only, and the body is validated', async () => {
    const { svc, sandbox, db } = env;
    const { realmId, company } = await seededRealm(svc, sandbox, 200);
    const r = await svc.admin('POST', '/api/quickbooks/sync/full', {
      realm_id: realmId,
      entity: 'Vendor',
    });
    expect(r.status).toBe(202);
    expect(r.body.entities).toEqual(['Vendor']);
    await waitForIdle(svc, realmId);
    await expectMirrorEqualsQbo(db, company, ['Vendor']);
    const customers = await db
      .selectFrom('qbo_customers')
      .select('qbo_id')
      .where('realm_id', '=', realmId)
      .execute();
    expect(customers).toEqual([]);

    for (const body of [
      { entity: 'Bill' },
      { realm_id: 'x'.repeat(65) },
      { realm_id: 'a\u0000b' },
      { entity: 'Vendor', extra: 1 },
    ]) {
      const bad = await svc.admin('POST', '/api/quickbooks/sync/full', body);
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body.error.code).toBe('invalid_request');
    }
    const unknown = await svc.admin('POST', '/api/quickbooks/sync/incremental', {
      realm_id: '123456789',
    });
    expect(unknown.status).toBe(404);
    const anonymous = await svc.fetch('/api/quickbooks/sync/status');
    expect(anonymous.status).toBe(401);
  });

  it('a QBO outage midway stops the pass with what it wrote kept; the next attempt reads on from there', async () => {
    const { svc, sandbox, db } = env;
    const { realmId, company } = await seededRealm(svc, sandbox, 2_400);
    const { api, clock, logger } = svc.services;
    const ctx = { db, api, clock, logger };
    // Every attempt at the second page of Invoices fails (the client's retries included).
    const fault = await control(sandbox, 'POST', '/faults', {
      kind: 'outage',
      surface: 'accounting',
      realmId,
      pathRegex: 'FROM(%20|\\+)Invoice(%20|\\+).*STARTPOSITION(%20|\\+)1001(%20|\\+)',
    });
    expect(fault.status).toBe(201);
    const run = await markRunning(db, await createRun(db, realmId, 'full', ['Invoice']));
    await expect(runFullPass(ctx, run)).rejects.toMatchObject({ status: 503 });

    // The first page is in the mirror and recorded; nothing was marked deleted.
    const stopped = (await getRun(db, run.id))!;
    expect(stopped.progress.Invoice).toMatchObject({ next_position: 1001, complete: false });
    const rows = await db
      .selectFrom('qbo_invoices')
      .select(['qbo_id', 'is_deleted'])
      .where('realm_id', '=', realmId)
      .execute();
    expect(rows).toHaveLength(1_000);
    expect(rows.filter((r) => r.is_deleted)).toEqual([]);

    await control(sandbox, 'DELETE', '/faults');
    await runFullPass(ctx, (await getRun(db, run.id))!);
    await expectMirrorEqualsQbo(db, company, ['Invoice']);
    const pages = await db
      .selectFrom('qbo_request_log')
      .select(['path', 'status'])
      .where('realm_id', '=', realmId)
      .where('path', 'like', '%FROM Invoice ORDERBY Id STARTPOSITION%')
      .execute();
    const answered = (start: number) =>
      pages.filter((p) => p.status === 200 && p.path.includes(`STARTPOSITION ${start} `)).length;
    // The page written before the outage was not read again.
    expect([answered(1), answered(1001)]).toEqual([1, 1]);
  });
});
