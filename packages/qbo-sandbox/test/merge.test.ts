// Merging names through the control API, as a QuickBooks user merges duplicates in QBO's UI:
// what the Accounting API, CDC and the webhooks show afterwards.
import { afterEach, describe, expect, it } from 'vitest';
import { seed, seedServicesItem } from './accounting-fixtures.ts';
import { startTestSandbox, type TestSandbox } from './helpers.ts';
import { startReceiver } from './webhooks-receiver.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function start(): Promise<TestSandbox> {
  const t = await startTestSandbox({
    config: { limits: { enabled: false }, webhooks: { batchDelayMs: 20, retryScale: 0.001 } },
  });
  cleanups.push(() => t.close());
  return t;
}

async function merge(t: TestSandbox, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.sandbox.url}/_sandbox/companies/${t.realmId}/merge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** An invoice of one line of `itemId` for `customerId`. */
function invoiceOf(t: TestSandbox, customerId: string, itemId: string, amount: number) {
  return seed(t, 'Invoice', {
    CustomerRef: { value: customerId },
    Line: [
      {
        Amount: amount,
        DetailType: 'SalesItemLineDetail',
        SalesItemLineDetail: { ItemRef: { value: itemId } },
      },
    ],
  });
}

describe('merging names', () => {
  it('moves the loser’s transactions to the survivor, removes the loser, and CDC reports it deleted', async () => {
    const t = await start();
    const { item } = await seedServicesItem(t);
    const keep = await seed(t, 'Customer', { DisplayName: 'Acme Corp' });
    const lose = await seed(t, 'Customer', { DisplayName: 'ACME Corporation' });
    const invoice = await invoiceOf(t, lose.Id, item.Id, 120);
    const payment = await seed(t, 'Payment', {
      CustomerRef: { value: lose.Id },
      TotalAmt: 50,
      Line: [{ Amount: 50, LinkedTxn: [{ TxnId: invoice.Id, TxnType: 'Invoice' }] }],
    });
    const before = t.sandbox.state.clock.now() - 1000;
    const rx = await startReceiver();
    cleanups.push(() => rx.close());
    t.app.webhookUrl = rx.url;

    const r = await merge(t, { entity: 'Customer', survivorId: keep.Id, loserId: lose.Id });
    expect(r.status).toBe(200);
    expect(r.body.deletedId).toBe(lose.Id);
    expect(r.body.repointed).toEqual({ Invoice: [invoice.Id], Payment: [payment.Id] });
    expect(r.body.Customer).toMatchObject({ Id: keep.Id, SyncToken: '1', Balance: 70 });

    // The loser is gone from reads and queries; the survivor holds its transactions.
    const read = await t.api(`/customer/${lose.Id}`);
    expect(read.status).toBe(400);
    expect(read.body.Fault.Error[0].code).toBe('610');
    const all = await t.api(
      `/query?query=${encodeURIComponent('select * from Customer where Active in (true,false)')}`,
    );
    expect(all.body.QueryResponse.Customer.map((c: any) => c.Id)).toEqual([keep.Id]);
    const inv = (await t.api(`/invoice/${invoice.Id}`)).body.Invoice;
    expect(inv.CustomerRef).toEqual({ value: keep.Id, name: 'Acme Corp' });
    expect(Number(inv.SyncToken)).toBeGreaterThan(Number(invoice.SyncToken));
    expect(inv.Balance).toBe(70);
    const pay = (await t.api(`/payment/${payment.Id}`)).body.Payment;
    expect(pay.CustomerRef.value).toBe(keep.Id);

    const cdc = await t.api(
      `/cdc?entities=Customer,Invoice&changedSince=${encodeURIComponent(new Date(before).toISOString())}`,
    );
    const [customers, invoices] = cdc.body.CDCResponse[0].QueryResponse;
    expect(customers.Customer.map((c: any) => [c.Id, c.status ?? 'live'])).toEqual([
      [keep.Id, 'live'],
      [lose.Id, 'Deleted'],
    ]);
    expect(invoices.Invoice.map((i: any) => i.Id)).toContain(invoice.Id);

    // Intuit's Merge notification: the survivor's id, the loser as deletedId.
    const [hit] = await rx.waitFor(1);
    const entities = JSON.parse(hit!.body).eventNotifications[0].dataChangeEvent.entities;
    expect(entities).toContainEqual(
      expect.objectContaining({
        name: 'Customer',
        id: keep.Id,
        operation: 'Merge',
        deletedId: lose.Id,
      }),
    );
    expect(entities).toContainEqual(
      expect.objectContaining({ name: 'Invoice', id: invoice.Id, operation: 'Update' }),
    );
  });

  it('re-points items and accounts wherever they are referenced', async () => {
    const t = await start();
    const income = await seed(t, 'Account', { Name: 'Sales', AccountType: 'Income' });
    const income2 = await seed(t, 'Account', { Name: 'Sales 2', AccountType: 'Income' });
    const item = await seed(t, 'Item', {
      Name: 'Mowing',
      Type: 'Service',
      IncomeAccountRef: { value: income2.Id },
    });
    const dupe = await seed(t, 'Item', {
      Name: 'Mow',
      Type: 'Service',
      IncomeAccountRef: { value: income.Id },
    });
    const customer = await seed(t, 'Customer', { DisplayName: 'Lawn Co' });
    const invoice = await invoiceOf(t, customer.Id, dupe.Id, 10);

    const items = await merge(t, { entity: 'item', survivorId: item.Id, loserId: dupe.Id });
    expect(items.status).toBe(200);
    const line = (await t.api(`/invoice/${invoice.Id}`)).body.Invoice.Line[0];
    expect(line.SalesItemLineDetail.ItemRef).toEqual({ value: item.Id, name: 'Mowing' });

    const accounts = await merge(t, {
      entity: 'Account',
      survivorId: income.Id,
      loserId: income2.Id,
    });
    expect(accounts.status).toBe(200);
    expect(accounts.body.repointed).toEqual({ Item: [item.Id] });
    const mowing = (await t.api(`/item/${item.Id}`)).body.Item;
    expect(mowing.IncomeAccountRef).toEqual({ value: income.Id, name: 'Sales' });
  });

  it('refuses what QuickBooks does not merge, naming the problem, and changes nothing', async () => {
    const t = await start();
    const a = await seed(t, 'Customer', { DisplayName: 'A' });
    const b = await seed(t, 'Customer', { DisplayName: 'B' });
    const job = await seed(t, 'Customer', {
      DisplayName: 'B job',
      ParentRef: { value: b.Id },
      Job: true,
    });
    const inactive = await seed(t, 'Customer', { DisplayName: 'Old', Active: false });
    const bank = await seed(t, 'Account', { Name: 'Bank', AccountType: 'Bank' });
    const sales = await seed(t, 'Account', { Name: 'Sales', AccountType: 'Income' });
    for (const [body, status, message] of [
      [
        { entity: 'Invoice', survivorId: '1', loserId: '2' },
        400,
        /merges Customer, Vendor, Item, Account/,
      ],
      [{ entity: 'Customer', survivorId: a.Id, loserId: a.Id }, 400, /must differ/],
      [{ entity: 'Customer', survivorId: a.Id }, 400, /loserId is required/],
      [{ entity: 'Customer', survivorId: a.Id, loserId: 'x' }, 400, /loserId must be a QBO Id/],
      [{ entity: 'Customer', survivorId: a.Id, loserId: '999' }, 404, /no Customer with Id 999/],
      [{ entity: 'Customer', survivorId: a.Id, loserId: b.Id }, 409, /sub-entries/],
      [{ entity: 'Customer', survivorId: a.Id, loserId: inactive.Id }, 409, /inactive/],
      [{ entity: 'Account', survivorId: bank.Id, loserId: sales.Id }, 409, /AccountType/],
      [{ entity: 'Customer', survivorId: a.Id, loserId: job.Id, why: 1 }, 400, /unknown field/],
    ] as const) {
      const r = await merge(t, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.error_description).toMatch(message);
    }
    expect(t.company.counts().Customer).toBe(4);
    expect(t.company.get('Customer', a.Id)!.SyncToken).toBe('0');
  });
});
