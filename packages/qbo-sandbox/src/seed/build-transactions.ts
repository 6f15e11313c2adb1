import type { QboObject } from '../core/company.ts';
import { BILL_EXPENSE_ACCOUNTS, DEFAULT_DUE_DAYS } from './chart.ts';
import { HOUR, USD, addDays, money, type SeedContext, type SeedRow } from './context.ts';
import type { AccountInfo, ItemInfo, PartyInfo, Ref } from './build-lists.ts';
import { MEMOS } from './names.ts';
import type { SeedCounts } from './options.ts';

export interface TransactionLists {
  accounts: Map<string, AccountInfo>;
  items: ItemInfo[];
  customers: PartyInfo[];
  vendors: PartyInfo[];
  paymentMethods: Ref[];
}

interface OpenInvoice {
  row: SeedRow;
  customer: PartyInfo;
  balance: number;
  /** Index in the open list, for O(1) removal. */
  pos: number;
}

export interface TransactionTotals {
  /** Sum of open invoice balances (A/R). */
  receivable: number;
  /** Sum of payments received (Undeposited Funds). */
  received: number;
  /** Sum of open bill balances (A/P). */
  payable: number;
}

const LINE_COUNTS = [1, 1, 1, 1, 2, 2, 2, 3, 3, 4] as const;

/**
 * Plays the company's history forward in time: invoices, payments and bills interleaved,
 * each picked in proportion to what remains, so Ids (one sequence shared by all
 * transactions, as QBO's: cdc/basic has Estimate 48 linked to Invoice 49) and
 * CreateTime rise together, and every payment comes after the invoices it pays.
 */
