import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from './helpers.ts';
import {
  fault,
  recording,
  seed,
  seedServicesItem,
  shapeDiff,
  writable,
} from './accounting-fixtures.ts';

/**
 * Replays real QBO traffic (minimul/qbo_api cassettes) against the sandbox, after creating
 * the data the recorded requests refer to, and compares the answers' shapes and faults.
 */
let t: TestSandbox;
beforeEach(async () => {
  // Request limits are another suite's subject; these tests send bursts on purpose.
  t = await startTestSandbox({ config: { limits: { enabled: false } } });
});
afterEach(async () => {
  await t.close();
});

const relative = (pathAndQuery: string): string =>
  pathAndQuery.replace(/^\/v3\/(company\/\{realmId\}\/)?/, '/');

/** Amy's Bird Sanctuary as the recordings show it (customer 1, address 2). */
async function seedAmy(): Promise<any> {
  const addr = {
    Line1: '4581 Finch St.',
    City: 'Bayshore',
    CountrySubDivisionCode: 'CA',
    PostalCode: '94326',
  };
  return seed(t, 'Customer', {
    DisplayName: "Amy's Bird Sanctuary",
    BillAddr: addr,
    ShipAddr: addr,
  });
}

async function createRecordedInvoice(): Promise<any> {
  await seedAmy();
  await seedServicesItem(t);
  const rec = recording('create/invoice');
  const res = await t.api(relative(rec.request.path_and_query), { body: rec.request.body });
  expect(res.status).toBe(200);
  return res.body.Invoice;
}

// The recorded company defines a custom field ("Crew #") that a new sandbox company lacks.
const COMPANY_SPECIFIC = ['CustomField'];

describe('recorded creates', () => {
  it('creating a customer answers the recorded shape, with a taxable default tax code', async () => {
    await seed(t, 'TaxCode', { Name: 'TAX', Taxable: true });
    const rec = recording('create/customer');
    const res = await t.api(relative(rec.request.path_and_query), { body: rec.request.body });
    expect(res.status).toBe(200);
    expect(shapeDiff(rec.response.body, res.body)).toEqual([]);
    expect(res.body.Customer.DisplayName).toBe('Doe5, Jane');
    expect(res.body.Customer.PrintOnCheckName).toBe('Doe5, Jane');
  });

  it('creating the recorded invoice fills DocNumber, dates, totals and the subtotal line', async () => {
    const rec = recording('create/invoice');
    await seedAmy();
    await seedServicesItem(t);
    const res = await t.api(relative(rec.request.path_and_query), { body: rec.request.body });
    expect(res.status).toBe(200);
    expect(shapeDiff(rec.response.body, res.body, COMPANY_SPECIFIC)).toEqual([]);
    const inv = res.body.Invoice;
    expect(inv.TotalAmt).toBe(100);
    expect(inv.Balance).toBe(100);
    expect(inv.Line[1]).toEqual({
      Amount: 100,
      DetailType: 'SubTotalLineDetail',
      SubTotalLineDetail: {},
    });
    expect(inv.CustomerRef).toEqual({ value: '1', name: "Amy's Bird Sanctuary" });
  });
});

describe('recorded reads and updates', () => {
  it('reading a customer by id answers the recorded shape', async () => {
    await seed(t, 'TaxCode', { Name: 'TAX', Taxable: true });
    const rec = recording('get/id');
    const c = rec.response.body.Customer;
    const created = await seed(
      t,
      'Customer',
      writable(c, [
        'GivenName',
        'FamilyName',
        'CompanyName',
        'DisplayName',
        'PrimaryPhone',
        'PrimaryEmailAddr',
      ]),
    );
    await control(created.Id, created.SyncToken, {
      BillAddr: {
        Line1: '25 Court St.',
        City: 'Tucson',
        CountrySubDivisionCode: 'AZ',
        PostalCode: '85719',
      },
      ShipAddr: {
        Line1: '25 Court St.',
        City: 'Tucson',
        CountrySubDivisionCode: 'AZ',
        PostalCode: '85719',
      },
    });
    const res = await t.api(`/customer/${created.Id}`);
    expect(res.status).toBe(200);
    expect(shapeDiff(rec.response.body, res.body)).toEqual([]);
    expect(res.body.Customer.SyncToken).toBe('1');
  });

  it('an update without the sparse flag answers the recorded shape and bumps SyncToken', async () => {
    await seed(t, 'TaxCode', { Name: 'TAX', Taxable: true });
    const created = await seed(t, 'Customer', { DisplayName: 'Doe2, Jane' });
    const read = await t.api(`/customer/${created.Id}?minorversion=8`);
    expect(shapeDiff(recording('update/customer-1').response.body, read.body)).toEqual([]);
    const rec = recording('update/customer-2');
    const res = await t.api('/customer?minorversion=8', {
      body: { ...rec.request.body, Id: created.Id, SyncToken: '0' },
    });
    expect(res.status).toBe(200);
    expect(shapeDiff(rec.response.body, res.body)).toEqual([]);
    expect(res.body.Customer).toMatchObject({
      SyncToken: '1',
      DisplayName: 'Jack Moe',
      FullyQualifiedName: 'Jack Moe',
      PrimaryPhone: { FreeFormNumber: '(415) 444-1234' },
    });
    expect(res.body.Customer.MetaData.CreateTime).toBe(created.MetaData.CreateTime);
  });
});

