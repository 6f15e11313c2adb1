// Invoice -> qbo_invoices (rec create/invoice, void/invoice-*, delete/invoice-*). A voided
// invoice stays an invoice with zero amounts (`voided`); a deleted one arrives as a stub and
// never reaches a mapper (see sync/upsert.ts).
import { date, money, ref, text, voided } from './fields.ts';
import { defineMapper } from './mapper.ts';

export const invoiceMapper = defineMapper('Invoice', {
  doc_number: text('DocNumber'),
  customer_qbo_id: ref('CustomerRef'),
  customer_name: text('CustomerRef.name'),
  txn_date: date('TxnDate'),
  due_date: date('DueDate'),
  total_amt: money('TotalAmt'),
  balance: money('Balance'),
  currency: ref('CurrencyRef'),
  email_status: text('EmailStatus'),
  voided,
});
