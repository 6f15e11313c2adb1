// Pushing campaign invoices into a real qbo-sandbox from a real database (PGlite, and
// Postgres when DATABASE_URL is set). QBO's side is counted in the sandbox itself.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { beforeEach, expect, it } from 'vitest';
import { insertCampaignInvoice, forEachDatabase } from '../../../../test/db-helpers.ts';
import { control, injectFault, useSandboxWorld } from '../../../../test/sandbox-world.ts';
import { toJson, type Database } from '../../../db/schema.ts';
import { MemoryRateLimiter } from '../../../infra/rate-limit.ts';
import { systemClock } from '../ports.ts';
import { Writeback, type WritebackDeps } from './writeback.ts';
import type { Kysely } from 'kysely';

const sandboxWorld = useSandboxWorld();

const limiter = new MemoryRateLimiter();
let world: ReturnType<typeof sandboxWorld>;
const logger = pino({ level: 'silent' });

function writeback(db: Kysely<Database>, extra: Partial<WritebackDeps> = {}): Writeback {
  return new Writeback({
    db,
    api: world.client(db, limiter),
    clock: systemClock,
    logger,
    ...extra,
  });
}

/** Invoices QBO holds with this DocNumber (read through the client, as an app would). */
async function invoicesIn(
  db: Kysely<Database>,
  realmId: string,
  docNumber: string,
): Promise<any[]> {
  const res = await world
    .client(db, limiter)
    .query<{ Invoice?: any[] }>(realmId, `select * from Invoice where DocNumber = '${docNumber}'`);
  return res.Invoice ?? [];
}

async function invoiceCount(realmId: string): Promise<number> {
  const res = await control(world.url, 'GET', `/_sandbox/companies/${realmId}`);
  return res.body.counts.Invoice as number;
}

