// Incremental sync (CDC) against qbo-sandbox with webhooks off: creates, sparse updates,
// deletes, voids, deactivations, merges and more than 1,000 changes of one entity all reach
// the mirror in the next run; a cursor older than 30 days takes the full-sync path.
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { control, forEachService } from '../../../../test/service-harness.ts';
import {
  expectMirrorEqualsQbo,
  idsOf,
  qboEdits,
  sandboxStats,
  seededRealm,
  waitForIdle,
} from '../../../../test/sync-helpers.ts';
import { DAY_MS } from '../ports.ts';
import { cdcUsable } from './cdc.ts';

it('a cursor is continued by CDC only well inside the 30-day window', () => {
  const now = Date.UTC(2026, 0, 31);
  expect(cdcUsable(null, now)).toBe(false);
  expect(cdcUsable(new Date(now - 29 * DAY_MS), now)).toBe(true);
  expect(cdcUsable(new Date(now - 30 * DAY_MS), now)).toBe(false);
});

forEachService((env) => {
  it('every kind of change made while webhooks are off is in the mirror after the next run', async () => {
    const { svc, sandbox, db } = env;
    const { realmId, company } = await seededRealm(svc, sandbox, 2_200, 23);
    await svc.services.sync.fullSync(realmId);
    const qbo = qboEdits(svc.services.api, realmId);
    const [customerId, otherCustomerId] = idsOf(company, 'Customer');
    const invoices = idsOf(company, 'Invoice');
    const payments = idsOf(company, 'Payment');
    const [itemId] = idsOf(company, 'Item');
    const accountId = idsOf(company, 'Account').at(-1)!;

    // Creates
    const newCustomer = await qbo.create('Customer', { DisplayName: `New ${realmId}` });
    const newInvoice = await qbo.create('Invoice', {
      CustomerRef: { value: newCustomer.Id },
      Line: [
        {
          Amount: 120.5,
          DetailType: 'SalesItemLineDetail',
          SalesItemLineDetail: { ItemRef: { value: itemId }, Qty: 1, UnitPrice: 120.5 },
        },
      ],
    });
    // Sparse updates, deactivations
    await qbo.sparse('Customer', customerId!, { PrimaryEmailAddr: { Address: 'new@example.com' } });
    await qbo.sparse('Customer', otherCustomerId!, { Active: false });
    await qbo.sparse('Item', itemId!, { Active: false });
    await qbo.sparse('Account', accountId, { Active: false });
    // Deletes and voids
    const paymentToDelete = payments[0]!;
    const paymentToVoid = payments[1]!;
    await qbo.operation('Payment', paymentToDelete, 'delete');
    await qbo.operation('Payment', paymentToVoid, 'void');
    const invoiceToDelete = invoices.find((id) => !linkedToPayment(company, id))!;
    const invoiceToVoid = invoices.find(
      (id) => id !== invoiceToDelete && !linkedToPayment(company, id),
    )!;
    await qbo.operation('Invoice', invoiceToDelete, 'delete');
    await qbo.operation('Invoice', invoiceToVoid, 'void');
    // A merge in QBO's UI: the loser's transactions move to the survivor, the loser goes.
    const [survivorId, loserId] = mergeablePair(company, [customerId!, otherCustomerId!]);
    const loserInvoices = invoicesOf(company, loserId);
    expect(loserInvoices.length).toBeGreaterThan(0);
    const merged = await control(sandbox, 'POST', `/companies/${realmId}/merge`, {
      entity: 'Customer',
      survivorId,
      loserId,
    });
    expect(merged.status).toBe(200);
    // More than 1,000 changes of one entity: every invoice edited (as a bulk edit in QBO
    // would), stored the way the sandbox stores an update.
    const now = sandbox.state.clock.now();
    for (const [id, row] of [...company.table('Invoice')]) {
      const data = {
        ...row.data,
        CustomerMemo: { value: `bulk ${id}` },
        SyncToken: String(Number(row.data.SyncToken) + 1),
        MetaData: { ...row.data.MetaData, LastUpdatedTime: company.formatTime(now) },
      };
      company.put('Invoice', data, now, 'Update');
    }
    expect(company.table('Invoice').size).toBeGreaterThan(1_000);

    const r = await svc.admin('POST', '/api/quickbooks/sync/incremental', {});
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ kind: 'incremental', realm_id: realmId });
    const done = await waitForIdle(svc, realmId);
    expect(done.last_run).toMatchObject({ kind: 'incremental', status: 'success' });
    await expectMirrorEqualsQbo(db, company);

    const invoice = (id: string) =>
      db
        .selectFrom('qbo_invoices')
        .selectAll()
        .where('realm_id', '=', realmId)
        .where('qbo_id', '=', id)
        .executeTakeFirstOrThrow();
    expect(await invoice(invoiceToDelete)).toMatchObject({ is_deleted: true });
    expect(await invoice(invoiceToVoid)).toMatchObject({ is_deleted: false, voided: true });
    expect(await invoice(newInvoice.Id as string)).toMatchObject({ total_amt: '120.50' });
    const payment = await db
      .selectFrom('qbo_payments')
      .select(['qbo_id', 'is_deleted', 'voided'])
      .where('realm_id', '=', realmId)
      .where('qbo_id', 'in', [paymentToDelete, paymentToVoid])
      .orderBy('is_deleted', 'desc')
      .execute();
    expect(payment).toEqual([
      { qbo_id: paymentToDelete, is_deleted: true, voided: false },
      { qbo_id: paymentToVoid, is_deleted: false, voided: true },
    ]);
    // CDC says only that the merged-away customer is deleted, not into whom.
    const loser = await db
      .selectFrom('qbo_customers')
      .select(['is_deleted', 'merged_into_qbo_id'])
      .where('realm_id', '=', realmId)
      .where('qbo_id', '=', loserId)
      .executeTakeFirstOrThrow();
    expect(loser).toEqual({ is_deleted: true, merged_into_qbo_id: null });
    const moved = await db
      .selectFrom('qbo_invoices')
      .select('customer_qbo_id')
      .distinct()
      .where('realm_id', '=', realmId)
      .where('qbo_id', 'in', loserInvoices)
      .execute();
    expect(moved).toEqual([{ customer_qbo_id: survivorId }]);
    // The capped CDC answer was completed with LastUpdatedTime queries.
    const completions = await db
      .selectFrom('qbo_request_log')
      .select('path')
      .where('realm_id', '=', realmId)
      .where('path', 'like', '%LastUpdatedTime%')
      .execute();
    expect(completions.length).toBeGreaterThan(0);
    const stats = await sandboxStats(svc, realmId);
    expect(stats.throttled).toBe(0);
    // 2,200 objects synced and 1,000+ changed: well past the default on a busy 2-core runner.
  }, 120_000);

  it('a cursor older than 30 days takes the full-sync path for that entity', async () => {
    const { svc, sandbox, db } = env;
    const { realmId, company } = await seededRealm(svc, sandbox, 300, 29);
    await svc.services.sync.fullSync(realmId, ['Vendor']);
    const before = await db
      .selectFrom('qbo_sync_cursors')
      .select('last_full_sync_at')
      .where('realm_id', '=', realmId)
      .where('entity_type', '=', 'Vendor')
      .executeTakeFirstOrThrow();
    await db
      .updateTable('qbo_sync_cursors')
      .set({ last_cdc_at: sql`now() - interval '31 days'` })
      .where('realm_id', '=', realmId)
      .execute();
    const [vendorId] = idsOf(company, 'Vendor');
    await qboEdits(svc.services.api, realmId).sparse('Vendor', vendorId!, { Active: false });

    await svc.services.sync.incrementalSync(realmId, ['Vendor']);
    await expectMirrorEqualsQbo(db, company, ['Vendor']);
    const after = await db
      .selectFrom('qbo_sync_cursors')
      .select(['last_full_sync_at', 'last_cdc_at'])
      .where('realm_id', '=', realmId)
      .where('entity_type', '=', 'Vendor')
      .executeTakeFirstOrThrow();
    expect(after.last_full_sync_at!.getTime()).toBeGreaterThan(before.last_full_sync_at!.getTime());
    expect(Date.now() - after.last_cdc_at!.getTime()).toBeLessThan(DAY_MS);
  });
});

