import { describe, expect, it } from 'vitest';
import { JsonDecimal, qboJson } from './money.ts';
import { queryString } from './invoice.mapper.ts';
import { isCalendarDate, validateInvoice, type InvoiceInput } from './validate.ts';

const line0 = { description: 'Ads', quantity: '3', unit_price: '0.1', amount: '0.30' };
const base: InvoiceInput = {
  client_name: "O'Brien & Sons",
  client_email: 'ap@obrien.example',
  line_items: [line0],
  subtotal: '0.30',
  tax: '0.00',
  total: '0.30',
  currency: 'USD',
  issue_date: '2026-02-01',
  due_date: '2026-03-01',
  invoice_number: null,
};

const problems = (overrides: Partial<InvoiceInput>): string[] => {
  const r = validateInvoice({ ...base, ...overrides });
  return r.ok ? [] : r.problems;
};

describe('validateInvoice', () => {
  it('a well-formed invoice passes with its decimals kept as written', () => {
    const r = validateInvoice(base);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.invoice.lines[0]).toMatchObject({ unitPrice: '0.1', amount: '0.30' });
  });

  it('names each problem a person must fix', () => {
    expect(problems({ client_name: '  ' })[0]).toMatch(/client_name is empty/);
    expect(problems({ client_name: 'a\u0000b' })[0]).toMatch(/control characters/);
    expect(problems({ client_email: 'not-an-email' })[0]).toMatch(/not a valid email/);
    expect(problems({ currency: 'ABC' })[0]).toMatch(/ISO 4217/);
    expect(problems({ issue_date: '0000-01-01' })[0]).toMatch(/issue_date/);
    expect(problems({ due_date: '2026-01-01' })[0]).toMatch(/before issue_date/);
    expect(problems({ invoice_number: 'X'.repeat(22) })[0]).toMatch(/21 characters/);
    expect(problems({ line_items: [] })[0]).toMatch(/no lines/);
    expect(problems({ line_items: 'x' })[0]).toMatch(/no lines/);
    expect(problems({ tax: '1.00', total: '1.30' })[0]).toMatch(/tax is not 0/);
    expect(problems({ total: '0.31' })[0]).toMatch(/not subtotal \+ tax/);
    expect(problems({ subtotal: '1e3' })[0]).toMatch(/at most 2 decimals/);
  });

  it('refuses line amounts that are negative, non-numeric, inexact or too large', () => {
    const line = (l: Record<string, unknown>) => problems({ line_items: [{ ...line0, ...l }] });
    expect(line({ amount: '-0.30' })[0]).toMatch(/not a non-negative amount/);
    expect(line({ quantity: 'NaN' })[0]).toMatch(/quantity "NaN"/);
    expect(line({ quantity: 3 })[0]).toMatch(/quantity 3/);
    expect(line({ amount: '0.31' })[0]).toMatch(/not quantity × unit_price/);
    expect(line({ amount: '99999999999999999.00' })[0]).toMatch(/amount/);
  });

  it('checks calendar days, not just their shape', () => {
    expect(isCalendarDate('2024-02-29')).toBe(true);
    expect(isCalendarDate('2025-02-29')).toBe(false);
    expect(isCalendarDate('0000-01-01')).toBe(false);
    expect(isCalendarDate('9999-12-31')).toBe(true);
  });
});

describe('QBO JSON and queries', () => {
  it('writes decimals as number literals with exactly their digits', () => {
    expect(
      qboJson({ Amount: new JsonDecimal('12345678901234.56'), Qty: new JsonDecimal('0.1') }),
    ).toBe('{"Amount":12345678901234.56,"Qty":0.1}');
  });

  it("quotes a name with a quote, an ampersand and a backslash for QBO's query language", () => {
    expect(queryString("O'Brien & Sons \\ Co")).toBe("'O\\'Brien & Sons \\\\ Co'");
  });
});
