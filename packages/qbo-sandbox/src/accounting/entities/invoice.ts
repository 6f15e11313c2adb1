import type { QboObject } from '../../core/company.ts';
import { Faults } from '../../core/faults.ts';
import { invoiceDerived } from '../balances.ts';
import { toJsonNumber } from '../money.ts';
import {
  bool,
  isObject,
  pick,
  refTo,
  refValue,
  requiredParam,
  resolveRef,
  text,
  type Fields,
} from '../validate.ts';
import { addDays, dateField, normaliseSalesLines } from './lines.ts';
import { USD } from './people.ts';
import type { EntitySpec, OpContext } from './types.ts';

const PASSTHROUGH = [
  'PrivateNote',
  'CustomerMemo',
  'ClassRef',
  'DepartmentRef',
  'SalesRepRef',
  'PONumber',
  'ShipDate',
  'ShipMethodRef',
  'TrackingNum',
  'ShipFromAddr',
  'BillEmailCc',
  'BillEmailBcc',
  'CustomField',
  'PaymentMethodRef',
  'DepositToAccountRef',
];

/** DueDays of a term reference, validating it (2500 for a missing/inactive Term). */
export function termDueDays(op: OpContext, ref: unknown, path: string): number | undefined {
  if (ref === undefined || ref === null) return undefined;
  const term = resolveRef(op.company, 'Term', ref, path);
  return typeof term.DueDays === 'number' ? term.DueDays : 0;
}

/**
 * 6140 when another invoice already carries the number: QBO's default "warn on duplicate
 * numbers", bypassed by `include=allowduplicatedocnum` (node-quickbooks `allowDuplicateDocNum`).
 */
function assertDocNumberFree(op: OpContext, docNumber: string, selfId?: string): void {
  if ((op.query.include ?? '').toLowerCase().split(',').includes('allowduplicatedocnum')) return;
  for (const [id, row] of op.company.table('Invoice'))
    if (id !== selfId && row.data.DocNumber === docNumber)
      throw Faults.duplicateDocNumber(docNumber);
}

/** Chargebee KB "QBO Error Code:2050": QBO takes at most 21 characters in an invoice number. */
export const MAX_DOC_NUMBER_LENGTH = 21;

/**
 * The invoice's currency (Intuit docs "Manage multiple currencies"): without multicurrency a
 * company records transactions only in its home currency, and with it a transaction is in
 * its customer's currency (a customer has exactly one). QBO's wording for the refusal is not
 * documented ⚠: a 6000 business validation error naming the currencies.
 */
function invoiceCurrency(op: OpContext, fields: Fields, customer: Fields): Fields {
  // A company whose Preferences were never read has the defaults: USD, multicurrency off.
  const prefs = op.company.get('Preferences', '1')?.CurrencyPrefs as Fields | undefined;
  const home = refValue(prefs?.HomeCurrency) ?? 'USD';
  const multi = prefs?.MultiCurrencyEnabled === true;
  const customerCurrency = refValue(customer.CurrencyRef) ?? home;
  const wanted = refValue(fields.CurrencyRef) ?? customerCurrency;
  if (!multi && wanted !== home)
    throw Faults.businessValidation(
      `Multicurrency is not enabled for this company: transactions must be in the home currency ${home}, not ${wanted}.`,
      'CurrencyRef',
    );
  if (wanted !== customerCurrency)
    throw Faults.businessValidation(
      `The transaction currency ${wanted} must match the customer's currency ${customerCurrency}.`,
      'CurrencyRef',
    );
  return wanted === 'USD' ? USD : { value: wanted };
}

/**
 * Invoice as QBO fills it on create (rec create/invoice): DocNumber, TxnDate, DueDate,
 * TotalAmt from the lines, a SubTotalLineDetail line, Balance, EmailStatus, PrintStatus,
 * the customer's addresses, and the Allow* flags.
 */
