import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from './helpers.ts';
import { seedCompany } from '../src/seed/generate.ts';
import { runQuery } from '../src/query/run.ts';

/**
 * Query pages are assembled from each stored object's cached JSON text: the bytes must be
 * what serialising the whole body gives, and a write must show in the next page.
 */
let t: TestSandbox;

beforeAll(async () => {
  t = await startTestSandbox({ config: { limits: { enabled: false } } });
  seedCompany(t.company, { seed: 5, entities: 3000 });
  // Non-ASCII text, so the page's byte length differs from its length in characters.
  const created = await t.api('/customer', {
    body: { DisplayName: 'Café Ünïcode ✓ 株式会社', Notes: 'naïve "quoted" \\ back\nslash' },
  });
  expect(created.status).toBe(200);
});
afterAll(() => t.close());

async function page(text: string) {
  return t.api(`/query?minorversion=75&query=${encodeURIComponent(text)}`);
}

async function pageOf(text: string): Promise<Record<string, any>[]> {
  const res = await page(text);
  expect(res.status).toBe(200);
  return Object.values(res.body.QueryResponse).find(Array.isArray) as Record<string, any>[];
}

describe('query pages from cached entity texts', () => {
  it.each([
    'select * from Invoice orderby Id startposition 1 maxresults 1000',
    'select * from Invoice orderby Id startposition 1001 maxresults 1000',
    'select * from Invoice',
    'select * from Payment orderby MetaData.LastUpdatedTime desc maxresults 50',
    'select * from Customer maxresults 1000',
    "select * from Customer where DisplayName like 'Caf%'",
    'select * from Customer where Active in (true, false) startposition 3 maxresults 7',
    'select Id, DisplayName from Vendor',
    'select count(*) from Invoice',
    'select * from Invoice startposition 99999',
  ])('%s is byte for byte the serialised body', async (query) => {
    const res = await page(query);
    expect(res.status).toBe(200);
    const time = (JSON.parse(res.text) as { time: string }).time;
    const ctx = { state: t.sandbox.state, config: t.sandbox.config };
    expect(res.text).toBe(JSON.stringify({ ...runQuery(ctx, t.company, query), time }));
    expect(res.headers.get('content-type')).toBe('application/json;charset=utf-8');
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(res.text));
  });

  it("a changed entity's next page shows the change", async () => {
    const query = 'select * from Invoice orderby Id startposition 1 maxresults 20';
    const before = await pageOf(query);
    const inv = before[0]!;
    const upd = await t.api('/invoice', {
      body: { Id: inv.Id, SyncToken: inv.SyncToken, sparse: true, PrivateNote: 'changed' },
    });
    expect(upd.status).toBe(200);
    const after = (await pageOf(query))[0]!;
    expect(after).toEqual(upd.body.Invoice);
    expect(after).toMatchObject({ PrivateNote: 'changed', SyncToken: upd.body.Invoice.SyncToken });
    expect(after.SyncToken).not.toBe(inv.SyncToken);

    // A payment changes the invoice's Balance through the balance refresh, not the write.
    const open = (await pageOf(query)).find((i) => i.Balance > 1)!;
    const pay = await t.api('/payment', {
      body: {
        CustomerRef: open.CustomerRef,
        TotalAmt: 1,
        Line: [{ Amount: 1, LinkedTxn: [{ TxnId: open.Id, TxnType: 'Invoice' }] }],
      },
    });
    expect(pay.status).toBe(200);
    const paid = (await pageOf(query)).find((i) => i.Id === open.Id)!;
    expect(paid.Balance).toBeCloseTo(open.Balance - 1, 2);
    expect(paid.LinkedTxn).toContainEqual({ TxnId: pay.body.Payment.Id, TxnType: 'Payment' });

    // The customer's balance is rewritten in place of the stored object, without a version.
    const customers = "select * from Customer where Id = '" + String(open.CustomerRef.value) + "'";
    const [customer] = await pageOf(customers);
    const read = (await t.api(`/customer/${open.CustomerRef.value}`)).body.Customer;
    expect(customer).toEqual(read);
  });
});
