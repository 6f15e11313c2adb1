import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from './helpers.ts';

/**
 * Conformance with node-quickbooks 2.0.50, unchanged: only its endpoint base URL points
 * at the sandbox (it reads `QuickBooks.V3_ENDPOINT_BASE_URL` in its constructor).
 */
const require = createRequire(import.meta.url);
const QuickBooks = require('node-quickbooks');

let t: TestSandbox;
let qbo: any;

beforeEach(async () => {
  // Request limits are another suite's subject; these tests send bursts on purpose.
  t = await startTestSandbox({ config: { limits: { enabled: false } } });
  QuickBooks.V3_ENDPOINT_BASE_URL = `${t.sandbox.url}/v3/company/`;
  // (consumerKey, consumerSecret, token, tokenSecret, realmId, useSandbox, debug,
  //  minorversion, oauthversion, refreshToken)
  qbo = new QuickBooks(
    t.app.clientId,
    t.app.clientSecret,
    t.accessToken,
    false,
    t.realmId,
    true,
    false,
    75,
    '2.0',
    t.refreshToken,
  );
});
afterEach(async () => {
  await t.close();
});

/** Calls a node-quickbooks method and settles with its callback's (err, data). */
function call(method: string, ...args: unknown[]): Promise<{ err: any; data: any }> {
  return new Promise((resolve) => {
    qbo[method](...args, (err: any, data: any) => resolve({ err, data }));
  });
}

async function ok(method: string, ...args: unknown[]): Promise<any> {
  const { err, data } = await call(method, ...args);
  if (err)
    throw new Error(`${method}: ${JSON.stringify(err.response?.data ?? err.Fault ?? String(err))}`);
  return data;
}

/** The QBO fault node-quickbooks hands back (axios error with the response body). */
const faultCode = (err: any): string | undefined =>
  (err?.response?.data ?? err)?.Fault?.Error?.[0]?.code;

async function salesSetup() {
  const account = await ok('createAccount', { Name: 'Sales', AccountType: 'Income' });
  const item = await ok('createItem', {
    Name: 'Consulting',
    Type: 'Service',
    IncomeAccountRef: { value: account.Id },
  });
  const customer = await ok('createCustomer', { DisplayName: 'Golden Gate Books' });
  return { account, item, customer };
}

const line = (itemId: string, qty: number, price: number) => ({
  DetailType: 'SalesItemLineDetail',
  Amount: Math.round(qty * price * 100) / 100,
  SalesItemLineDetail: { ItemRef: { value: itemId }, Qty: qty, UnitPrice: price },
});