async function row(db: Kysely<Database>, id: string) {
  return db
    .selectFrom('campaign_invoices')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

/** A new company, its invoice count, and one campaign invoice for a new client. */
async function fresh(db: Kysely<Database>, client: string) {
  world = sandboxWorld();
  const realmId = await world.newCompany();
  const before = await invoiceCount(realmId);
  const inv = await insertCampaignInvoice(db, {
    client_name: `${client} ${randomUUID().slice(0, 6)}`,
  });
  return { realmId, before, inv };
}

forEachDatabase((t) => {
  beforeEach(() => {
    world = sandboxWorld();
  });

  it('a campaign invoice becomes one QBO invoice with its exact amounts, dates, number and email', async () => {
    const { db } = t();
    const realmId = await world.newCompany();
    const inv = await insertCampaignInvoice(db, {
      client_name: `Cedar ${randomUUID().slice(0, 6)}`,
      client_email: 'ap@cedar.example',
      invoice_number: `C-${randomUUID().slice(0, 8)}`,
      line_items: toJson([
        { description: 'Three tenths', quantity: '3', unit_price: '0.1', amount: '0.30' },
        {
          description: 'Big',
          quantity: '1',
          unit_price: '12345678901.23',
          amount: '12345678901.23',
        },
      ]),
      subtotal: '12345678901.53',
      total: '12345678901.53',
    });
    const result = await writeback(db).push(realmId, inv.id);
    expect(result.outcome, result.message ?? '').toBe('created');
    const [qbo] = await invoicesIn(db, realmId, inv.invoice_number!);
    expect(qbo.TotalAmt).toBe(12345678901.53);
    expect(qbo.Line.slice(0, 2).map((l: any) => l.Amount)).toEqual([0.3, 12345678901.23]);
    expect(qbo.TxnDate).toBe('2026-02-01');
    expect(qbo.DueDate).toBe('2026-03-03');
    expect(qbo.BillEmail).toEqual({ Address: 'ap@cedar.example' });
    const stored = await row(db, inv.id);
    expect(stored).toMatchObject({
      qbo_sync_status: 'synced',
      qbo_invoice_id: qbo.Id,
      qbo_realm_id: realmId,
      qbo_total: '12345678901.53',
      qbo_balance: '12345678901.53',
      qbo_paid_status: 'unpaid',
      qbo_error_message: null,
    });
    expect(stored.qbo_last_synced_at).toBeInstanceOf(Date);
    expect((await writeback(db).push(realmId, inv.id)).outcome).toBe('unchanged');
  });

  it('an invoice QBO would refuse is marked error with the reason and nothing is sent', async () => {
    const { db } = t();
    const realmId = await world.newCompany();
    const before = await invoiceCount(realmId);
    const cases = [
      { line_items: toJson([]), subtotal: '0.00', total: '0.00' },
      {
        line_items: toJson([
          { description: 'x', quantity: '1', unit_price: '-5', amount: '-5.00' },
        ]),
        subtotal: '-5.00',
        total: '-5.00',
      },
      {
        line_items: toJson([
          { description: 'x', quantity: 'two', unit_price: '1', amount: '2.00' },
        ]),
        subtotal: '2.00',
        total: '2.00',
      },
      { currency: 'XQQ' },
      { currency: 'EUR' },
    ];
    const messages: string[] = [];
    for (const overrides of cases) {
      const inv = await insertCampaignInvoice(db, overrides);
      const result = await writeback(db).push(realmId, inv.id);
      expect(result.outcome).toBe('failed');
      const stored = await row(db, inv.id);
      expect(stored.qbo_sync_status).toBe('error');
      expect(stored.qbo_invoice_id).toBeNull();
      messages.push(stored.qbo_error_message!);
    }
    expect(messages[0]).toMatch(/no lines/);
    expect(messages[1]).toMatch(/unit_price "-5"/);
    expect(messages[2]).toMatch(/quantity "two"/);
    expect(messages[3]).toMatch(/XQQ.*ISO 4217/);
    expect(messages[4]).toMatch(/EUR.*only USD/);
    expect(await invoiceCount(realmId)).toBe(before);
  });

  it('the same invoice pushed twice at once is one invoice in QBO', async () => {
    const { db } = t();
    const { realmId, before, inv } = await fresh(db, 'Twin');
    const [a, b] = await Promise.all([
      writeback(db).push(realmId, inv.id),
      writeback(db).push(realmId, inv.id),
    ]);
    expect([a.outcome, b.outcome].sort()).toEqual(['created', 'created']);
    expect(a.qboInvoiceId).toBe(b.qboInvoiceId);
    expect(await invoiceCount(realmId)).toBe(before + 1);
    expect((await row(db, inv.id)).qbo_sync_status).toBe('synced');
  });

  it('a crash between QBO answer and database write, then a push after QBO forgot the requestid: one invoice', async () => {
    const { db } = t();
    const { realmId, before, inv } = await fresh(db, 'Crash');
    const crashing = writeback(db, {
      afterQboWrite: () => {
        throw new Error('process killed');
      },
    });
    const first = await crashing.push(realmId, inv.id);
    expect(first.outcome).toBe('failed');
    const crashed = await row(db, inv.id);
    expect(crashed.qbo_invoice_id).toBeNull();
    expect(crashed.qbo_request_id).toMatch(/^wb-.*-c1$/);
    expect(await invoiceCount(realmId)).toBe(before + 1);

    // The restarted service pushes again: QBO replays the requestid's answer…
    const again = await writeback(db).push(realmId, inv.id);
    expect(again.outcome).toBe('created');
    expect(await invoiceCount(realmId)).toBe(before + 1);

    // …and once QBO no longer remembers it, the DocNumber look-up finds the invoice.
    const inv2 = await insertCampaignInvoice(db, {
      client_name: `Crash ${randomUUID().slice(0, 6)}`,
    });
    await crashing.push(realmId, inv2.id);
    await control(world.url, 'POST', '/_sandbox/clock', { advanceSeconds: 25 * 3600 });
    try {
      const late = await writeback(db).push(realmId, inv2.id);
      expect(late.outcome, late.message ?? '').toBe('created');
    } finally {
      await control(world.url, 'POST', '/_sandbox/clock', { reset: true });
    }
    expect(await invoiceCount(realmId)).toBe(before + 2);
    expect((await row(db, inv2.id)).qbo_sync_status).toBe('synced');
  });

  it('a lost answer and 5xx on the create are retried under one requestid: one invoice', async () => {
    const { db } = t();
    const { realmId, before, inv } = await fresh(db, 'Lost');
    await injectFault(world.url, {
      kind: 'drop-response',
      count: 1,
      realmId,
      method: 'POST',
      path: '/invoice',
    });
    await injectFault(world.url, {
      kind: 'error',
      status: 503,
      count: 1,
      realmId,
      method: 'POST',
      path: '/invoice',
    });
    const result = await writeback(db).push(realmId, inv.id);
    expect(result.outcome, result.message ?? '').toBe('created');
    expect(await invoiceCount(realmId)).toBe(before + 1);
  });

  it("a customer named O'Brien & Sons is found in QBO, not created a second time", async () => {
    const { db } = t();
    const realmId = await world.newCompany();
    const name = `O'Brien & Sons ${randomUUID().slice(0, 4)}`;
    const existing = await world
      .client(db, limiter)
      .create(realmId, 'Customer', { DisplayName: name }, randomUUID());
    const inv = await insertCampaignInvoice(db, { client_name: name });
    const result = await writeback(db).push(realmId, inv.id);
    expect(result.outcome, result.message ?? '').toBe('created');
    expect((await row(db, inv.id)).qbo_customer_id).toBe(existing.Id);
    const res = await world
      .client(db, limiter)
      .query<{ Customer?: any[] }>(
        realmId,
        `select * from Customer where DisplayName LIKE 'O\\'Brien%'`,
      );
    expect(res.Customer).toHaveLength(1);
  });
});
