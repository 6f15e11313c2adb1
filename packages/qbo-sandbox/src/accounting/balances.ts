import type Big from 'big.js';
import type { Company, EntityName, QboObject } from '../core/company.ts';
import { sum, toBig, toJsonNumber, ZERO } from './money.ts';
import { isObject, text } from './validate.ts';

/**
 * Derived balances, recomputed from the stored transactions rather than adjusted in
 * place, so a delete, void or edit can never leave a balance drifting:
 * - Invoice.Balance = TotalAmt − payments applied to it (0 once voided);
 *   Invoice.LinkedTxn lists those payments (`TxnType: "Payment"`).
 * - Customer.Balance = its open invoice balances − its payments' UnappliedAmt;
 *   BalanceWithJobs adds its sub-customers (jobs).
 * - Vendor.Balance = its bills' balances.
 */

export function markVoided(company: Company, entity: EntityName, id: string): void {
  company.voided.add(`${entity}:${id}`);
}

export function isVoided(company: Company, entity: EntityName, id: string): boolean {
  return company.voided.has(`${entity}:${id}`);
}

const amountOf = (v: unknown): Big => toBig(v) ?? ZERO;
const refId = (v: unknown): string | undefined => (isObject(v) ? text(v.value) : undefined);

/** Invoice ids a payment's lines apply to, with the amounts. */
export function paymentApplications(payment: QboObject): { invoiceId: string; amount: Big }[] {
  const out: { invoiceId: string; amount: Big }[] = [];
  const lines = Array.isArray(payment.Line) ? payment.Line : [];
  for (const line of lines) {
    if (!isObject(line) || !Array.isArray(line.LinkedTxn)) continue;
    for (const link of line.LinkedTxn)
      if (isObject(link) && link.TxnType === 'Invoice' && typeof link.TxnId === 'string')
        out.push({ invoiceId: link.TxnId, amount: amountOf(line.Amount) });
  }
  return out;
}

/** The amounts applied to one invoice by every payment except `excludePaymentId`. */
export function appliedTo(
  company: Company,
  invoiceId: string,
  excludePaymentId?: string,
): { total: Big; paymentIds: string[] } {
  const parts: Big[] = [];
  const ids: string[] = [];
  for (const [id, row] of company.table('Payment')) {
    if (id === excludePaymentId) continue;
    for (const app of paymentApplications(row.data))
      if (app.invoiceId === invoiceId && app.amount.gt(0)) {
        parts.push(app.amount);
        if (!ids.includes(id)) ids.push(id);
      }
  }
  return { total: sum(parts), paymentIds: ids };
}

/** Balance and LinkedTxn of an invoice with the given total. */
export function invoiceDerived(
  company: Company,
  invoiceId: string | undefined,
  totalAmt: Big,
): { Balance: number; LinkedTxn: { TxnId: string; TxnType: string }[] } {
  if (!invoiceId) return { Balance: toJsonNumber(totalAmt), LinkedTxn: [] };
  const { total, paymentIds } = appliedTo(company, invoiceId);
  const balance = isVoided(company, 'Invoice', invoiceId) ? ZERO : totalAmt.minus(total);
  return {
    Balance: toJsonNumber(balance),
    LinkedTxn: paymentIds.map((TxnId) => ({ TxnId, TxnType: 'Payment' })),
  };
}

export interface Touched {
  invoices: Set<string>;
  customers: Set<string>;
  vendors: Set<string>;
}

export const touched = (): Touched => ({
  invoices: new Set(),
  customers: new Set(),
  vendors: new Set(),
});

/** Records what a transaction (before and/or after a write) can affect. */
export function touch(t: Touched, entity: EntityName, obj: QboObject | undefined): void {
  if (!obj) return;
  if (entity === 'Invoice' || entity === 'Payment') {
    const c = refId(obj.CustomerRef);
    if (c) t.customers.add(c);
  }
  if (entity === 'Payment') for (const a of paymentApplications(obj)) t.invoices.add(a.invoiceId);
  if (entity === 'Bill') {
    const v = refId(obj.VendorRef);
    if (v) t.vendors.add(v);
  }
}

/**
 * Brings derived balances up to date. An invoice whose Balance or LinkedTxn changes is an
 * update of its own (SyncToken + 1, CDC and webhooks see it). Customer and Vendor balances
 * are rewritten in place: QBO computes them on read and does not version them ⚠.
 */
export function refreshBalances(company: Company, t: Touched, now: number): void {
  for (const id of t.invoices) {
    const inv = company.get('Invoice', id);
    if (!inv) continue;
    const d = invoiceDerived(company, id, amountOf(inv.TotalAmt));
    const c = refId(inv.CustomerRef);
    if (c) t.customers.add(c);
    if (d.Balance === inv.Balance && JSON.stringify(d.LinkedTxn) === JSON.stringify(inv.LinkedTxn))
      continue;
    const next: QboObject = {
      ...inv,
      ...d,
      SyncToken: String(Number(inv.SyncToken) + 1),
      MetaData: { ...inv.MetaData, LastUpdatedTime: company.formatTime(now) },
    };
    company.put('Invoice', next, now, 'Update');
  }
  const customers = new Set(t.customers);
  // A job's balance rolls up into its parents' BalanceWithJobs.
  for (const id of [...customers]) {
    let parent = refId(company.get('Customer', id)?.ParentRef);
    while (parent && !customers.has(parent)) {
      customers.add(parent);
      parent = refId(company.get('Customer', parent)?.ParentRef);
    }
  }
  for (const id of customers) rewrite(company, 'Customer', id, customerBalances(company, id));
  for (const id of t.vendors) rewrite(company, 'Vendor', id, vendorBalance(company, id));
}

function rewrite(company: Company, entity: EntityName, id: string, fields: Record<string, number>) {
  const row = company.table(entity).get(id);
  if (!row) return;
  if (Object.entries(fields).every(([k, v]) => row.data[k] === v)) return;
  company.put(entity, { ...row.data, ...fields }, row.updatedAt, null);
}

function ownCustomerBalance(company: Company, customerId: string): Big {
  const parts: Big[] = [];
  for (const row of company.table('Invoice').values())
    if (refId(row.data.CustomerRef) === customerId) parts.push(amountOf(row.data.Balance));
  for (const row of company.table('Payment').values())
    if (refId(row.data.CustomerRef) === customerId)
      parts.push(amountOf(row.data.UnappliedAmt).neg());
  return sum(parts);
}

function customerBalances(company: Company, customerId: string): Record<string, number> {
  const own = ownCustomerBalance(company, customerId);
  const withJobs = (id: string, depth: number): Big => {
    let total = ownCustomerBalance(company, id);
    if (depth > 10) return total;
    for (const [childId, row] of company.table('Customer'))
      if (refId(row.data.ParentRef) === id) total = total.plus(withJobs(childId, depth + 1));
    return total;
  };
  return { Balance: toJsonNumber(own), BalanceWithJobs: toJsonNumber(withJobs(customerId, 0)) };
}

function vendorBalance(company: Company, vendorId: string): Record<string, number> {
  const parts: Big[] = [];
  for (const row of company.table('Bill').values())
    if (refId(row.data.VendorRef) === vendorId) parts.push(amountOf(row.data.Balance));
  return { Balance: toJsonNumber(sum(parts)) };
}
