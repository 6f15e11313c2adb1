// Payment -> qbo_payments. The invoices it pays are its lines' LinkedTxn of type Invoice
// (docs "Payment": Line[].LinkedTxn[{TxnId, TxnType}]).
import { date, linkedTxnIds, money, ref, text, voided } from './fields.ts';
import { defineMapper } from './mapper.ts';

export const paymentMapper = defineMapper('Payment', {
  customer_qbo_id: ref('CustomerRef'),
  txn_date: date('TxnDate'),
  total_amt: money('TotalAmt'),
  unapplied_amt: money('UnappliedAmt'),
  currency: ref('CurrencyRef'),
  payment_ref_num: text('PaymentRefNum'),
  linked_invoice_qbo_ids: linkedTxnIds('Invoice'),
  voided,
});