type SandboxCompany = { table(e: string): Map<string, { data: any }> };

/** Two active top-level customers with invoices, not among `avoid`: [survivor, loser]. */
function mergeablePair(company: SandboxCompany, avoid: string[]): [string, string] {
  const parents = new Set(
    [...company.table('Customer').values()].map((r) => r.data.ParentRef?.value).filter(Boolean),
  );
  const ok = [...company.table('Customer').values()]
    .map((r) => r.data)
    .filter(
      (c) =>
        c.Active !== false &&
        !avoid.includes(c.Id) &&
        !c.ParentRef &&
        !parents.has(c.Id) &&
        invoicesOf(company, c.Id).length > 0,
    );
  if (ok.length < 2) throw new Error('the seed has no two mergeable customers');
  return [ok[0].Id, ok[1].Id];
}

/** Ids of the invoices of a customer. */
function invoicesOf(company: SandboxCompany, customerId: string): string[] {
  return [...company.table('Invoice').values()]
    .filter((r) => r.data.CustomerRef?.value === customerId)
    .map((r) => r.data.Id as string);
}

/** Whether a payment pays this invoice (QBO refuses to delete or void such an invoice). */
function linkedToPayment(company: { table(e: 'Invoice'): Map<string, { data: any }> }, id: string) {
  const inv = company.table('Invoice').get(id)!.data;
  return Array.isArray(inv.LinkedTxn) && inv.LinkedTxn.length > 0;
}
