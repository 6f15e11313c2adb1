// What makes a campaign invoice pushable, checked before any QBO call so that a bad row
// costs nothing and leaves nothing half-written in QBO. Each problem is a sentence a person
// can act on. The same checks back the admin route that creates and updates invoices, so
// an application that does not share the database gets the same answers.
import Big from 'big.js';
import { money, parseDecimal } from './money.ts';

/** QBO: at most 21 characters in an invoice number (2050 otherwise; docs/qbo-facts.md). */
export const MAX_DOC_NUMBER_LENGTH = 21;
/** QBO's Customer.DisplayName limit (Customer entity reference: max 500 characters). */
export const MAX_DISPLAY_NAME_LENGTH = 500;
/** QBO's PrimaryEmailAddr.Address limit (Customer entity reference: max 100 characters). */
export const MAX_EMAIL_LENGTH = 100;
/** QBO's SalesItemLine.Description limit (Invoice entity reference: max 4000 characters). */
export const MAX_DESCRIPTION_LENGTH = 4000;
export const MAX_LINES = 250;

export interface InvoiceLineInput {
  description: string;
  quantity: string;
  unit_price: string;
  amount: string;
}

/** The fields of a campaign invoice that decide what QBO shows. */
export interface InvoiceInput {
  client_name: string;
  client_email: string | null;
  line_items: unknown;
  subtotal: string;
  tax: string;
  total: string;
  currency: string;
  issue_date: string;
  due_date: string | null;
  invoice_number: string | null;
}

export interface PushableLine {
  description: string;
  quantity: string;
  unitPrice: string;
  amount: string;
}

export interface PushableInvoice {
  customerName: string;
  email: string | null;
  currency: string;
  txnDate: string;
  dueDate: string | null;
  invoiceNumber: string | null;
  lines: PushableLine[];
  total: string;
}

export type Validation = { ok: true; invoice: PushableInvoice } | { ok: false; problems: string[] };

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
// Control characters QBO's XML-backed store cannot hold (and Postgres refuses NUL).
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;
const KNOWN_CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** A calendar day from 0001-01-01 to 9999-12-31 that exists. */
export function isCalendarDate(value: string): boolean {
  const m = DATE_RE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
  const date = new Date(Date.UTC(2000, mo - 1, d));
  date.setUTCFullYear(y);
  return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

function textProblem(label: string, value: string, max: number): string | null {
  if (value.length > max) return `${label} is longer than ${max} characters`;
  if (CONTROL_RE.test(value)) return `${label} contains control characters`;
  return null;
}

/** Every problem with `input`, or the invoice as QBO will receive it. */
export function validateInvoice(input: InvoiceInput): Validation {
  const problems: string[] = [];
  const name = input.client_name.trim();
  if (!name) problems.push('client_name is empty: QBO needs a customer name');
  const nameProblem = textProblem('client_name', name, MAX_DISPLAY_NAME_LENGTH);
  if (nameProblem) problems.push(nameProblem);
  if (name.includes(':'))
    problems.push('client_name contains ":", which QBO reserves for sub-customer names');

  const email = input.client_email?.trim() || null;
  if (email && (!EMAIL_RE.test(email) || email.length > MAX_EMAIL_LENGTH))
    problems.push(`client_email "${email.slice(0, 120)}" is not a valid email address`);

  if (!KNOWN_CURRENCIES.has(input.currency))
    problems.push(`currency "${input.currency}" is not an ISO 4217 currency code`);

  if (!isCalendarDate(input.issue_date)) problems.push('issue_date is not a valid date');
  if (input.due_date !== null && !isCalendarDate(input.due_date))
    problems.push('due_date is not a valid date');
  else if (input.due_date !== null && input.due_date < input.issue_date)
    problems.push('due_date is before issue_date');

  const number = input.invoice_number?.trim() || null;
  if (number && number.length > MAX_DOC_NUMBER_LENGTH)
    problems.push(`invoice_number is longer than QBO's ${MAX_DOC_NUMBER_LENGTH} characters`);
  else if (number && CONTROL_RE.test(number))
    problems.push('invoice_number contains control characters');

  const lines: PushableLine[] = [];
  let sum = new Big(0);
  if (!Array.isArray(input.line_items) || input.line_items.length === 0) {
    problems.push('the invoice has no lines: add at least one line item');
  } else if (input.line_items.length > MAX_LINES) {
    problems.push(`the invoice has more than ${MAX_LINES} lines`);
  } else {
    input.line_items.forEach((raw: unknown, i) => {
      const at = `line ${i + 1}`;
      if (typeof raw !== 'object' || raw === null) {
        problems.push(`${at} is not an object`);
        return;
      }
      const l = raw as Record<string, unknown>;
      const description = typeof l.description === 'string' ? l.description.trim() : '';
      const descProblem = textProblem(`${at} description`, description, MAX_DESCRIPTION_LENGTH);
      if (descProblem) problems.push(descProblem);
      const qty = parseDecimal(l.quantity, 6);
      const price = parseDecimal(l.unit_price, 6);
      const amount = parseDecimal(l.amount, 2);
      if (!qty || qty.lte(0))
        problems.push(`${at} quantity ${JSON.stringify(l.quantity)} is not a positive number`);
      if (!price || price.lt(0))
        problems.push(
          `${at} unit_price ${JSON.stringify(l.unit_price)} is not a non-negative amount`,
        );
      if (!amount || amount.lt(0)) {
        problems.push(
          `${at} amount ${JSON.stringify(l.amount)} is not a non-negative amount with at most 2 decimals`,
        );
        return;
      }
      if (qty && price && !qty.times(price).eq(amount))
        problems.push(
          `${at} amount ${money(amount)} is not quantity × unit_price (${qty.times(price).toString()})`,
        );
      sum = sum.plus(amount);
      if (qty && price)
        lines.push({
          description,
          quantity: qty.toString(),
          unitPrice: price.toString(),
          amount: money(amount),
        });
    });
  }

  const subtotal = parseDecimal(input.subtotal, 2);
  const tax = parseDecimal(input.tax, 2);
  const total = parseDecimal(input.total, 2);
  if (!subtotal || !tax || !total) {
    problems.push('subtotal, tax and total must be amounts with at most 2 decimals');
  } else {
    if (problems.length === 0 && !sum.eq(subtotal))
      problems.push(`subtotal ${money(subtotal)} is not the sum of the lines (${money(sum)})`);
    if (!tax.eq(0))
      problems.push(
        'tax is not 0: QBO computes sales tax from its own tax codes; add the tax as a line item or set tax to 0',
      );
    if (!subtotal.plus(tax).eq(total))
      problems.push(`total ${money(total)} is not subtotal + tax (${money(subtotal.plus(tax))})`);
    if (total.lt(0)) problems.push('total is negative');
  }

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    invoice: {
      customerName: name,
      email,
      currency: input.currency,
      txnDate: input.issue_date,
      dueDate: input.due_date,
      invoiceNumber: number,
      lines,
      total: money(total!),
    },
  };
}
