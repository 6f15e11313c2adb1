import Big from 'big.js';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Company, EntityName, QboObject } from '../src/core/company.ts';
import { startTestSandbox, type TestSandbox } from './helpers.ts';

let t: TestSandbox;
beforeAll(async () => {
  t = await startTestSandbox({ config: { limits: { enabled: false } } });
});
afterAll(() => t.close());

async function control(path: string, body: unknown) {
  const res = await fetch(`${t.sandbox.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function seedNew(body: Record<string, unknown>): Promise<Company> {
  const res = await control('/_sandbox/seed', body);
  expect(res.status).toBe(201);
  return t.sandbox.state.companies.get(res.body.realmId)!;
}

function fingerprint(company: Company): string {
  const h = createHash('sha256');
  for (const [entity, table] of company.tables)
    for (const row of table.values())
      h.update(`${entity}|${row.createdAt}|${row.updatedAt}|${JSON.stringify(row.data)}\n`);
  return h.digest('hex');
}

const rows = (c: Company, e: EntityName): QboObject[] =>
  [...c.table(e).values()].map((r) => r.data);
const ref = (v: unknown): string => (v as { value: string }).value;
const big = (v: unknown): Big => new Big(v as number);

describe('deterministic seed', () => {
  it('the same seed and options give byte-identical companies, times included', async () => {
    const a = await seedNew({ seed: 42, entities: 3000 });
    const b = await seedNew({ seed: 42, entities: 3000 });
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(a.counts()).toEqual(b.counts());
  });

  it('a different seed gives different data', async () => {
    const a = await seedNew({ seed: 1, entities: 1000 });
    const b = await seedNew({ seed: 2, entities: 1000 });
    expect(fingerprint(a)).not.toBe(fingerprint(b));
    expect(rows(a, 'Customer')[0]!.DisplayName).toBeDefined();
  });

  it('history starts on startDate, whatever the sandbox clock says', async () => {
    t.sandbox.state.clock.advance(400 * 24 * 3600 * 1000);
    try {
      const c = await seedNew({ seed: 3, preset: 'small', startDate: '2023-03-01', days: 30 });
      const dates = rows(c, 'Invoice').map((i) => i.TxnDate as string);
      expect(dates.every((d) => d >= '2023-03-01' && d <= '2023-03-31')).toBe(true);
      expect(rows(c, 'Customer')[0]!.MetaData.CreateTime).toMatch(/^2023-03-01T/);
    } finally {
      t.sandbox.state.clock.reset();
    }
  });
});

describe('consistent seed', () => {
  let c: Company;
  beforeAll(async () => {
    c = await seedNew({ seed: 'consistency', entities: 6000 });
  });

  it('every reference points at an existing entity', () => {
    const has = (e: EntityName, v: unknown) =>
      expect(c.get(e, ref(v)), `${e} ${ref(v)}`).toBeDefined();
    for (const a of rows(c, 'Account')) if (a.ParentRef) has('Account', a.ParentRef);
    for (const i of rows(c, 'Item')) {
      has('Account', i.IncomeAccountRef);
      if (i.ExpenseAccountRef) has('Account', i.ExpenseAccountRef);
    }
    for (const cu of rows(c, 'Customer')) if (cu.SalesTermRef) has('Term', cu.SalesTermRef);
    for (const v of rows(c, 'Vendor')) if (v.TermRef) has('Term', v.TermRef);
    for (const inv of rows(c, 'Invoice')) {
      has('Customer', inv.CustomerRef);
      expect((inv.CustomerRef as { name: string }).name).toBe(
        c.get('Customer', ref(inv.CustomerRef))!.DisplayName,
      );
      if (inv.SalesTermRef) has('Term', inv.SalesTermRef);
      for (const l of inv.Line as any[])
        if (l.SalesItemLineDetail) has('Item', l.SalesItemLineDetail.ItemRef);
      for (const link of inv.LinkedTxn as any[]) expect(c.get('Payment', link.TxnId)).toBeDefined();
    }
    for (const p of rows(c, 'Payment')) {
      has('Customer', p.CustomerRef);
      has('Account', p.DepositToAccountRef);
      has('PaymentMethod', p.PaymentMethodRef);
      for (const l of p.Line as any[]) {
        const inv = c.get('Invoice', l.LinkedTxn[0].TxnId)!;
        expect(inv).toBeDefined();
        expect(ref(inv.CustomerRef)).toBe(ref(p.CustomerRef));
        expect((p.TxnDate as string) >= (inv.TxnDate as string)).toBe(true);
      }
    }
    for (const b of rows(c, 'Bill')) {
      has('Vendor', b.VendorRef);
      has('Account', b.APAccountRef);
      for (const l of b.Line as any[]) has('Account', l.AccountBasedExpenseLineDetail.AccountRef);
    }
  });

  it('invoice totals are the exact sum of Qty × UnitPrice lines', () => {
    for (const inv of rows(c, 'Invoice')) {
      const lines = inv.Line as any[];
      let sum = new Big(0);
      for (const l of lines.filter((x) => x.DetailType === 'SalesItemLineDetail')) {
        const d = l.SalesItemLineDetail;
        expect(big(d.UnitPrice).times(d.Qty).eq(big(l.Amount))).toBe(true);
        sum = sum.plus(big(l.Amount));
      }
      const subtotal = lines.find((x) => x.DetailType === 'SubTotalLineDetail');
      expect(big(subtotal.Amount).eq(sum)).toBe(true);
      expect(big(inv.TotalAmt).eq(sum)).toBe(true);
    }
  });

  it('invoice Balance is TotalAmt less the payments linked to it, with full and partial payments', () => {
    const applied = new Map<string, Big>();
    let partial = 0;
    let multiInvoice = 0;
    for (const p of rows(c, 'Payment')) {
      let total = new Big(0);
      const lines = p.Line as any[];
      if (lines.length > 1) multiInvoice += 1;
      for (const l of lines) {
        const id = l.LinkedTxn[0].TxnId as string;
        applied.set(id, (applied.get(id) ?? new Big(0)).plus(big(l.Amount)));
        total = total.plus(big(l.Amount));
      }
      expect(big(p.TotalAmt).eq(total)).toBe(true);
      expect(p.UnappliedAmt).toBe(0);
    }
    for (const inv of rows(c, 'Invoice')) {
      const paid = applied.get(inv.Id) ?? new Big(0);
      expect(big(inv.Balance).eq(big(inv.TotalAmt).minus(paid))).toBe(true);
      expect(big(inv.Balance).gte(0)).toBe(true);
      if (paid.gt(0) && big(inv.Balance).gt(0)) partial += 1;
      expect((inv.LinkedTxn as unknown[]).length > 0).toBe(paid.gt(0));
    }
    expect(partial).toBeGreaterThan(0);
    expect(multiInvoice).toBeGreaterThan(0);
    const open = rows(c, 'Invoice').filter((i) => big(i.Balance).gt(0)).length;
    const paidInFull = rows(c, 'Invoice').filter((i) => big(i.Balance).eq(0)).length;
    expect(open).toBeGreaterThan(0);
    expect(paidInFull).toBeGreaterThan(0);
  });

  it('customer and vendor balances equal their open invoices and bills, as do A/R and A/P', () => {
    const byCustomer = new Map<string, Big>();
    let ar = new Big(0);
    for (const inv of rows(c, 'Invoice')) {
      const id = ref(inv.CustomerRef);
      byCustomer.set(id, (byCustomer.get(id) ?? new Big(0)).plus(big(inv.Balance)));
      ar = ar.plus(big(inv.Balance));
    }
    for (const cu of rows(c, 'Customer')) {
      expect(big(cu.Balance).eq(byCustomer.get(cu.Id) ?? 0), `customer ${cu.Id}`).toBe(true);
      expect(cu.BalanceWithJobs).toBe(cu.Balance);
    }
    const byVendor = new Map<string, Big>();
    let ap = new Big(0);
    for (const b of rows(c, 'Bill')) {
      const id = ref(b.VendorRef);
      byVendor.set(id, (byVendor.get(id) ?? new Big(0)).plus(big(b.Balance)));
      ap = ap.plus(big(b.Balance));
    }
    for (const v of rows(c, 'Vendor'))
      expect(big(v.Balance).eq(byVendor.get(v.Id) ?? 0), `vendor ${v.Id}`).toBe(true);
    const account = (subType: string) =>
      rows(c, 'Account').find((a) => a.AccountSubType === subType)!;
    expect(big(account('AccountsReceivable').CurrentBalance).eq(ar)).toBe(true);
    expect(big(account('AccountsPayable').CurrentBalance).eq(ap)).toBe(true);
  });

  it('DocNumbers and DisplayNames are unique, and the API continues the DocNumber sequence', () => {
    const docs = rows(c, 'Invoice').map((i) => i.DocNumber);
    expect(new Set(docs).size).toBe(docs.length);
    const names = [...rows(c, 'Customer'), ...rows(c, 'Vendor')].map((x) => x.DisplayName);
    expect(new Set(names).size).toBe(names.length);
    const last = Math.max(...docs.map(Number));
    expect(c.nextDocNumber()).toBe(String(last + 1));
  });

  it('due dates follow the terms and CreateTime never follows LastUpdatedTime', () => {
    const days = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / 86_400_000;
    for (const inv of rows(c, 'Invoice')) {
      const term = inv.SalesTermRef ? c.get('Term', ref(inv.SalesTermRef)) : undefined;
      expect(days(inv.TxnDate as string, inv.DueDate as string)).toBe(
        term ? (term.DueDays as number) : 30,
      );
    }
    for (const table of c.tables.values())
      for (const row of table.values()) {
        expect(row.createdAt <= row.updatedAt).toBe(true);
        expect(row.data.MetaData.CreateTime <= row.data.MetaData.LastUpdatedTime).toBe(true);
      }
  });

  it('the chart of accounts has every classification with QBO account types', () => {
    const accounts = rows(c, 'Account');
    const types = new Set(accounts.map((a) => a.AccountType));
    for (const type of [
      'Bank',
      'Accounts Receivable',
      'Accounts Payable',
      'Income',
      'Cost of Goods Sold',
      'Expense',
      'Other Current Asset',
      'Other Current Liability',
      'Equity',
    ])
      expect(types).toContain(type);
    expect(new Set(accounts.map((a) => a.Classification))).toEqual(
      new Set(['Asset', 'Liability', 'Equity', 'Revenue', 'Expense']),
    );
    const sub = accounts.find((a) => a.SubAccount)!;
    expect(sub.FullyQualifiedName).toBe(
      `${c.get('Account', ref(sub.ParentRef))!.Name as string}:${sub.Name as string}`,
    );
  });
});

describe('seeded data through the Accounting API', () => {
  it('a seeded invoice and customer read back with the recorded QBO shape', async () => {
    const res = await control(`/_sandbox/companies/${t.realmId}/seed`, {
      seed: 9,
      preset: 'small',
    });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(500);
    const inv = await t.api('/invoice/2?minorversion=75');
    expect(inv.status).toBe(200);
    expect(inv.body.Invoice).toEqual(t.company.get('Invoice', '2'));
    // The keys of qbo_api create/invoice.json's response (less its company's custom field).
    for (const key of [
      'DocNumber',
      'TxnDate',
      'CurrencyRef',
      'LinkedTxn',
      'Line',
      'TxnTaxDetail',
      'CustomerRef',
      'DueDate',
      'TotalAmt',
      'Balance',
      'EmailStatus',
      'PrintStatus',
    ])
      expect(inv.body.Invoice).toHaveProperty(key);
    const customerId = inv.body.Invoice.CustomerRef.value as string;
    const cu = await t.api(`/customer/${customerId}`);
    expect(cu.body.Customer.DisplayName).toBe(inv.body.Invoice.CustomerRef.name);
    const info = await t.api(`/companyinfo/${t.realmId}`);
    expect(info.body.CompanyInfo.CompanyName).toBe(t.company.companyName);
  });

  it('the accounting engine agrees with seeded balances when a partly paid invoice is edited', async () => {
    const partly = [...t.company.table('Invoice').values()]
      .map((r) => r.data)
      .find((i) => (i.LinkedTxn as unknown[]).length > 0 && (i.Balance as number) > 0)!;
    expect(partly).toBeDefined();
    const customerId = ref(partly.CustomerRef);
    const customerBalance = t.company.get('Customer', customerId)!.Balance;
    const res = await t.api('/invoice', {
      body: { Id: partly.Id, SyncToken: partly.SyncToken, sparse: true, PrivateNote: 'edited' },
    });
    expect(res.status).toBe(200);
    expect(res.body.Invoice.Balance).toBe(partly.Balance);
    expect(res.body.Invoice.LinkedTxn).toEqual(partly.LinkedTxn);
    expect(t.company.get('Customer', customerId)!.Balance).toBe(customerBalance);
  });
});

describe('orders built at seed time', () => {
  it('ORDERBY Id and the default order page a seeded company exactly, and follow a change made after the seed', async () => {
    const res = await control(`/_sandbox/companies/${t.realmId}/seed`, {
      seed: 11,
      preset: 'small',
      replace: true,
    });
    expect(res.status).toBe(200);
    const page = async (q: string): Promise<string[]> => {
      const r = await t.api(`/query?query=${encodeURIComponent(q)}&minorversion=75`);
      expect(r.status).toBe(200);
      return ((r.body.QueryResponse.Invoice ?? []) as { Id: string }[]).map((i) => i.Id);
    };
    const stored = [...t.company.table('Invoice').keys()];
    const byId = [...stored].sort((a, b) => Number(a) - Number(b));
    expect(await page('SELECT * FROM Invoice ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000')).toEqual(
      byId,
    );
    // QBO's default for transactions: last changed first.
    const newestFirst = [...t.company.table('Invoice').values()]
      .sort((a, b) => b.updatedAt - a.updatedAt || Number(b.data.Id) - Number(a.data.Id))
      .map((r) => r.data.Id);
    expect(await page('SELECT * FROM Invoice STARTPOSITION 1 MAXRESULTS 1000')).toEqual(
      newestFirst,
    );

    // A change after the seed: the orders built then must not hide it.
    const first = t.company.get('Invoice', byId[0]!)!;
    const edited = await t.api('/invoice', {
      body: { Id: first.Id, SyncToken: first.SyncToken, sparse: true, PrivateNote: 'later' },
    });
    expect(edited.status).toBe(200);
    expect((await page('SELECT * FROM Invoice STARTPOSITION 1 MAXRESULTS 1'))[0]).toBe(first.Id);
    expect(await page('SELECT * FROM Invoice ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000')).toEqual(
      byId,
    );
  });
});

describe('seed control API', () => {
  it('a 100,000-entity seed completes with exactly that many entities', async () => {
    const res = await control('/_sandbox/seed', { seed: 100, preset: 'large' });
    expect(res.status).toBe(201);
    expect(res.body.total).toBe(100_000);
    const company = t.sandbox.state.companies.get(res.body.realmId)!;
    const stored = Object.values(company.counts()).reduce((a, b) => a + b, 0);
    expect(stored).toBe(100_000);
    t.sandbox.state.companies.delete(res.body.realmId);
  }, 60_000);

  it('seeding an unknown realm answers 404', async () => {
    const res = await control('/_sandbox/companies/123404/seed', { seed: 1 });
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('not_found');
  });

  it('bad options answer 400 and create no company', async () => {
    const before = t.sandbox.state.companies.size;
    for (const body of [
      {},
      { seed: 1, preset: 'huge' },
      { seed: 1, customers: -1 },
      { seed: 1, invoices: 10, payments: 11 },
      { seed: 1, startDate: '2025-13-45' },
      { seed: 1, colour: 'blue' },
    ]) {
      const res = await control('/_sandbox/seed', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    }
    expect(t.sandbox.state.companies.size).toBe(before);
  });

  it('a company with data is not seeded again unless replace is true', async () => {
    const c = await seedNew({ seed: 5, entities: 200, companyName: 'Replace Co' });
    const again = await control(`/_sandbox/companies/${c.realmId}/seed`, { seed: 6 });
    expect(again.status).toBe(409);
    const first = fingerprint(c);
    const replaced = await control(`/_sandbox/companies/${c.realmId}/seed`, {
      seed: 6,
      entities: 200,
      replace: true,
    });
    expect(replaced.status).toBe(200);
    expect(fingerprint(c)).not.toBe(first);
    const fresh = await seedNew({ seed: 6, entities: 200, companyName: 'Replace Co' });
    expect(fingerprint(c)).toBe(fingerprint(fresh));
  });

  it('explicit counts override the preset', async () => {
    const res = await control('/_sandbox/seed', {
      seed: 8,
      customers: 3,
      vendors: 2,
      items: 4,
      invoices: 20,
      payments: 20,
      bills: 5,
    });
    expect(res.status).toBe(201);
    expect(res.body.counts).toMatchObject({
      Customer: 3,
      Vendor: 2,
      Item: 4,
      Invoice: 20,
      Payment: 20,
      Bill: 5,
    });
  });
});
