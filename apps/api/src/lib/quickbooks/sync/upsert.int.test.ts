// The mirror's write rules on PGlite and Postgres: set-based upserts where an older version
// never overwrites a newer one, deletion stubs, and the mirror listeners.
import { afterEach, expect, it } from 'vitest';
import { forEachDatabase, newRealmId } from '../../../../test/db-helpers.ts';
import { recordedBody } from '../../../../test/recordings.ts';
import { onMirrorWrite } from './listeners.ts';
import { markMerged, upsertMirror } from './upsert.ts';

function invoice(id: string, syncToken: string, lastUpdated: string, extra = {}) {
  return {
    Id: id,
    SyncToken: syncToken,
    MetaData: { CreateTime: '2026-01-01T10:00:00-08:00', LastUpdatedTime: lastUpdated },
    DocNumber: `D-${id}`,
    TxnDate: '2026-01-01',
    TotalAmt: 100,
    Balance: 100,
    CustomerRef: { value: '1', name: 'Amy' },
    ...extra,
  };
}

const stub = (id: string, lastUpdated: string) => ({
  domain: 'QBO',
  status: 'Deleted',
  Id: id,
  MetaData: { LastUpdatedTime: lastUpdated },
});

let unsubscribe: (() => void) | null = null;
afterEach(() => {
  unsubscribe?.();
  unsubscribe = null;
});