export function buildTransactions(
  ctx: SeedContext,
  counts: SeedCounts,
  lists: TransactionLists,
  days: number,
): TransactionTotals {
  const { rng } = ctx;
  const total = counts.invoices + counts.payments + counts.bills;
  // The first day is setup (accounts, items, names); activity runs 18:00 day 1 to the end.
  const start = ctx.base + 18 * HOUR;
  const span = days * 24 * HOUR - 19 * HOUR;
  const slot = span / Math.max(total, 1);
  const open: OpenInvoice[] = [];
  const openByCustomer = new Map<PartyInfo, OpenInvoice[]>();
  const totals: TransactionTotals = { receivable: 0, received: 0, payable: 0 };
  const left = { invoices: counts.invoices, payments: counts.payments, bills: counts.bills };
  let nextTxnId = 1;
  let docNumber = 1000;
  const undeposited = lists.accounts.get('undeposited')!.ref.value;
  const ap = lists.accounts.get('ap')!.ref;
  const expenseAccounts = BILL_EXPENSE_ACCOUNTS.map((k) => lists.accounts.get(k)!.ref);
  const vendorAccount = lists.vendors.map(() => rng.pick(expenseAccounts));

  for (let k = 0; k < total; k++) {
    const at = Math.floor((start + k * slot + rng.next() * slot) / 1000) * 1000;
    const txnDate = ctx.date(at);
    const id = String(nextTxnId++);
    const remaining = left.invoices + left.payments + left.bills;
    let pick = rng.next() * remaining;
    let kind: 'invoice' | 'payment' | 'bill' =
      (pick -= left.invoices) < 0 ? 'invoice' : (pick -= left.payments) < 0 ? 'payment' : 'bill';
    // Keep every payment payable: never run out of open invoices before payments.
    // (open + invoices still to come >= payments still to come, so an invoice is left.)
    if (kind === 'payment' && open.length === 0) kind = 'invoice';

    if (kind === 'invoice') {
      left.invoices--;
      const r = rng.next();
      const customer = lists.customers[Math.floor(r * r * lists.customers.length)]!;
      const lines: Record<string, unknown>[] = [];
      let sum = 0;
      const lineCount = rng.pick(LINE_COUNTS);
      for (let l = 1; l <= lineCount; l++) {
        const item = rng.pick(lists.items);
        const qty = rng.int(1, 12);
        const amount = item.unitCents * qty;
        sum += amount;
        lines.push({
          Id: String(l),
          LineNum: l,
          Description: item.description,
          Amount: money(amount),
          DetailType: 'SalesItemLineDetail',
          SalesItemLineDetail: {
            ItemRef: { ...item.ref },
            UnitPrice: money(item.unitCents),
            Qty: qty,
            TaxCodeRef: { value: 'NON' },
          },
        });
      }
      lines.push({ Amount: money(sum), DetailType: 'SubTotalLineDetail', SubTotalLineDetail: {} });
      const dueDays = customer.term?.dueDays ?? DEFAULT_DUE_DAYS;
      // Key order of qbo_api create/invoice.
      const data = {
        AllowIPNPayment: false,
        AllowOnlinePayment: false,
        AllowOnlineCreditCardPayment: false,
        AllowOnlineACHPayment: false,
        ...ctx.head(id, at),
        DocNumber: String(++docNumber),
        TxnDate: txnDate,
        CurrencyRef: { ...USD },
        LinkedTxn: [] as { TxnId: string; TxnType: string }[],
        Line: lines,
        TxnTaxDetail: { TotalTax: 0 },
        CustomerRef: { ...customer.ref },
        ...(rng.bool(0.3) ? { CustomerMemo: { value: rng.pick(MEMOS) } } : {}),
        ...(customer.billAddr ? { BillAddr: { ...customer.billAddr } } : {}),
        ...(customer.shipAddr ? { ShipAddr: { ...customer.shipAddr } } : {}),
        ...(customer.term ? { SalesTermRef: { value: customer.term.id } } : {}),
        DueDate: addDays(txnDate, dueDays),
        TotalAmt: money(sum),
        ApplyTaxAfterDiscount: false,
        PrintStatus: customer.email ? 'NotSet' : 'NeedToPrint',
        EmailStatus: customer.email ? 'NeedToSend' : 'NotSet',
        ...(customer.email ? { BillEmail: { Address: customer.email } } : {}),
        Balance: money(sum),
      } as unknown as QboObject;
      const inv: OpenInvoice = {
        row: ctx.add('Invoice', data, at),
        customer,
        balance: sum,
        pos: open.length,
      };
      customer.balance += sum;
      ctx.touch(customer.row, at);
      if (sum > 0) {
        open.push(inv);
        let list = openByCustomer.get(customer);
        if (!list) openByCustomer.set(customer, (list = []));
        list.push(inv);
      }
    } else if (kind === 'payment') {
      left.payments--;
      const slotIndex = Math.floor(rng.next() * open.length);
      const first = open[slotIndex]!;
      const customer = first.customer;
      const paid: { inv: OpenInvoice; amount: number }[] = [];
      // A third of payments are partial (a deposit or instalment), the rest settle in full.
      const partial = first.balance >= 200 && rng.bool(0.35);
      let amount = first.balance;
      if (partial) {
        amount = Math.floor((first.balance * (0.2 + rng.next() * 0.6)) / 100) * 100;
        if (amount <= 0 || amount >= first.balance) amount = Math.floor(first.balance / 2);
      }
      paid.push({ inv: first, amount });
      // Sometimes one cheque settles two invoices; only while enough invoices stay open
      // (or are still to come) for the remaining payments.
      const closesFirst = amount === first.balance ? 1 : 0;
      if (rng.bool(0.15) && open.length - closesFirst - 1 + left.invoices >= left.payments) {
        const second = (openByCustomer.get(customer) ?? []).find(
          (o) => o !== first && o.balance > 0,
        );
        if (second) paid.push({ inv: second, amount: second.balance });
      }
      let totalAmt = 0;
      const lines = paid.map(({ inv, amount: a }) => {
        inv.balance -= a;
        totalAmt += a;
        inv.row.data.Balance = money(inv.balance);
        (inv.row.data.LinkedTxn as { TxnId: string; TxnType: string }[]).push({
          TxnId: id,
          TxnType: 'Payment',
        });
        ctx.touch(inv.row, at);
        return {
          Amount: money(a),
          LinkedTxn: [{ TxnId: inv.row.data.Id, TxnType: 'Invoice' }],
        };
      });
      for (const { inv } of paid) if (inv.balance === 0) removeOpen(open, openByCustomer, inv);
      customer.balance -= totalAmt;
      ctx.touch(customer.row, at);
      totals.received += totalAmt;
      const method = rng.pick(lists.paymentMethods);
      // Field set of the Payment entity docs' sample response.
      const data = {
        ...ctx.head(id, at),
        TxnDate: txnDate,
        CurrencyRef: { ...USD },
        Line: lines,
        CustomerRef: { ...customer.ref },
        DepositToAccountRef: { value: undeposited },
        PaymentMethodRef: { value: method.value },
        ...(method.name === 'Check' ? { PaymentRefNum: String(rng.int(1000, 9999)) } : {}),
        TotalAmt: money(totalAmt),
        UnappliedAmt: 0,
        ProcessPayment: false,
      } as unknown as QboObject;
      ctx.add('Payment', data, at);
    } else {
      left.bills--;
      const vi = rng.int(0, lists.vendors.length - 1);
      const vendor = lists.vendors[vi]!;
      const lineCount = rng.int(1, 3);
      const lines: Record<string, unknown>[] = [];
      let sum = 0;
      for (let l = 1; l <= lineCount; l++) {
        const amount = rng.int(1000, 250000);
        sum += amount;
        const account = l === 1 ? vendorAccount[vi]! : rng.pick(expenseAccounts);
        lines.push({
          Id: String(l),
          LineNum: l,
          Description: `${account.name.split(':').pop()} for ${txnDate.slice(0, 7)}`,
          Amount: money(amount),
          DetailType: 'AccountBasedExpenseLineDetail',
          AccountBasedExpenseLineDetail: {
            AccountRef: { ...account },
            BillableStatus: 'NotBillable',
            TaxCodeRef: { value: 'NON' },
          },
        });
      }
      // QBO has no sandbox default for bill terms on record; 30 days mirrors invoices.
      const dueDays = vendor.term?.dueDays ?? DEFAULT_DUE_DAYS;
      // Key order of quickbooks-go bill.json. No BillPayment exists in the sandbox, so bills stay open.
      const data = {
        ...ctx.head(id, at),
        ...(rng.bool(0.6) ? { DocNumber: `V${rng.int(10000, 99999)}` } : {}),
        TxnDate: txnDate,
        CurrencyRef: { ...USD },
        ...(vendor.term ? { SalesTermRef: { value: vendor.term.id } } : {}),
        DueDate: addDays(txnDate, dueDays),
        Line: lines,
        VendorRef: { ...vendor.ref },
        APAccountRef: { ...ap },
        TotalAmt: money(sum),
        Balance: money(sum),
      } as unknown as QboObject;
      ctx.add('Bill', data, at);
      vendor.balance += sum;
      ctx.touch(vendor.row, at);
      totals.payable += sum;
    }
  }
  for (const o of open) totals.receivable += o.balance;
  return totals;
}

function removeOpen(
  open: OpenInvoice[],
  byCustomer: Map<PartyInfo, OpenInvoice[]>,
  inv: OpenInvoice,
): void {
  const last = open.pop()!;
  if (last !== inv) {
    open[inv.pos] = last;
    last.pos = inv.pos;
  }
  const list = byCustomer.get(inv.customer);
  const j = list ? list.indexOf(inv) : -1;
  if (list && j >= 0) {
    list[j] = list[list.length - 1]!;
    list.pop();
  }
}
