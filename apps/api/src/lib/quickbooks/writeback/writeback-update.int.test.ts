// After the push: edits go as sparse updates (a stale SyncToken is re-read and retried),
// an invoice voided or deleted in QBO is reported and never recreated, and a payment made
// in QBO shows on the campaign invoice once sync brings it into the mirror.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { forEachDatabase, insertCampaignInvoice } from '../../../../test/db-helpers.ts';
import { control, useSandboxWorld } from '../../../../test/sandbox-world.ts';
import { toJson, type Database } from '../../../db/schema.ts';
import { MemoryRateLimiter } from '../../../infra/rate-limit.ts';
import { systemClock } from '../ports.ts';
import { fetchByIds } from '../sync/fetch.ts';
import { onMirrorWrite } from '../sync/listeners.ts';
import { upsertMirror } from '../sync/upsert.ts';
import { refreshFromMirror } from './back-from-qbo.ts';
import { Writeback } from './writeback.ts';

const world = useSandboxWorld();
const limiter = new MemoryRateLimiter();
const logger = pino({ level: 'silent' });

let stopListening: () => void;
beforeAll(() => {
  stopListening = onMirrorWrite((...args) => refreshFromMirror(...args));
});
afterAll(() => stopListening());

const api = (db: Kysely<Database>) => world().client(db, limiter);

/** A company, one campaign invoice pushed to it, and that row. */
async function pushed(db: Kysely<Database>) {
  const realmId = await world().newCompany();
  const wb = new Writeback({ db, api: api(db), clock: systemClock, logger });
  const inv = await insertCampaignInvoice(db, { client_name: `Edit ${randomUUID().slice(0, 6)}` });
  const first = await wb.push(realmId, inv.id);
  expect(first.outcome, first.message ?? '').toBe('created');
  const qboId = first.qboInvoiceId!;
  const count = async () =>
    (await control(world().url, 'GET', `/_sandbox/companies/${realmId}`)).body.counts
      .Invoice as number;
  return { realmId, wb, inv, qboId, count, before: await count() };
}

/** The host application edits the invoice: 2 × 200.00 instead of 2 × 150.00. */
async function edit(db: Kysely<Database>, id: string): Promise<void> {
  await db
    .updateTable('campaign_invoices')
    .set({
      line_items: toJson([
        {
          description: 'Campaign management',
          quantity: '2',
          unit_price: '200.00',
          amount: '400.00',
        },
      ]),
      subtotal: '400.00',
      total: '400.00',
    })
    .where('id', '=', id)
    .execute();
}

/** QBO voids or deletes the invoice, the host edits it, and it is pushed: must fail. */
async function changedInQboThenPushed(
  db: Kysely<Database>,
  p: { realmId: string; wb: Writeback; inv: { id: string }; qboId: string },
  operation: 'void' | 'delete',
) {
  const inQbo = await api(db).read(p.realmId, 'Invoice', p.qboId);
  await api(db).request(p.realmId, {
    method: 'POST',
    path: '/invoice',
    query: { operation },
    body: { Id: p.qboId, SyncToken: inQbo.SyncToken },
    requestId: randomUUID(),
  });
  await edit(db, p.inv.id);
  const result = await p.wb.push(p.realmId, p.inv.id);
  expect(result.outcome).toBe('failed');
  return result;
}

const row = (db: Kysely<Database>, id: string) =>
  db.selectFrom('campaign_invoices').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