forEachDatabase((t) => {
  const rowOf = (realmId: string, id: string) =>
    t()
      .db.selectFrom('qbo_invoices')
      .selectAll()
      .where('realm_id', '=', realmId)
      .where('qbo_id', '=', id)
      .executeTakeFirst();

  it('an older version never overwrites a newer one, whichever arrives last', async () => {
    const { db } = t();
    const realm = newRealmId();
    const v2 = invoice('1', '2', '2026-01-02T10:00:00-08:00', { Balance: 40 });
    const v1 = invoice('1', '1', '2026-01-01T12:00:00-08:00', { Balance: 70 });
    expect(await upsertMirror(db, realm, 'Invoice', [v2], 'webhook')).toMatchObject({
      written: 1,
      skippedOlder: 0,
    });
    expect(await upsertMirror(db, realm, 'Invoice', [v1], 'full')).toMatchObject({
      written: 0,
      skippedOlder: 1,
    });
    expect(await rowOf(realm, '1')).toMatchObject({ sync_token: '2', balance: '40.00' });
  });

  it('of two reads of the same version, the one started later wins: a balance QBO moved without a new version is never put back', async () => {
    const { db } = t();
    const realm = newRealmId();
    const at = '2026-01-02T10:00:00-08:00';
    const pageReadAt = new Date('2026-01-02T18:00:00Z');
    const refreshReadAt = new Date('2026-01-02T18:00:03Z');
    // A full-sync page read before a payment, written after the customer was re-read.
    await upsertMirror(
      db,
      realm,
      'Invoice',
      [invoice('1', '3', at, { Balance: 40 })],
      'cdc',
      refreshReadAt,
    );
    const late = await upsertMirror(
      db,
      realm,
      'Invoice',
      [invoice('1', '3', at, { Balance: 100 })],
      'full',
      pageReadAt,
    );
    expect(late).toMatchObject({ written: 0, skippedOlder: 1 });
    expect(await rowOf(realm, '1')).toMatchObject({ balance: '40.00' });
    // A later read of the same version is written.
    const later = new Date('2026-01-02T18:00:09Z');
    await upsertMirror(db, realm, 'Invoice', [invoice('1', '3', at, { Balance: 0 })], 'cdc', later);
    expect(await rowOf(realm, '1')).toMatchObject({ balance: '0.00', read_at: later });
  });

  it('within one second, SyncToken decides, compared as a number (10 > 9)', async () => {
    const { db } = t();
    const realm = newRealmId();
    const at = '2026-01-02T10:00:00-08:00';
    await upsertMirror(db, realm, 'Invoice', [invoice('1', '10', at, { Balance: 1 })], 'cdc');
    const r = await upsertMirror(db, realm, 'Invoice', [invoice('1', '9', at)], 'webhook');
    expect(r).toMatchObject({ written: 0, skippedOlder: 1 });
    expect(await rowOf(realm, '1')).toMatchObject({ sync_token: '10', balance: '1.00' });
    // The same version again is written (idempotent), which refreshes synced_at.
    const before = (await rowOf(realm, '1'))!.synced_at;
    await new Promise((r) => setTimeout(r, 5));
    expect(
      await upsertMirror(db, realm, 'Invoice', [invoice('1', '10', at, { Balance: 1 })], 'full'),
    ).toMatchObject({ written: 1 });
    expect((await rowOf(realm, '1'))!.synced_at.getTime()).toBeGreaterThan(before.getTime());
  });

  it('writes many objects in one statement and keeps the newest copy of a repeated Id', async () => {
    const { db } = t();
    const realm = newRealmId();
    const objects = Array.from({ length: 250 }, (_, i) =>
      invoice(String(i + 1), '0', '2026-01-01T10:00:00-08:00'),
    );
    objects.push(invoice('7', '3', '2026-01-05T10:00:00-08:00', { Balance: 3 }));
    objects.push(invoice('7', '1', '2026-01-03T10:00:00-08:00', { Balance: 1 }));
    const r = await upsertMirror(db, realm, 'Invoice', objects, 'full');
    expect(r.written).toBe(250);
    expect(r.skippedOlder).toBe(2);
    expect(await rowOf(realm, '7')).toMatchObject({ sync_token: '3', balance: '3.00' });
  });

  it('a deletion stub deletes; the older object that follows does not bring it back', async () => {
    const { db } = t();
    const realm = newRealmId();
    const created = recordedBody('create/invoice.json').Invoice;
    await upsertMirror(db, realm, 'Invoice', [created], 'full');
    const deletedAt = '2020-09-29T06:02:35-07:00';
    expect(
      await upsertMirror(db, realm, 'Invoice', [stub(created.Id, deletedAt)], 'cdc'),
    ).toMatchObject({ written: 1 });
    const row = (await rowOf(realm, created.Id))!;
    expect(row).toMatchObject({ is_deleted: true, sync_token: null, doc_number: '1043' });
    expect(row.deleted_at).toEqual(new Date(deletedAt));
    // The last known object stays readable.
    expect((row.raw as { DocNumber: string }).DocNumber).toBe('1043');

    expect(await upsertMirror(db, realm, 'Invoice', [created], 'webhook')).toMatchObject({
      written: 0,
      skippedOlder: 1,
    });
    // Even a version stamped the same second as the deletion.
    const sameSecond = { ...created, SyncToken: '5', MetaData: { LastUpdatedTime: deletedAt } };
    expect(await upsertMirror(db, realm, 'Invoice', [sameSecond], 'webhook')).toMatchObject({
      written: 0,
    });
    expect((await rowOf(realm, created.Id))!.is_deleted).toBe(true);
  });

  it('a stub for an object never seen becomes a tombstone; a repeated stub changes nothing', async () => {
    const { db } = t();
    const realm = newRealmId();
    const s = stub('979', '2026-01-01T10:00:00-08:00');
    expect(await upsertMirror(db, realm, 'Payment', [s], 'cdc')).toMatchObject({ written: 1 });
    expect(await upsertMirror(db, realm, 'Payment', [s], 'webhook')).toMatchObject({
      written: 0,
      skippedOlder: 1,
    });
    const row = await db
      .selectFrom('qbo_payments')
      .selectAll()
      .where('realm_id', '=', realm)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ qbo_id: '979', is_deleted: true, sync_token: null });
    expect(row.raw).toEqual(s);
  });

  it('a voided invoice and a deactivated customer stay, not deleted', async () => {
    const { db } = t();
    const realm = newRealmId();
    await upsertMirror(db, realm, 'Invoice', [recordedBody('void/invoice-1.json').Invoice], 'cdc');
    await upsertMirror(db, realm, 'Invoice', [recordedBody('void/invoice-2.json').Invoice], 'cdc');
    expect(await rowOf(realm, '264')).toMatchObject({
      voided: true,
      is_deleted: false,
      total_amt: '0.00',
    });
    const vendors = recordedBody('get/inactive_vendors.json').QueryResponse.Vendor;
    await upsertMirror(db, realm, 'Vendor', vendors, 'full');
    const v = await db
      .selectFrom('qbo_vendors')
      .selectAll()
      .where('realm_id', '=', realm)
      .where('qbo_id', '=', '53')
      .executeTakeFirstOrThrow();
    expect(v).toMatchObject({ active: false, is_deleted: false });
  });

  it('a merged customer points at its survivor', async () => {
    const { db } = t();
    const realm = newRealmId();
    const customers = recordedBody('all/customers-2.json').QueryResponse.Customer;
    await upsertMirror(db, realm, 'Customer', customers, 'full');
    expect(
      await markMerged(db, realm, 'Customer', [
        { loserId: '2', survivorId: '1', at: new Date('2026-01-01T00:00:00Z') },
      ]),
    ).toBe(1);
    const row = await db
      .selectFrom('qbo_customers')
      .selectAll()
      .where('realm_id', '=', realm)
      .where('qbo_id', '=', '2')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ merged_into_qbo_id: '1', is_deleted: true, active: false });
  });

  it('stores NUL characters nowhere and odd values as null, never failing the page', async () => {
    const { db } = t();
    const realm = newRealmId();
    const odd = invoice('1', '0', '2026-01-01T10:00:00-08:00', {
      DocNumber: 'A\u0000B',
      PrivateNote: 'x\u0000y',
      TxnDate: '0000-01-01',
      TotalAmt: 1e20,
    });
    const r = await upsertMirror(db, realm, 'Invoice', [odd, { nothing: true }], 'full');
    expect(r).toMatchObject({ written: 1, skippedOlder: 1 });
    expect(await rowOf(realm, '1')).toMatchObject({
      doc_number: 'AB',
      txn_date: null,
      total_amt: null,
    });
  });

  it('tells the mirror listeners which invoices and payments were written', async () => {
    const { db } = t();
    const realm = newRealmId();
    const heard: [string, string, string[]][] = [];
    unsubscribe = onMirrorWrite(async (_db, realmId, entity, ids) => {
      heard.push([realmId, entity, ids]);
    });
    await upsertMirror(
      db,
      realm,
      'Invoice',
      [
        invoice('1', '0', '2026-01-01T10:00:00-08:00'),
        invoice('2', '0', '2026-01-01T10:00:00-08:00'),
      ],
      'full',
    );
    await upsertMirror(
      db,
      realm,
      'Invoice',
      [invoice('1', '0', '2025-01-01T10:00:00-08:00')],
      'full',
    );
    await upsertMirror(db, realm, 'Customer', [{ Id: '5', SyncToken: '0' }], 'full');
    await upsertMirror(db, realm, 'Payment', [stub('8', '2026-01-01T10:00:00-08:00')], 'cdc');
    expect(heard.map(([r, e, ids]) => [r, e, [...ids].sort()])).toEqual([
      [realm, 'Invoice', ['1', '2']],
      [realm, 'Payment', ['8']],
    ]);
  });
});
