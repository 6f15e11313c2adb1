import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from './helpers.ts';
import { seedServicesItem } from './accounting-fixtures.ts';

// What QBO refuses on an invoice before it creates anything: a DocNumber past 21 characters
// (2050, Chargebee KB "QBO Error Code:2050"), and a currency the company cannot record
// (Intuit docs "Manage multiple currencies": home currency only without multicurrency).
let t: TestSandbox;
beforeEach(async () => {
  t = await startTestSandbox({ config: { limits: { enabled: false } } });
});
afterEach(async () => {
  await t.close();
});

type BodyOf = (extra: Record<string, unknown>) => Record<string, unknown>;

/** A Services item and the customer O'Brien & Sons; returns an invoice body builder. */
async function setup(): Promise<BodyOf> {
  const { item } = await seedServicesItem(t);
  const c = await t.api('/customer', { body: { DisplayName: "O'Brien & Sons" } });
  expect(c.status).toBe(200);
  return (extra) => ({
    CustomerRef: { value: c.body.Customer.Id },
    Line: [
      {
        DetailType: 'SalesItemLineDetail',
        Amount: 10,
        SalesItemLineDetail: { ItemRef: { value: item.Id }, Qty: 1, UnitPrice: 10 },
      },
    ],
    ...extra,
  });
}

async function invoiceCount(): Promise<number> {
  const r = await t.api(`/query?query=${encodeURIComponent('select count(*) from Invoice')}`);
  return r.body.QueryResponse.totalCount as number;
}

describe('invoice validation', () => {
  it('a DocNumber of 21 characters is taken and one of 22 is fault 2050, nothing created', async () => {
    const invoiceBody = await setup();
    const ok = await t.api('/invoice', { body: invoiceBody({ DocNumber: 'A'.repeat(21) }) });
    expect(ok.status).toBe(200);
    expect(ok.body.Invoice.DocNumber).toBe('A'.repeat(21));
    const before = await invoiceCount();
    const long = await t.api('/invoice', { body: invoiceBody({ DocNumber: 'B'.repeat(22) }) });
    expect(long.status).toBe(400);
    expect(long.body.Fault.Error[0].code).toBe('2050');
    expect(long.body.Fault.Error[0].Detail).toContain('Max:21');
    expect(await invoiceCount()).toBe(before);
  });

  it('a currency other than the home currency is refused while multicurrency is off', async () => {
    const invoiceBody = await setup();
    const before = await invoiceCount();
    const r = await t.api('/invoice', { body: invoiceBody({ CurrencyRef: { value: 'EUR' } }) });
    expect(r.status).toBe(400);
    expect(r.body.Fault.Error[0].code).toBe('6000');
    expect(r.body.Fault.Error[0].Detail).toContain('EUR');
    expect(await invoiceCount()).toBe(before);
    const usd = await t.api('/invoice', { body: invoiceBody({ CurrencyRef: { value: 'USD' } }) });
    expect(usd.status).toBe(200);
    expect(usd.body.Invoice.CurrencyRef.value).toBe('USD');
  });

  it("a second customer named O'Brien & Sons is 6240, and a query with \\' finds the one", async () => {
    await setup();
    const dup = await t.api('/customer', { body: { DisplayName: "o'brien & sons" } });
    expect(dup.status).toBe(400);
    expect(dup.body.Fault.Error[0].code).toBe('6240');
    const q = "select * from Customer where DisplayName = 'O\\'Brien & Sons'";
    const found = await t.api(`/query?query=${encodeURIComponent(q)}`);
    expect(found.body.QueryResponse.Customer).toHaveLength(1);
  });
});