describe('node-quickbooks against the sandbox', () => {
  it('creates, reads and updates a customer (sparse, then full)', async () => {
    const created = await ok('createCustomer', {
      DisplayName: 'Maple Dental Care',
      Notes: 'first',
      PrimaryEmailAddr: { Address: 'desk@maple.example' },
    });
    expect(created).toMatchObject({ SyncToken: '0', Active: true, Balance: 0 });
    const read = await ok('getCustomer', created.Id);
    expect(read).toEqual(created);
    const sparse = await ok('updateCustomer', {
      Id: read.Id,
      SyncToken: read.SyncToken,
      Notes: 'second',
    });
    expect(sparse).toMatchObject({
      SyncToken: '1',
      Notes: 'second',
      PrimaryEmailAddr: { Address: 'desk@maple.example' },
    });
    const { PrimaryEmailAddr: _dropped, ...withoutEmail } = sparse;
    const full = await ok('updateCustomer', {
      ...withoutEmail,
      sparse: false,
      DisplayName: 'Maple Dental',
    });
    expect(full).toMatchObject({ SyncToken: '2', DisplayName: 'Maple Dental', Notes: 'second' });
    expect(full.PrimaryEmailAddr).toBeUndefined();
  });

  it('creates an invoice with computed totals, DocNumber and DueDate, and applies a payment', async () => {
    const { item, customer } = await salesSetup();
    const invoice = await ok('createInvoice', {
      CustomerRef: { value: customer.Id },
      TxnDate: '2024-03-01',
      Line: [line(item.Id, 3, 19.99), line(item.Id, 1, 0.03)],
    });
    expect(invoice).toMatchObject({
      TotalAmt: 60,
      Balance: 60,
      DueDate: '2024-03-31',
      EmailStatus: 'NotSet',
      PrintStatus: 'NeedToPrint',
    });
    expect(invoice.DocNumber).toMatch(/^\d+$/);
    expect(invoice.Line.at(-1)).toMatchObject({ DetailType: 'SubTotalLineDetail', Amount: 60 });
    const payment = await ok('createPayment', {
      CustomerRef: { value: customer.Id },
      TotalAmt: 25,
      Line: [{ Amount: 25, LinkedTxn: [{ TxnId: invoice.Id, TxnType: 'Invoice' }] }],
    });
    expect(payment).toMatchObject({ TotalAmt: 25, UnappliedAmt: 0 });
    expect((await ok('getInvoice', invoice.Id)).Balance).toBe(35);
    expect((await ok('getCustomer', customer.Id)).Balance).toBe(35);

    const voided = await ok('voidPayment', { ...payment });
    expect(voided).toMatchObject({ TotalAmt: 0, PrivateNote: 'Voided' });
    expect((await ok('getInvoice', invoice.Id)).Balance).toBe(60);
  });

  it('voids an invoice by id and deletes another', async () => {
    const { item, customer } = await salesSetup();
    const a = await ok('createInvoice', {
      CustomerRef: { value: customer.Id },
      Line: [line(item.Id, 1, 10)],
    });
    const voided = await call('voidInvoice', a.Id);
    expect(voided.err).toBeNull();
    expect(voided.data.Invoice).toMatchObject({
      TotalAmt: 0,
      Balance: 0,
      PrivateNote: 'Voided',
      SyncToken: '1',
    });
    const b = await ok('createInvoice', {
      CustomerRef: { value: customer.Id },
      Line: [line(item.Id, 2, 10)],
    });
    const deleted = await call('deleteInvoice', b.Id);
    expect(deleted.err).toBeNull();
    expect(deleted.data.Invoice).toEqual({ domain: 'QBO', status: 'Deleted', Id: b.Id });
    const gone = await call('getInvoice', b.Id);
    expect(faultCode(gone.err)).toBe('610');
    expect((await ok('getCustomer', customer.Id)).Balance).toBe(0);
  });

  it('hands back QBO faults: stale SyncToken 5010, duplicate name 6240, bad reference 2500', async () => {
    const { customer } = await salesSetup();
    await ok('updateCustomer', { Id: customer.Id, SyncToken: customer.SyncToken, Notes: 'x' });
    const stale = await call('updateCustomer', {
      Id: customer.Id,
      SyncToken: customer.SyncToken,
      Notes: 'y',
    });
    expect(stale.err.response.status).toBe(400);
    expect(faultCode(stale.err)).toBe('5010');
    const dup = await call('createVendor', { DisplayName: 'Golden Gate Books' });
    expect(faultCode(dup.err)).toBe('6240');
    const badRef = await call('createInvoice', {
      CustomerRef: { value: customer.Id },
      Line: [line('999', 1, 1)],
    });
    expect(badRef.err.response.data.Fault.Error[0]).toMatchObject({
      code: '2500',
      element: 'Line.SalesItemLineDetail.ItemRef',
    });
  });

  it('reads CompanyInfo and Preferences', async () => {
    const info = await ok('getCompanyInfo', t.realmId);
    expect(info).toMatchObject({ CompanyName: 'Test Company', Country: 'US' });
    const prefs = await ok('getPreferences');
    expect(prefs.CurrencyPrefs.HomeCurrency.value).toBe('USD');
  });
});
