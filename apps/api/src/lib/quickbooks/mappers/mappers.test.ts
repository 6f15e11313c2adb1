// The mappers against real QBO payloads (fixtures/qbo-recordings), not only the sandbox's.
import { describe, expect, it } from 'vitest';
import { recordedBody, recordingJson } from '../../../../test/recordings.ts';
import { calendarDate, decimalString, voided } from './fields.ts';
import { MAPPERS } from './index.ts';

const customers = recordedBody('all/customers-2.json').QueryResponse.Customer as Record<
  string,
  unknown
>[];

describe('customer mapper (rec all/customers-2: 41 real customers)', () => {
  it('maps every recorded customer, keyed by Id, with the whole object kept', () => {
    const rows = customers.map((c) => MAPPERS.Customer.map(c));
    expect(rows.every((r) => r !== null)).toBe(true);
    expect(new Set(rows.map((r) => r!.qbo_id)).size).toBe(customers.length);
    expect(rows[0]!.raw).toBe(customers[0]);
  });

  it.each([
    {
      id: '1',
      row: {
        display_name: "Amy's Bird Sanctuary",
        fully_qualified_name: "Amy's Bird Sanctuary",
        given_name: 'Amy',
        family_name: 'Lauterbach',
        company_name: "Amy's Bird Sanctuary",
        email: 'Birds@Intuit.com',
        phone: '(650) 555-3311',
        parent_qbo_id: null,
        active: true,
        balance: '639',
        currency: 'USD',
        sync_token: '0',
      },
    },
  ])('customer $id: typed columns as an application queries them', ({ id, row }) => {
    const c = customers.find((x) => x.Id === id)!;
    expect(MAPPERS.Customer.map(c)).toMatchObject({
      ...row,
      qbo_id: id,
      qbo_created_at: new Date('2015-10-01T16:48:43-07:00'),
      qbo_updated_at: new Date('2020-09-29T06:02:35-07:00'),
    });
  });

  it('a sub-customer points at its parent', () => {
    const sub = customers.find((c) => c.ParentRef)!;
    const row = MAPPERS.Customer.map(sub)!;
    expect(row.parent_qbo_id).toBe((sub.ParentRef as { value: string }).value);
    expect(row.fully_qualified_name).toContain(':');
  });
});

describe('vendor mapper (rec get/inactive_vendors)', () => {
  const vendors = recordedBody('get/inactive_vendors.json').QueryResponse.Vendor as Record<
    string,
    unknown
  >[];

  it('keeps a deactivated vendor, inactive, with the name QBO gave it', () => {
    const row = MAPPERS.Vendor.map(vendors.find((v) => v.Id === '53')!)!;
    expect(row).toMatchObject({
      qbo_id: '53',
      active: false,
      display_name: 'United States Treasury (deleted)',
    });
  });

  it('maps every recorded vendor; money columns are decimal strings', () => {
    for (const v of vendors) {
      const row = MAPPERS.Vendor.map(v)!;
      expect(row.active).toBe(v.Active);
      expect(row.balance).toBe(String(v.Balance));
      expect(typeof row.balance).toBe('string');
    }
  });
});

describe('account mapper', () => {
  it('a deactivated account (rec deactivate/account-2) stays, inactive', () => {
    const account = recordedBody('deactivate/account-2.json').Account;
    expect(MAPPERS.Account.map(account)).toMatchObject({
      qbo_id: '5',
      sync_token: '1',
      name: 'Fees Billed (deleted)',
      fully_qualified_name: 'Fees Billed (deleted)',
      account_type: 'Income',
      account_sub_type: 'ServiceFeeIncome',
      classification: 'Revenue',
      current_balance: '0',
      currency: 'USD',
      active: false,
    });
  });

  it('an Accounts Receivable account (quickbooks-go account.json)', () => {
    const account = recordingJson('quickbooks-go/testing/account.json').Account;
    expect(MAPPERS.Account.map(account)).toMatchObject({
      qbo_id: '94',
      account_type: 'Accounts Receivable',
      classification: 'Asset',
      active: true,
    });
  });
});

describe('invoice mapper', () => {
  it('a created invoice (rec create/invoice)', () => {
    const invoice = recordedBody('create/invoice.json').Invoice;
    expect(MAPPERS.Invoice.map(invoice)).toMatchObject({
      qbo_id: '266',
      sync_token: '0',
      doc_number: '1043',
      customer_qbo_id: '1',
      customer_name: "Amy's Bird Sanctuary",
      txn_date: '2020-09-29',
      due_date: '2020-10-29',
      total_amt: '100',
      balance: '100',
      currency: 'USD',
      email_status: 'NotSet',
      voided: false,
    });
  });

  it('a voided invoice (rec void/invoice-2) is voided with zero amounts, not deleted', () => {
    const before = MAPPERS.Invoice.map(recordedBody('void/invoice-1.json').Invoice)!;
    const after = MAPPERS.Invoice.map(recordedBody('void/invoice-2.json').Invoice)!;
    expect(before.voided).toBe(false);
    expect(after).toMatchObject({ qbo_id: '264', voided: true, total_amt: '0', balance: '0' });
  });

  it('a deletion answer (rec delete/invoice-2) is a stub the mapper is never given', () => {
    const stub = recordedBody('delete/invoice-2.json').Invoice;
    expect(stub).toEqual({ domain: 'QBO', status: 'Deleted', Id: '266' });
  });
});