forEachDatabase((t) => {
  it('an edit after a concurrent change in QBO (stale SyncToken) updates the same QBO invoice', async () => {
    const { db } = t();
    const { realmId, wb, inv, qboId, count, before } = await pushed(db);
    const inQbo = await api(db).read(realmId, 'Invoice', qboId);
    await api(db).update(
      realmId,
      'Invoice',
      { Id: qboId, SyncToken: inQbo.SyncToken, sparse: true, PrivateNote: 'Call before delivery' },
      randomUUID(),
    );
    await edit(db, inv.id);
    expect((await row(db, inv.id)).qbo_sync_status).toBe('pending');

    const result = await wb.push(realmId, inv.id);
    expect(result.outcome, result.message ?? '').toBe('updated');
    expect(result.qboInvoiceId).toBe(qboId);
    const after = await api(db).read(realmId, 'Invoice', qboId);
    expect(after.TotalAmt).toBe(400);
    expect(after.PrivateNote).toBe('Call before delivery'); // sparse: QBO's own edit kept
    expect(await count()).toBe(before);
    const stored = await row(db, inv.id);
    expect(stored).toMatchObject({
      qbo_sync_status: 'synced',
      qbo_pushed_version: 2,
      qbo_total: '400.00',
    });
    const stale = await db
      .selectFrom('qbo_request_log')
      .select('qbo_error_code')
      .where('realm_id', '=', realmId)
      .where('qbo_error_code', '=', '5010')
      .execute();
    expect(stale).toHaveLength(1);
  });

  it('an invoice voided in QBO is reported on the next push, not recreated or changed', async () => {
    const { db } = t();
    const { realmId, wb, inv, qboId, count, before } = await pushed(db);
    const result = await changedInQboThenPushed(db, { realmId, wb, inv, qboId }, 'void');
    expect(result.message).toMatch(/voided in QBO; it is not recreated/);
    expect(await row(db, inv.id)).toMatchObject({ qbo_sync_status: 'error', qbo_voided: true });
    expect((await api(db).read(realmId, 'Invoice', qboId)).TotalAmt).toBe(0);
    expect(await count()).toBe(before);
    // Pushed again: still reported, still nothing written.
    expect((await wb.push(realmId, inv.id)).outcome).toBe('failed');
    expect(await count()).toBe(before);
  });

  it('an invoice deleted in QBO is reported on the next push, not recreated', async () => {
    const { db } = t();
    const { realmId, wb, inv, qboId, count, before } = await pushed(db);
    const result = await changedInQboThenPushed(db, { realmId, wb, inv, qboId }, 'delete');
    expect(result.message).toMatch(/deleted in QBO; it is not recreated/);
    expect(await row(db, inv.id)).toMatchObject({ qbo_sync_status: 'error', qbo_deleted: true });
    expect(await count()).toBe(before - 1);
  });

  it('a payment entered in QBO shows on the campaign invoice after the next sync', async () => {
    const { db } = t();
    const { realmId, inv, qboId } = await pushed(db);
    const stored = await row(db, inv.id);
    const pay = async (amount: number, date: string) =>
      api(db).create(
        realmId,
        'Payment',
        {
          CustomerRef: { value: stored.qbo_customer_id },
          TotalAmt: amount,
          TxnDate: date,
          Line: [{ Amount: amount, LinkedTxn: [{ TxnId: qboId, TxnType: 'Invoice' }] }],
        },
        randomUUID(),
      );
    /** What a sync does with changed objects: fetch them, upsert the mirror. */
    const sync = async (paymentId: string) => {
      const client = api(db);
      await upsertMirror(
        db,
        realmId,
        'Invoice',
        await fetchByIds(client, realmId, 'Invoice', [qboId]),
        'cdc',
      );
      await upsertMirror(
        db,
        realmId,
        'Payment',
        await fetchByIds(client, realmId, 'Payment', [paymentId]),
        'cdc',
      );
    };

    const part = await pay(100, '2026-02-10');
    await sync(String(part.Id));
    expect(await row(db, inv.id)).toMatchObject({
      qbo_balance: '200.00',
      qbo_paid_status: 'partially_paid',
      qbo_paid_at: null,
    });

    const rest = await pay(200, '2026-02-20');
    await sync(String(rest.Id));
    expect(await row(db, inv.id)).toMatchObject({
      qbo_balance: '0.00',
      qbo_total: '300.00',
      qbo_paid_status: 'paid',
      qbo_paid_at: '2026-02-20',
      qbo_sync_status: 'synced',
      qbo_version: 1,
    });
  });
});
