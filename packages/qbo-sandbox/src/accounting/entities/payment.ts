import type Big from 'big.js';
import type { QboObject } from '../../core/company.ts';
import { Faults } from '../../core/faults.ts';
import { appliedTo, isVoided } from '../balances.ts';
import { sum, toBig, toJsonNumber, ZERO } from '../money.ts';
import {
  businessRule,
  decimal,
  invalidReference,
  isObject,
  pick,
  refTo,
  requiredParam,
  resolveRef,
  text,
} from '../validate.ts';
import { dateField } from './lines.ts';
import { stripSystem } from './invoice.ts';
import { USD } from './people.ts';
import type { EntitySpec, OpContext } from './types.ts';

function linkedInvoice(op: OpContext, link: unknown, customerId: string): QboObject {
  if (!isObject(link)) throw Faults.malformedBody('Line.LinkedTxn: not an object');
  const type = text(link.TxnType);
  const id = text(link.TxnId);
  if (!id) throw requiredParam('Line.LinkedTxn.TxnId');
  if (type !== 'Invoice')
    // ⚠ The sandbox applies payments to invoices only (no credit memos or journal entries).
    throw businessRule(`Unsupported linked transaction type: ${String(type)}`, 'Line.LinkedTxn');
  const invoice = op.company.get('Invoice', id);
  if (!invoice) throw invalidReference('Line.LinkedTxn.TxnId');
  if (!isObject(invoice.CustomerRef) || invoice.CustomerRef.value !== customerId)
    throw businessRule(
      `The invoice ${id} belongs to another customer than this payment`,
      'Line.LinkedTxn',
    );
  return invoice;
}

/**
 * Payment (Intuit "Payment" reference): lines link invoices; whatever TotalAmt leaves
 * unlinked is UnappliedAmt ("If TotalAmt exceeds the sum of linked transactions, the
 * remainder is treated as an unapplied amount"). Linking more than an invoice's open
 * balance, or more than TotalAmt, is refused ⚠ (QBO's UI cannot do either).
 */
export const paymentSpec: EntitySpec = {
  entity: 'Payment',
  kind: 'txn',
  publicCreate: true,
  voidable: true,
  build({ fields, existing, op }) {
    const { company } = op;
    const customer = resolveRef(company, 'Customer', fields.CustomerRef, 'CustomerRef');
    const totalAmt = decimal(fields.TotalAmt, 'TotalAmt');
    if (!totalAmt) throw requiredParam('TotalAmt');
    if (totalAmt.lt(0)) throw businessRule('TotalAmt cannot be negative', 'TotalAmt');
    const rawLines = fields.Line === undefined || fields.Line === null ? [] : fields.Line;
    const input = Array.isArray(rawLines) ? rawLines : [rawLines];
    const amounts: Big[] = [];
    const perInvoice = new Map<string, Big>();
    const lines = input.map((line) => {
      if (!isObject(line)) throw Faults.malformedBody('Line: Can not deserialize instance of Line');
      const amount = decimal(line.Amount, 'Line.Amount');
      if (!amount) throw requiredParam('Line.Amount');
      const links = Array.isArray(line.LinkedTxn) ? line.LinkedTxn : [line.LinkedTxn];
      if (line.LinkedTxn === undefined || links.length === 0) throw requiredParam('Line.LinkedTxn');
      const linked = links.map((l) => linkedInvoice(op, l, customer.Id));
      for (const inv of linked)
        perInvoice.set(inv.Id, (perInvoice.get(inv.Id) ?? ZERO).plus(amount));
      amounts.push(amount);
      return {
        Amount: toJsonNumber(amount),
        LinkedTxn: linked.map((inv) => ({ TxnId: inv.Id, TxnType: 'Invoice' })),
      };
    });
    for (const [invoiceId, amount] of perInvoice) {
      const inv = company.get('Invoice', invoiceId)!;
      const others = appliedTo(company, invoiceId, existing?.Id).total;
      const open = (toBig(inv.TotalAmt) ?? ZERO).minus(others);
      if (isVoided(company, 'Invoice', invoiceId) || amount.gt(open))
        throw businessRule(
          `The payment amount ${amount.toString()} exceeds the open balance ${open.toString()} of invoice ${invoiceId}`,
          'Line.Amount',
        );
    }
    const applied = sum(amounts);
    if (applied.gt(totalAmt))
      throw businessRule(
        'The amount applied to transactions exceeds the payment TotalAmt',
        'TotalAmt',
      );
    for (const [k, entity] of [
      ['PaymentMethodRef', 'PaymentMethod'],
      ['DepositToAccountRef', 'Account'],
      ['ARAccountRef', 'Account'],
    ] as const)
      if (fields[k] !== undefined && fields[k] !== null) resolveRef(company, entity, fields[k], k);
    return {
      CustomerRef: refTo(customer.Id, customer.DisplayName),
      ...pick(fields, [
        'DepositToAccountRef',
        'PaymentMethodRef',
        'PaymentRefNum',
        'ARAccountRef',
        'PrivateNote',
        'DocNumber',
        'CreditCardPayment',
      ]),
      TotalAmt: toJsonNumber(totalAmt),
      UnappliedAmt: toJsonNumber(totalAmt.minus(applied)),
      ProcessPayment: fields.ProcessPayment === true,
      TxnDate: dateField(fields.TxnDate, 'TxnDate') ?? existing?.TxnDate ?? op.today,
      CurrencyRef: isObject(fields.CurrencyRef) ? fields.CurrencyRef : USD,
      LinkedTxn: [],
      Line: lines,
    };
  },
  /**
   * quickbooks-ruby payment_void_response_success.xml: TotalAmt and UnappliedAmt 0,
   * `PrivateNote: "Voided"`, no lines (the invoices it paid are open again).
   */
  voided(existing: QboObject) {
    return {
      ...stripSystem(existing),
      PrivateNote: 'Voided',
      TotalAmt: 0,
      UnappliedAmt: 0,
      Line: [],
    };
  },
};