export const invoiceSpec: EntitySpec = {
  entity: 'Invoice',
  kind: 'txn',
  publicCreate: true,
  voidable: true,
  build({ fields, existing, op }) {
    const { company } = op;
    const customer = resolveRef(company, 'Customer', fields.CustomerRef, 'CustomerRef');
    if (fields.Line === undefined || fields.Line === null) throw requiredParam('Line');
    const { lines, total } = normaliseSalesLines(company, fields.Line);
    const txnDate =
      dateField(fields.TxnDate, 'TxnDate') ?? (existing?.TxnDate as string) ?? op.today;
    const termRef = fields.SalesTermRef ?? customer.SalesTermRef;
    const dueDays = termDueDays(op, termRef, 'SalesTermRef');
    // rec create/invoice: no terms → DueDate 30 days after TxnDate (the sandbox company's
    // default terms, Net 30).
    const dueDate = dateField(fields.DueDate, 'DueDate') ?? addDays(txnDate, dueDays ?? 30);
    const currencyRef = invoiceCurrency(op, fields, customer);
    let docNumber = text(fields.DocNumber) ?? (existing?.DocNumber as string | undefined);
    if (docNumber !== undefined && docNumber.length > MAX_DOC_NUMBER_LENGTH)
      throw Faults.stringLength('DocNumber', MAX_DOC_NUMBER_LENGTH);
    if (docNumber !== undefined) assertDocNumberFree(op, docNumber, existing?.Id);
    if (docNumber !== undefined) company.reserveDocNumber(docNumber);
    else docNumber = company.nextDocNumber();
    const derived = invoiceDerived(company, existing?.Id, total);
    const email = isObject(customer.PrimaryEmailAddr) ? customer.PrimaryEmailAddr : undefined;
    const out: Fields = {
      AllowIPNPayment: bool(fields.AllowIPNPayment, false),
      AllowOnlinePayment: bool(fields.AllowOnlinePayment, false),
      AllowOnlineCreditCardPayment: bool(fields.AllowOnlineCreditCardPayment, false),
      AllowOnlineACHPayment: bool(fields.AllowOnlineACHPayment, false),
      DocNumber: docNumber,
      TxnDate: txnDate,
      CurrencyRef: currencyRef,
      ...pick(fields, PASSTHROUGH),
      LinkedTxn: derived.LinkedTxn,
      Line: lines,
      TxnTaxDetail: { TotalTax: 0 },
      CustomerRef: refTo(customer.Id, customer.DisplayName),
      ...(termRef ? { SalesTermRef: termRef } : {}),
    };
    const billAddr = fields.BillAddr ?? customer.BillAddr;
    const shipAddr = fields.ShipAddr ?? customer.ShipAddr;
    if (billAddr) out.BillAddr = billAddr;
    if (shipAddr) out.ShipAddr = shipAddr;
    const billEmail = fields.BillEmail ?? (email ? { Address: email.Address } : undefined);
    if (billEmail) out.BillEmail = billEmail;
    Object.assign(out, {
      DueDate: dueDate,
      TotalAmt: toJsonNumber(total),
      ApplyTaxAfterDiscount: bool(fields.ApplyTaxAfterDiscount, false),
      PrintStatus: text(fields.PrintStatus) ?? 'NeedToPrint',
      EmailStatus: text(fields.EmailStatus) ?? 'NotSet',
      Balance: derived.Balance,
    });
    return out;
  },
  /** rec void/invoice-2: every amount 0, `PrivateNote: "Voided"`, the rest kept. */
  voided(existing: QboObject) {
    const lines = Array.isArray(existing.Line) ? (existing.Line as Fields[]) : [];
    return {
      ...stripSystem(existing),
      PrivateNote: 'Voided',
      Line: lines.map((l) => (l.Amount === undefined ? l : { ...l, Amount: 0 })),
      TxnTaxDetail: { TotalTax: 0 },
      TotalAmt: 0,
      Balance: 0,
    };
  },
};

export function stripSystem(obj: QboObject): Fields {
  const { Id: _i, SyncToken: _s, MetaData: _m, domain: _d, sparse: _p, ...rest } = obj;
  return rest;
}
