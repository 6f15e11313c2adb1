import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from './helpers.ts';
import { control, fault, seed, seedServicesItem } from './accounting-fixtures.ts';
import type { ChangeEvent } from '../src/core/company.ts';

let t: TestSandbox;
let events: ChangeEvent[];
beforeEach(async () => {
  // Request limits are another suite's subject; these tests send bursts on purpose.
  t = await startTestSandbox({ config: { limits: { enabled: false } } });
  events = [];
  t.sandbox.state.onChange((e) => events.push(e));
});
afterEach(async () => {
  await t.close();
});

async function customer(name = 'Cedar Bakery'): Promise<any> {
  const r = await t.api('/customer', { body: { DisplayName: name } });
  expect(r.status).toBe(200);
  return r.body.Customer;
}

async function invoice(customerId: string, itemId: string, lines: any[], extra = {}): Promise<any> {
  const r = await t.api('/invoice', {
    body: {
      CustomerRef: { value: customerId },
      Line: lines.map((l) => ({
        DetailType: 'SalesItemLineDetail',
        ...l,
        SalesItemLineDetail: { ItemRef: { value: itemId }, ...l.SalesItemLineDetail },
      })),
      ...extra,
    },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.Invoice;
}

describe('money and computed invoice fields', () => {
  it('three lines of 0.1, 0.2 and 0.7 (qty × price) total exactly 1', async () => {
    const { item } = await seedServicesItem(t);
    const c = await customer();
    const inv = await invoice(c.Id, item.Id, [
      { SalesItemLineDetail: { Qty: 1, UnitPrice: 0.1 } },
      { SalesItemLineDetail: { Qty: 2, UnitPrice: 0.1 } },
      { SalesItemLineDetail: { Qty: 7, UnitPrice: 0.1 } },
    ]);
    expect(inv.Line.map((l: any) => l.Amount)).toEqual([0.1, 0.2, 0.7, 1]);
    expect(inv.TotalAmt).toBe(1);
    expect(inv.Balance).toBe(1);
  });

  it('an Amount that disagrees with Qty × UnitPrice is fault 6070', async () => {
    const { item } = await seedServicesItem(t);
    const c = await customer();
    const r = await t.api('/invoice', {
      body: {
        CustomerRef: { value: c.Id },
        Line: [
          {
            Amount: 5,
            DetailType: 'SalesItemLineDetail',
            SalesItemLineDetail: { ItemRef: { value: item.Id }, Qty: 2, UnitPrice: 3 },
          },
        ],
      },
    });
    expect(r.status).toBe(400);
    expect(fault(r.body).code).toBe('6070');
  });

  it('DocNumber counts up, accepts a custom number, and refuses a duplicate unless allowed', async () => {
    const { item } = await seedServicesItem(t);
    const c = await customer();
    const a = await invoice(c.Id, item.Id, [{ Amount: 10 }]);
    const b = await invoice(c.Id, item.Id, [{ Amount: 10 }]);
    expect(Number(b.DocNumber)).toBe(Number(a.DocNumber) + 1);
    const custom = await invoice(c.Id, item.Id, [{ Amount: 10 }], { DocNumber: 'INV-7' });
    expect(custom.DocNumber).toBe('INV-7');
    const dup = await t.api('/invoice', {
      body: { CustomerRef: { value: c.Id }, DocNumber: 'INV-7', Line: custom.Line.slice(0, 1) },
    });
    expect(fault(dup.body).code).toBe('6140');
    const allowed = await t.api('/invoice?include=allowduplicatedocnum', {
      body: { CustomerRef: { value: c.Id }, DocNumber: 'INV-7', Line: custom.Line.slice(0, 1) },
    });
    expect(allowed.status).toBe(200);
  });

  it('DueDate follows the invoice terms, else 30 days after TxnDate', async () => {
    const { item } = await seedServicesItem(t);
    const c = await customer();
    const net10 = await seed(t, 'Term', { Name: 'Net 10', DueDays: 10 });
    const withTerm = await invoice(c.Id, item.Id, [{ Amount: 1 }], {
      TxnDate: '2024-01-25',
      SalesTermRef: { value: net10.Id },
    });
    expect(withTerm.DueDate).toBe('2024-02-04');
    const plain = await invoice(c.Id, item.Id, [{ Amount: 1 }], { TxnDate: '2024-02-15' });
    expect(plain.DueDate).toBe('2024-03-16');
  });
});

describe('updates', () => {
  it('a sparse update changes only the fields sent; a full update clears the others', async () => {
    const c = await t.api('/customer', {
      body: { DisplayName: 'Harbor Florist', Notes: 'VIP', PrimaryPhone: { FreeFormNumber: '1' } },
    });
    const { Id, SyncToken } = c.body.Customer;
    const sparse = await t.api('/customer', {
      body: { Id, SyncToken, sparse: true, Notes: 'regular' },
    });
    expect(sparse.body.Customer).toMatchObject({
      SyncToken: '1',
      Notes: 'regular',
      PrimaryPhone: { FreeFormNumber: '1' },
    });
    const full = await t.api('/customer?operation=update', {
      body: { Id, SyncToken: '1', DisplayName: 'Harbor Florist' },
    });
    expect(full.body.Customer.SyncToken).toBe('2');
    expect(full.body.Customer.Notes).toBeUndefined();
    expect(full.body.Customer.PrimaryPhone).toBeUndefined();
    expect(events.filter((e) => e.entity === 'Customer').map((e) => e.operation)).toEqual([
      'Create',
      'Update',
      'Update',
    ]);
  });

  it('an update with an old SyncToken is fault 5010 and changes nothing', async () => {
    const c = await customer();
    await t.api('/customer', { body: { Id: c.Id, SyncToken: '0', sparse: true, Notes: 'x' } });
    const stale = await t.api('/customer', {
      body: { Id: c.Id, SyncToken: '0', sparse: true, Notes: 'y' },
    });
    expect(stale.status).toBe(400);
    expect(fault(stale.body).code).toBe('5010');
    expect((await t.api(`/customer/${c.Id}`)).body.Customer.Notes).toBe('x');
  });

  it('a change made in QuickBooks (control API) makes the client’s copy stale', async () => {
    const c = await customer();
    const edit = await control(
      t,
      'Customer',
      { Id: c.Id, SyncToken: '0', sparse: true, Notes: 'by user' },
      'update',
    );
    expect(edit.status).toBe(200);
    const r = await t.api('/customer', { body: { ...c, Notes: 'by app' } });
    expect(fault(r.body).code).toBe('5010');
  });
});

describe('name lists', () => {
  it('deactivating a customer renames it "(deleted)", reports Delete, and frees the name', async () => {
    const c = await customer('Thrifty Meats');
    const off = await t.api('/customer', {
      body: { Id: c.Id, SyncToken: c.SyncToken, sparse: true, Active: false },
    });
    expect(off.body.Customer).toMatchObject({
      Active: false,
      DisplayName: 'Thrifty Meats (deleted)',
      FullyQualifiedName: 'Thrifty Meats (deleted)',
      PrintOnCheckName: 'Thrifty Meats',
      SyncToken: '1',
    });
    expect(events.at(-1)).toMatchObject({ entity: 'Customer', id: c.Id, operation: 'Delete' });
    expect((await t.api('/customer', { body: { DisplayName: 'Thrifty Meats' } })).status).toBe(200);
  });

  it('a name list cannot be deleted: operation=delete is Unsupported Operation', async () => {
    const c = await customer();
    const r = await t.api('/customer?operation=delete', {
      body: { Id: c.Id, SyncToken: c.SyncToken },
    });
    expect(r.status).toBe(400);
    expect(fault(r.body)).toMatchObject({ code: '500', Message: 'Unsupported Operation' });
  });

  it('customers, vendors and employees share one name space (6240)', async () => {
    await customer('Summit Roofing');
    const v = await t.api('/vendor', { body: { DisplayName: 'summit roofing' } });
    expect(fault(v.body).code).toBe('6240');
    const e = await t.api('/employee', { body: { DisplayName: 'Summit Roofing' } });
    expect(fault(e.body).code).toBe('6240');
  });

  it('a customer without any name part is fault 6080', async () => {
    const r = await t.api('/customer', { body: { CompanyName: 'Nameless Inc.' } });
    expect(fault(r.body).code).toBe('6080');
  });

  it('a service item needs a Name and an income account (2020)', async () => {
    const noName = await t.api('/item', { body: { Type: 'Service' } });
    expect(fault(noName.body)).toMatchObject({ code: '2020', element: 'Name' });
    const noAccount = await t.api('/item', { body: { Name: 'Hours', Type: 'Service' } });
    expect(fault(noAccount.body)).toMatchObject({ code: '2020', element: 'IncomeAccountRef' });
  });
});

describe('references and required fields', () => {
  it('an invoice needs CustomerRef and Line (2020)', async () => {
    const noCustomer = await t.api('/invoice', { body: { Line: [] } });
    expect(fault(noCustomer.body)).toMatchObject({ code: '2020', element: 'CustomerRef' });
    const c = await customer();
    const noLine = await t.api('/invoice', { body: { CustomerRef: { value: c.Id } } });
    expect(fault(noLine.body)).toMatchObject({ code: '2020', element: 'Line' });
  });

  it('a missing item is 2500 naming the reference; an inactive customer is 2500 too', async () => {
    const c = await customer();
    const r = await t.api('/invoice', {
      body: {
        CustomerRef: { value: c.Id },
        Line: [
          {
            Amount: 1,
            DetailType: 'SalesItemLineDetail',
            SalesItemLineDetail: { ItemRef: { value: '999' } },
          },
        ],
      },
    });
    expect(fault(r.body)).toMatchObject({
      code: '2500',
      element: 'Line.SalesItemLineDetail.ItemRef',
    });
    const { item } = await seedServicesItem(t);
    await t.api('/customer', { body: { Id: c.Id, SyncToken: '0', sparse: true, Active: false } });
    const inactive = await t.api('/invoice', {
      body: {
        CustomerRef: { value: c.Id },
        Line: [
          {
            Amount: 1,
            DetailType: 'SalesItemLineDetail',
            SalesItemLineDetail: { ItemRef: { value: item.Id } },
          },
        ],
      },
    });
    expect(fault(inactive.body)).toMatchObject({ code: '2500', element: '' });
  });

  it('malformed JSON and a non-object body are 2010 faults, never a crash', async () => {
    for (const body of ['{"DisplayName": ', '[1,2]', '"text"', '']) {
      const r = await t.api('/customer', { method: 'POST', body, contentType: 'application/json' });
      expect(r.status, body).toBe(400);
      expect(fault(r.body).code).toBe('2010');
    }
    const ref = await t.api('/invoice', { body: { CustomerRef: '61', Line: [] } });
    expect(fault(ref.body).code).toBe('2010');
  });

  it('reading an unknown id is 610 and an unknown entity is 500', async () => {
    expect(fault((await t.api('/invoice/42')).body).code).toBe('610');
    expect(fault((await t.api('/widget/1')).body).code).toBe('500');
    expect(fault((await t.api('/widget', { body: {} })).body).code).toBe('500');
  });
});

describe('payments and balances', () => {
  async function setup() {
    const { item } = await seedServicesItem(t);
    const c = await customer();
    const inv = await invoice(c.Id, item.Id, [{ Amount: 100 }]);
    return { item, c, inv };
  }

  it('a linked payment lowers the invoice and customer balances; the rest is unapplied', async () => {
    const { c, inv } = await setup();
    const pay = await t.api('/payment', {
      body: {
        CustomerRef: { value: c.Id },
        TotalAmt: 70,
        Line: [{ Amount: 40.5, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] }],
      },
    });
    expect(pay.body.Payment).toMatchObject({ TotalAmt: 70, UnappliedAmt: 29.5 });
    const after = (await t.api(`/invoice/${inv.Id}`)).body.Invoice;
    expect(after).toMatchObject({ Balance: 59.5, SyncToken: '1' });
    expect(after.LinkedTxn).toEqual([{ TxnId: pay.body.Payment.Id, TxnType: 'Payment' }]);
    // Open invoices 59.50 minus 29.50 of unapplied payment.
    expect((await t.api(`/customer/${c.Id}`)).body.Customer).toMatchObject({
      Balance: 30,
      BalanceWithJobs: 30,
    });
  });

  it('applying more than the invoice balance is refused', async () => {
    const { c, inv } = await setup();
    const r = await t.api('/payment', {
      body: {
        CustomerRef: { value: c.Id },
        TotalAmt: 150,
        Line: [{ Amount: 150, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] }],
      },
    });
    expect(r.status).toBe(400);
    expect(fault(r.body).code).toBe('6000');
  });

  it('voiding or deleting a payment reopens the invoice', async () => {
    const { c, inv } = await setup();
    const body = {
      CustomerRef: { value: c.Id },
      TotalAmt: 100,
      Line: [{ Amount: 100, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] }],
    };
    const p1 = (await t.api('/payment', { body })).body.Payment;
    expect((await t.api(`/invoice/${inv.Id}`)).body.Invoice.Balance).toBe(0);
    const voided = await t.api('/payment?operation=void', {
      body: { Id: p1.Id, SyncToken: p1.SyncToken },
    });
    expect(voided.body.Payment).toMatchObject({
      TotalAmt: 0,
      UnappliedAmt: 0,
      PrivateNote: 'Voided',
      SyncToken: '1',
    });
    expect((await t.api(`/invoice/${inv.Id}`)).body.Invoice.Balance).toBe(100);
    const p2 = (await t.api('/payment', { body })).body.Payment;
    const del = await t.api('/payment?operation=delete', {
      body: { Id: p2.Id, SyncToken: p2.SyncToken },
    });
    expect(del.body.Payment).toEqual({ domain: 'QBO', status: 'Deleted', Id: p2.Id });
    expect((await t.api(`/invoice/${inv.Id}`)).body.Invoice).toMatchObject({
      Balance: 100,
      LinkedTxn: [],
    });
    expect((await t.api(`/customer/${c.Id}`)).body.Customer.Balance).toBe(100);
    expect(events.filter((e) => e.entity === 'Payment').map((e) => e.operation)).toEqual([
      'Create',
      'Void',
      'Create',
      'Delete',
    ]);
  });

  it('a voided invoice no longer counts in the customer balance', async () => {
    const { c, inv } = await setup();
    await t.api('/invoice?operation=void', { body: { Id: inv.Id, SyncToken: inv.SyncToken } });
    expect((await t.api(`/customer/${c.Id}`)).body.Customer.Balance).toBe(0);
    expect(events.at(-1)).toMatchObject({ entity: 'Invoice', operation: 'Void' });
  });

  it('a bill raises the vendor balance and needs VendorRef and Line', async () => {
    const expense = await seed(t, 'Account', { Name: 'Supplies', AccountType: 'Expense' });
    const v = (await t.api('/vendor', { body: { DisplayName: 'Norton Lumber' } })).body.Vendor;
    expect(fault((await t.api('/bill', { body: { Line: [] } })).body)).toMatchObject({
      code: '2020',
      element: 'VendorRef',
    });
    const bill = await t.api('/bill', {
      body: {
        VendorRef: { value: v.Id },
        Line: [
          {
            Amount: 103.55,
            DetailType: 'AccountBasedExpenseLineDetail',
            AccountBasedExpenseLineDetail: { AccountRef: { value: expense.Id } },
          },
          {
            Amount: 0.45,
            DetailType: 'AccountBasedExpenseLineDetail',
            AccountBasedExpenseLineDetail: { AccountRef: { value: expense.Id } },
          },
        ],
      },
    });
    expect(bill.body.Bill).toMatchObject({ TotalAmt: 104, Balance: 104 });
    expect((await t.api(`/vendor/${v.Id}`)).body.Vendor.Balance).toBe(104);
    const b = bill.body.Bill;
    await t.api('/bill?operation=delete', { body: { Id: b.Id, SyncToken: b.SyncToken } });
    expect((await t.api(`/vendor/${v.Id}`)).body.Vendor.Balance).toBe(0);
  });
});

describe('company', () => {
  it('CompanyInfo is read by realm id and Preferences can be updated sparsely', async () => {
    const info = await t.api(`/companyinfo/${t.realmId}`);
    expect(info.body.CompanyInfo).toMatchObject({
      CompanyName: 'Test Company',
      LegalName: 'Test Company',
      Country: 'US',
    });
    const prefs = (await t.api('/preferences')).body.Preferences;
    const upd = await t.api('/preferences?operation=update', {
      body: {
        Id: prefs.Id,
        SyncToken: prefs.SyncToken,
        sparse: true,
        SalesFormsPrefs: { CustomTxnNumbers: true },
      },
    });
    expect(upd.body.Preferences.SalesFormsPrefs).toMatchObject({
      CustomTxnNumbers: true,
      AllowDiscount: true,
    });
    expect(upd.body.Preferences.SyncToken).toBe('1');
  });

  it('the control API answers the fault QBO would give', async () => {
    const r = await control(t, 'Invoice', { Line: [] });
    expect(r.status).toBe(400);
    expect(fault(r.body)).toMatchObject({ code: '2020', element: 'CustomerRef' });
  });
});