/** Sparse update through the control API, as a QuickBooks user editing the record. */
async function control(id: string, syncToken: string, fields: Record<string, unknown>) {
  const r = await fetch(`${t.sandbox.url}/_sandbox/companies/${t.realmId}/entities/customer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      operation: 'update',
      body: { Id: id, SyncToken: syncToken, sparse: true, ...fields },
    }),
  });
  expect(r.status).toBe(200);
}

describe('recorded deactivations', () => {
  it('deactivating an account renames it "(deleted)" and repeating it changes nothing', async () => {
    const acct = await seed(t, 'Account', {
      Name: 'Fees Billed',
      AccountType: 'Income',
      AccountSubType: 'ServiceFeeIncome',
    });
    const off = await t.api('/account', {
      body: { Id: acct.Id, SyncToken: acct.SyncToken, sparse: true, Active: false },
    });
    expect(off.body.Account).toMatchObject({
      Name: 'Fees Billed (deleted)',
      FullyQualifiedName: 'Fees Billed (deleted)',
      Active: false,
      SyncToken: '1',
    });
    const read = await t.api(`/account/${acct.Id}`);
    expect(shapeDiff(recording('deactivate/account-1').response.body, read.body)).toEqual([]);
    const rec = recording('deactivate/account-2');
    const again = await t.api('/account', { body: { ...rec.request.body, Id: acct.Id } });
    expect(again.status).toBe(200);
    expect(shapeDiff(rec.response.body, again.body)).toEqual([]);
    expect(again.body.Account.SyncToken).toBe('1');
    expect(again.body.Account.MetaData).toEqual(off.body.Account.MetaData);
  });

  it('deactivating an employee suffixes DisplayName but not PrintOnCheckName', async () => {
    const emp = await seed(t, 'Employee', { GivenName: 'Emily', FamilyName: 'Platt' });
    const rec = recording('deactivate/employee-2');
    const off = await t.api('/employee', {
      body: { ...rec.request.body, Id: emp.Id, SyncToken: emp.SyncToken },
    });
    expect(off.status).toBe(200);
    expect(shapeDiff(recording('deactivate/employee-1').response.body, off.body)).toEqual([]);
    expect(off.body.Employee).toMatchObject({
      DisplayName: 'Emily Platt (deleted)',
      PrintOnCheckName: 'Emily Platt',
      Active: false,
    });
  });
});

describe('recorded delete and void', () => {
  it('deleting an invoice answers the recorded tombstone and the invoice is gone', async () => {
    const inv = await createRecordedInvoice();
    const read = await t.api(`/invoice/${inv.Id}`);
    expect(
      shapeDiff(recording('delete/invoice-1').response.body, read.body, COMPANY_SPECIFIC),
    ).toEqual([]);
    const rec = recording('delete/invoice-2');
    const res = await t.api(relative(rec.request.path_and_query), {
      body: { Id: inv.Id, SyncToken: inv.SyncToken },
    });
    expect(res.status).toBe(200);
    expect(shapeDiff(rec.response.body, res.body)).toEqual([]);
    expect(res.body.Invoice).toEqual({ domain: 'QBO', status: 'Deleted', Id: inv.Id });
    const gone = await t.api(`/invoice/${inv.Id}`);
    expect(gone.status).toBe(400);
    expect(fault(gone.body).code).toBe('610');
  });

  it('voiding an invoice zeroes its amounts as recorded', async () => {
    const inv = await createRecordedInvoice();
    const rec = recording('void/invoice-2');
    const res = await t.api('/invoice?operation=void', {
      body: { Id: inv.Id, SyncToken: inv.SyncToken },
    });
    expect(res.status).toBe(200);
    expect(shapeDiff(rec.response.body, res.body, COMPANY_SPECIFIC)).toEqual([]);
    expect(res.body.Invoice).toMatchObject({
      SyncToken: '1',
      PrivateNote: 'Voided',
      TotalAmt: 0,
      Balance: 0,
      DocNumber: inv.DocNumber,
    });
    expect(res.body.Invoice.Line.map((l: any) => l.Amount)).toEqual([0, 0]);
  });
});

describe('recorded faults', () => {
  it('an unknown property on an invoice is fault 2010 naming the field and known properties', async () => {
    const rec = recording('error/400_json');
    const res = await t.api(relative(rec.request.path_and_query), { body: rec.request.body });
    expect(res.status).toBe(400);
    expect(shapeDiff(rec.response.body, res.body)).toEqual([]);
    const expected = fault(rec.response.body);
    const got = fault(res.body);
    expect(got.Message).toBe(expected.Message);
    const prefix =
      'Property Name:Unrecognized field "BadJson" (class com.intuit.schema.finance.v3.Invoice), not marked as ignorable (';
    expect(got.Detail.startsWith(prefix)).toBe(true);
    expect(got.Detail).toMatch(/ \[truncated\]\]\)\n specified is unsupported or invalid$/);
  });

  it('a non-numeric id is fault 2030 with the recorded message', async () => {
    const rec = recording('error/500-2');
    const res = await t.api('/customer/1.5');
    expect(res.status).toBe(400);
    expect(fault(res.body)).toEqual(fault(rec.response.body));
  });

  it('an unknown path is fault 500 Unsupported Operation', async () => {
    const res = await t.api('/customer/1/5');
    expect(res.status).toBe(400);
    expect(fault(res.body).code).toBe(fault(recording('error/500-1').response.body).code);
  });

  it('a second customer with the same DisplayName is fault 6240 as recorded', async () => {
    const rec = recording('error/validation');
    await t.api('/customer', { body: rec.request.body });
    const res = await t.api(relative(rec.request.path_and_query), { body: rec.request.body });
    expect(res.status).toBe(400);
    expect(res.body.Fault).toEqual(rec.response.body.Fault);
  });
});
