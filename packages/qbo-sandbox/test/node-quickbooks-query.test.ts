import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from './helpers.ts';
import type { EntityName, QboObject } from '../src/core/company.ts';

/**
 * node-quickbooks 2.0.50, unchanged, pointed at the sandbox by its endpoint constant only.
 * It builds lowercase queries (`select * from customer where … startposition 1 maxresults
 * 1000`), pages with fetchAll by comparing `maxResults` with its page size, and sends CDC
 * dates unencoded.
 */
const require = createRequire(import.meta.url);
const QuickBooks: any = require('node-quickbooks');

type Callback = (err: unknown, data: any) => void;
let t: TestSandbox;
let qbo: any;

function call(method: string, ...args: unknown[]): Promise<any> {
  return new Promise((resolve, reject) => {
    // node-quickbooks rejects with the axios error or the Fault body, not always an Error.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const cb: Callback = (err, data) => (err ? reject(err) : resolve(data));
    qbo[method](...args, cb);
  });
}

function put(entity: EntityName, id: string, fields: Record<string, unknown>, at: number): void {
  const meta = { CreateTime: t.company.formatTime(at), LastUpdatedTime: t.company.formatTime(at) };
  const obj = { Id: id, SyncToken: '0', domain: 'QBO', sparse: false, MetaData: meta, ...fields };
  t.company.put(entity, obj as QboObject, at, null);
}

beforeEach(async () => {
  t = await startTestSandbox({ config: { limits: { enabled: false } } });
  QuickBooks.V3_ENDPOINT_BASE_URL = `${t.sandbox.url}/v3/company/`;
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
  const now = t.sandbox.state.clock.now();
  for (let i = 1; i <= 1205; i += 1) {
    const name = `Customer ${String(i).padStart(4, '0')}`;
    put(
      'Customer',
      String(i),
      { DisplayName: name, FullyQualifiedName: name, Active: i !== 7 },
      now - 60_000,
    );
  }
  put(
    'Customer',
    '2000',
    { DisplayName: "O'Brien & Sons", FullyQualifiedName: "O'Brien & Sons", Active: true },
    now - 60_000,
  );
  const inv = (id: string, date: string, at: number) =>
    put('Invoice', id, { TxnDate: date, TotalAmt: 10, CustomerRef: { value: '1' } }, at);
  inv('1', '2024-01-15', now - 50_000);
  inv('2', '2024-02-10', now - 40_000);
  inv('3', '2024-03-05', now - 30_000);
});
afterEach(() => t.close());

describe('node-quickbooks queries against the sandbox', () => {
  it('findCustomers with a criteria object escapes the apostrophe and the ampersand', async () => {
    const data = await call('findCustomers', { DisplayName: "O'Brien & Sons" });
    expect(data.QueryResponse.Customer.map((c: QboObject) => c.Id)).toEqual(['2000']);
    expect(data.QueryResponse).toMatchObject({ startPosition: 1, maxResults: 1 });
  });

  it('findCustomers with a criteria array: LIKE, IN, ordering and paging', async () => {
    const data = await call('findCustomers', [
      { field: 'DisplayName', value: 'Customer 000%', operator: 'LIKE' },
      { field: 'Id', value: ['3', '5', '8', '9'], operator: 'IN' },
      { field: 'desc', value: 'DisplayName' },
      { field: 'limit', value: 2 },
      { field: 'offset', value: 2 },
    ]);
    expect(data.QueryResponse.Customer.map((c: QboObject) => c.Id)).toEqual(['8', '5']);
  });

  it('findCustomers {fetchAll: true} pages through more than 1,000 active customers', async () => {
    const data = await call('findCustomers', { fetchAll: true });
    const ids = data.QueryResponse.Customer.map((c: QboObject) => c.Id);
    expect(ids).toHaveLength(1205);
    expect(new Set(ids).size).toBe(1205);
    expect(ids).not.toContain('7');
    expect(data.QueryResponse.maxResults).toBe(1205);
  });

  it('findCustomers {count: true} answers totalCount', async () => {
    const data = await call('findCustomers', { count: true });
    expect(data.QueryResponse).toEqual({ totalCount: 1205 });
    const all = await call('findCustomers', [
      { field: 'Active', value: [true, false], operator: 'IN' },
      { count: true },
    ]);
    expect(all.QueryResponse).toEqual({ totalCount: 1206 });
  });

  it('findInvoices with date criteria', async () => {
    const data = await call('findInvoices', [
      { field: 'TxnDate', value: '2024-02-01', operator: '>=' },
      { field: 'TxnDate', value: '2024-03-31', operator: '<=' },
      { field: 'asc', value: 'TxnDate' },
    ]);
    expect(data.QueryResponse.Invoice.map((i: QboObject) => i.Id)).toEqual(['2', '3']);
    const since = t.company.formatTime(t.sandbox.state.clock.now() - 45_000);
    const changed = await call('findInvoices', [
      { field: 'MetaData.LastUpdatedTime', value: since, operator: '>' },
    ]);
    expect(changed.QueryResponse.Invoice.map((i: QboObject) => i.Id)).toEqual(['3', '2']);
  });

  it('a bad query comes back as the Fault body', async () => {
    await expect(call('findCustomers', { NoSuchField: 'x' })).rejects.toMatchObject({
      response: { status: 400, data: { Fault: { Error: [{ code: '4001' }] } } },
    });
  });

  it('changeDataCapture with an array and a Date, and with a "+" offset string', async () => {
    const now = t.sandbox.state.clock.now();
    put('Customer', '5', { DisplayName: 'Customer 0005 renamed', Active: false }, now);
    const data = await call('changeDataCapture', ['Customer', 'Invoice'], new Date(now - 35_000));
    const [customers, invoices] = data.CDCResponse[0].QueryResponse;
    expect(customers.Customer.map((c: QboObject) => c.Id)).toEqual(['5']);
    expect(invoices.Invoice.map((i: QboObject) => i.Id)).toEqual(['3']);
    // node-quickbooks puts the string in the URL as is: its "+" arrives as a space.
    const plus = new Date(now - 35_000 + 2 * 3_600_000).toISOString().replace(/\.\d+Z$/, '+02:00');
    const again = await call('changeDataCapture', 'Invoice', plus);
    expect(again.CDCResponse[0].QueryResponse[0].Invoice.map((i: QboObject) => i.Id)).toEqual([
      '3',
    ]);
  });
});