describe('payment mapper', () => {
  // QBO's void answer for a payment (quickbooks-ruby payment_void_response_success.xml),
  // its fields in the JSON shape the API answers with.
  const voidedPayment = {
    domain: 'QBO',
    sparse: true,
    Id: '8748',
    SyncToken: '0',
    MetaData: {
      CreateTime: '2013-07-11T17:51:41-07:00',
      LastUpdatedTime: '2013-07-11T17:51:42-07:00',
    },
    TxnDate: '2013-07-11',
    PrivateNote: 'Voided',
    CustomerRef: { value: '25342' },
    DepositToAccountRef: { value: '4' },
    TotalAmt: 0,
    UnappliedAmt: 0,
    ProcessPayment: false,
  };

  it('a voided payment is voided, amounts zero', () => {
    expect(MAPPERS.Payment.map(voidedPayment)).toMatchObject({
      qbo_id: '8748',
      customer_qbo_id: '25342',
      txn_date: '2013-07-11',
      total_amt: '0',
      unapplied_amt: '0',
      voided: true,
      linked_invoice_qbo_ids: [],
    });
  });

  it('lists the invoices it pays, once each, and ignores other linked types', () => {
    const row = MAPPERS.Payment.map({
      ...voidedPayment,
      PrivateNote: 'thanks',
      TotalAmt: 150.5,
      Line: [
        { Amount: 100, LinkedTxn: [{ TxnId: '130', TxnType: 'Invoice' }] },
        { Amount: 50.5, LinkedTxn: [{ TxnId: '131', TxnType: 'Invoice' }] },
        { Amount: 0, LinkedTxn: [{ TxnId: '130', TxnType: 'Invoice' }] },
        { Amount: 10, LinkedTxn: [{ TxnId: '9', TxnType: 'CreditMemo' }] },
      ],
    })!;
    expect(row).toMatchObject({ voided: false, total_amt: '150.5' });
    expect(row.linked_invoice_qbo_ids).toEqual(['130', '131']);
  });
});

describe('item mapper', () => {
  it('keeps every decimal of a unit price and the income account', () => {
    expect(
      MAPPERS.Item.map({
        Id: '4',
        SyncToken: '2',
        Name: 'Design',
        FullyQualifiedName: 'Design',
        Type: 'Service',
        UnitPrice: 22.125,
        IncomeAccountRef: { value: '82', name: 'Design income' },
        Active: true,
      }),
    ).toMatchObject({
      name: 'Design',
      type: 'Service',
      unit_price: '22.125',
      income_account_qbo_id: '82',
    });
  });
});

describe('field readers refuse what the columns cannot hold', () => {
  it.each([
    [100.0, '100'],
    [0.1, '0.1'],
    [12345678901.99, '12345678901.99'],
    ['639.00', '639.00'],
    [1e16, null],
    [Number.NaN, null],
    ['1,000', null],
    ['12e3', null],
    [true, null],
  ])('decimal %s → %s', (input, out) => {
    expect(decimalString(input)).toBe(out);
  });

  it.each([
    ['2020-09-29', '2020-09-29'],
    ['2024-02-29', '2024-02-29'],
    ['2023-02-29', null],
    ['0000-01-01', null],
    ['2020-13-01', null],
    ['2020-09-29T00:00:00', null],
  ])('date %s → %s', (input, out) => {
    expect(calendarDate(input)).toBe(out);
  });

  it('NUL characters never reach a text column', () => {
    const row = MAPPERS.Customer.map({ Id: '7', DisplayName: 'a\u0000b' })!;
    expect(row.display_name).toBe('ab');
  });

  it('an object without a usable Id maps to nothing', () => {
    expect(MAPPERS.Customer.map({ DisplayName: 'x' })).toBeNull();
    expect(MAPPERS.Customer.map({ Id: "1' or 1=1" })).toBeNull();
  });

  it('a memo that merely mentions voiding is not a void', () => {
    expect(voided({ PrivateNote: 'Voided', TotalAmt: 0 })).toBe(true);
    expect(voided({ PrivateNote: 'Voided', TotalAmt: 12 })).toBe(false);
    expect(voided({ PrivateNote: 'not Voided', TotalAmt: 0 })).toBe(false);
  });
});
