// Campaign invoice -> QBO Invoice JSON, and the few fields of QBO's answer stored back.
// Pure functions: no database, no HTTP.
import { createHash } from 'node:crypto';
import Big from 'big.js';
import { JsonDecimal, fromQboNumber } from './money.ts';
import type { PushableInvoice } from './validate.ts';

/** The DocNumber sent: the host's number, or one derived from the id (21 characters). */
export function docNumberOf(invoiceId: string, invoice: PushableInvoice): string {
  return invoice.invoiceNumber ?? `CI-${invoiceId.replace(/-/g, '').slice(0, 18).toUpperCase()}`;
}

const hex = (id: string) => id.replace(/-/g, '').toLowerCase();

// requestids (QBO: <= 50 characters, unique per company). Each names one logical operation,
// so a retry of that operation — after a crash, a timeout, a lost answer — sends the same
// one and QBO answers with the first result instead of writing twice, while an edit (a new
// version) or a retry after a stale SyncToken is a new operation with a new id.
export function createRequestId(invoiceId: string, version: number): string {
  return `wb-${hex(invoiceId)}-c${version}`;
}
export function updateRequestId(invoiceId: string, version: number, syncToken: string): string {
  return `wb-${hex(invoiceId)}-u${version}-${syncToken}`.slice(0, 50);
}
/** Whether `requestId` was a create of this invoice (any version). */
export function isCreateRequestOf(requestId: string | null, invoiceId: string): boolean {
  return requestId !== null && requestId.startsWith(`wb-${hex(invoiceId)}-c`);
}
/** A name-list create: the same name always gets the same requestid. */
export function nameRequestId(kind: 'cust' | 'item', name: string): string {
  const digest = createHash('sha256').update(name.trim().toLowerCase()).digest('hex');
  return `wb-${kind}-${digest.slice(0, 40)}`;
}

/** A string literal for QBO's query language: `\` escapes `\` and `'` (docs/qbo-facts.md). */
export function queryString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The Invoice fields every write sends (a create, or a sparse update with Id + SyncToken). */
export function invoiceFields(
  invoice: PushableInvoice,
  refs: { customerId: string; itemId: string; docNumber: string },
): Record<string, unknown> {
  return {
    CustomerRef: { value: refs.customerId },
    DocNumber: refs.docNumber,
    TxnDate: invoice.txnDate,
    ...(invoice.dueDate ? { DueDate: invoice.dueDate } : {}),
    ...(invoice.email ? { BillEmail: { Address: invoice.email } } : {}),
    Line: invoice.lines.map((l) => ({
      DetailType: 'SalesItemLineDetail',
      Amount: new JsonDecimal(l.amount),
      ...(l.description ? { Description: l.description } : {}),
      SalesItemLineDetail: {
        ItemRef: { value: refs.itemId },
        Qty: new JsonDecimal(l.quantity),
        UnitPrice: new JsonDecimal(l.unitPrice),
      },
    })),
  };
}

export type PaidStatus = 'unpaid' | 'partially_paid' | 'paid';

/** What is stored from a QBO Invoice object. */
export interface QboInvoiceState {
  id: string;
  syncToken: string;
  total: string | null;
  balance: string | null;
  voided: boolean;
  paidStatus: PaidStatus | null;
  /** The object QBO answered, for the mirror; absent when only the id and token are known. */
  raw?: Record<string, unknown>;
}

/** QBO voids by zeroing every amount and setting PrivateNote "Voided" (rec void/invoice-2). */
export function isVoidedInvoice(obj: Record<string, unknown>): boolean {
  return obj.PrivateNote === 'Voided' && fromQboNumber(obj.TotalAmt) === '0.00';
}

export function paidStatusOf(total: string | null, balance: string | null): PaidStatus | null {
  if (total === null || balance === null) return null;
  const b = new Big(balance);
  if (b.lte(0)) return new Big(total).gt(0) ? 'paid' : 'unpaid';
  return b.lt(new Big(total)) ? 'partially_paid' : 'unpaid';
}

export function invoiceStateOf(obj: Record<string, unknown>): QboInvoiceState {
  const voided = isVoidedInvoice(obj);
  const total = fromQboNumber(obj.TotalAmt);
  const balance = fromQboNumber(obj.Balance);
  return {
    id: String(obj.Id),
    syncToken: String(obj.SyncToken),
    total,
    balance,
    voided,
    paidStatus: voided ? null : paidStatusOf(total, balance),
    raw: obj,
  };
}
