import { toJsonNumber } from '../money.ts';
import {
  isObject,
  pick,
  refTo,
  requiredParam,
  resolveRef,
  text,
  type Fields,
} from '../validate.ts';
import { termDueDays } from './invoice.ts';
import { addDays, dateField, normaliseExpenseLines } from './lines.ts';
import { USD } from './people.ts';
import type { EntitySpec } from './types.ts';

/**
 * Bill (Intuit "Bill" reference; quickbooks-go testing/bill.json for the shape). The
 * sandbox has no BillPayment, so Balance stays TotalAmt. Bills cannot be voided in QBO.
 */
export const billSpec: EntitySpec = {
  entity: 'Bill',
  kind: 'txn',
  publicCreate: true,
  voidable: false,
  build({ fields, existing, op }) {
    const { company } = op;
    const vendor = resolveRef(company, 'Vendor', fields.VendorRef, 'VendorRef');
    if (fields.Line === undefined || fields.Line === null) throw requiredParam('Line');
    const { lines, total } = normaliseExpenseLines(company, fields.Line);
    let apAccount: Fields | undefined;
    if (fields.APAccountRef) {
      const a = resolveRef(company, 'Account', fields.APAccountRef, 'APAccountRef');
      apAccount = refTo(a.Id, a.FullyQualifiedName);
    } else {
      // QBO posts to the company's Accounts Payable account when none is given.
      for (const row of company.table('Account').values())
        if (row.data.AccountType === 'Accounts Payable' && row.data.Active !== false) {
          apAccount = refTo(row.data.Id, row.data.FullyQualifiedName);
          break;
        }
    }
    const txnDate =
      dateField(fields.TxnDate, 'TxnDate') ?? (existing?.TxnDate as string) ?? op.today;
    const termRef = fields.SalesTermRef ?? vendor.TermRef;
    const dueDays = termDueDays(op, termRef, 'SalesTermRef');
    // Intuit "Bill" reference: DueDate defaults to TxnDate plus the term's days ⚠ (and to
    // TxnDate without terms).
    const dueDate = dateField(fields.DueDate, 'DueDate') ?? addDays(txnDate, dueDays ?? 0);
    const docNumber = text(fields.DocNumber);
    return {
      ...(apAccount ? { APAccountRef: apAccount } : {}),
      VendorRef: refTo(vendor.Id, vendor.DisplayName),
      ...(docNumber ? { DocNumber: docNumber } : {}),
      TxnDate: txnDate,
      CurrencyRef: isObject(fields.CurrencyRef) ? fields.CurrencyRef : USD,
      ...pick(fields, ['PrivateNote', 'DepartmentRef', 'VendorAddr']),
      LinkedTxn: [],
      ...(termRef ? { SalesTermRef: termRef } : {}),
      DueDate: dueDate,
      TotalAmt: toJsonNumber(total),
      Line: lines,
      Balance: toJsonNumber(total),
    };
  },
};
