import type Big from 'big.js';
import type { Company, QboObject } from '../../core/company.ts';
import { Faults } from '../../core/faults.ts';
import { roundMoney, sum, toJsonNumber, ZERO } from '../money.ts';
import {
  amountCalculationIncorrect,
  decimal,
  isObject,
  pick,
  refTo,
  requiredParam,
  resolveRef,
  text,
  type Fields,
} from '../validate.ts';

/** Transaction lines normalised, with the decimal amounts they contribute. */
export interface NormalisedLines {
  lines: Fields[];
  /** Sum of item/account lines (before discounts). */
  subtotal: Big;
  total: Big;
}

/** QBO's binder takes a single object where an array is expected; anything else is 2010. */
function lineArray(v: unknown): Fields[] {
  if (v === undefined || v === null) throw requiredParam('Line');
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((l) => {
    if (!isObject(l)) throw Faults.malformedBody('Line: Can not deserialize instance of Line');
    return l;
  });
}

/** Keeps the Ids of lines that have one, numbers the rest after the highest (rec create/invoice). */
function lineIds(input: Fields[]): string[] {
  let max = 0;
  for (const l of input) {
    const n = Number(text(l.Id));
    if (Number.isInteger(n) && n > max) max = n;
  }
  return input.map((l) => text(l.Id) ?? String(++max));
}

/**
 * The amount of an item line: `Amount` as sent, else Qty × UnitPrice rounded to cents.
 * When all three are sent they must agree (IPP error 6070 "Amount is not equal to
 * Qty * UnitPrice"); ⚠ computing a missing Amount from Qty × UnitPrice is our reading.
 */
function itemAmount(line: Fields, detail: Fields, detailKey: string): Big {
  const amount = decimal(line.Amount, 'Line.Amount');
  const qty = decimal(detail.Qty, `Line.${detailKey}.Qty`);
  const price = decimal(detail.UnitPrice, `Line.${detailKey}.UnitPrice`);
  const computed = qty && price ? roundMoney(qty.times(price)) : undefined;
  if (amount === undefined) {
    if (computed === undefined) throw requiredParam('Line.Amount');
    return computed;
  }
  if (computed !== undefined && !computed.eq(amount))
    throw amountCalculationIncorrect(amount.toString());
  return amount;
}

function numberFields(detail: Fields, keys: string[], path: string): Fields {
  const out: Fields = {};
  for (const k of keys) {
    const b = decimal(detail[k], `${path}.${k}`);
    if (b) out[k] = toJsonNumber(b);
  }
  return out;
}

function detailOf(line: Fields, key: string): Fields {
  const d = line[key];
  if (d === undefined || d === null) throw requiredParam(`Line.${key}`);
  if (!isObject(d)) throw Faults.malformedBody(`Line.${key}: not an object`);
  return d;
}

function itemRef(company: Company, detail: Fields, path: string): Fields {
  const item: QboObject = resolveRef(company, 'Item', detail.ItemRef, path);
  return refTo(item.Id, item.Name);
}

/** Invoice lines: item lines, description-only lines, one discount; SubTotal is recomputed. */
export function normaliseSalesLines(company: Company, raw: unknown): NormalisedLines {
  const input = lineArray(raw).filter((l) => l.DetailType !== 'SubTotalLineDetail');
  if (input.length === 0) throw requiredParam('Line');
  const ids = lineIds(input);
  const items: Fields[] = [];
  const amounts: Big[] = [];
  const discounts: Fields[] = [];
  input.forEach((line, i) => {
    const type = text(line.DetailType) ?? (line.SalesItemLineDetail ? 'SalesItemLineDetail' : '');
    if (type === 'SalesItemLineDetail') {
      const detail = detailOf(line, 'SalesItemLineDetail');
      const amount = itemAmount(line, detail, 'SalesItemLineDetail');
      amounts.push(amount);
      items.push({
        Id: ids[i],
        LineNum: items.length + 1,
        ...pick(line, ['Description']),
        Amount: toJsonNumber(amount),
        DetailType: 'SalesItemLineDetail',
        SalesItemLineDetail: {
          ItemRef: itemRef(company, detail, 'Line.SalesItemLineDetail.ItemRef'),
          ...pick(detail, ['ClassRef', 'ServiceDate']),
          ...numberFields(detail, ['UnitPrice', 'Qty'], 'Line.SalesItemLineDetail'),
          // rec create/invoice: lines without a tax code come back as NON (not taxable).
          TaxCodeRef: isObject(detail.TaxCodeRef) ? detail.TaxCodeRef : { value: 'NON' },
        },
      });
    } else if (type === 'DescriptionOnly') {
      items.push({
        Id: ids[i],
        LineNum: items.length + 1,
        ...pick(line, ['Description']),
        DetailType: 'DescriptionOnly',
        DescriptionLineDetail: isObject(line.DescriptionLineDetail)
          ? line.DescriptionLineDetail
          : {},
      });
    } else if (type === 'DiscountLineDetail') {
      discounts.push({ ...line, Id: ids[i] });
    } else if (type === '') throw requiredParam('Line.DetailType');
    else throw Faults.malformedBody(`Line.DetailType:${type}`);
  });
  const subtotal = sum(amounts);
  let total = subtotal;
  const lines: Fields[] = [
    ...items,
    { Amount: toJsonNumber(subtotal), DetailType: 'SubTotalLineDetail', SubTotalLineDetail: {} },
  ];
  for (const d of discounts.slice(0, 1)) {
    const detail = isObject(d.DiscountLineDetail) ? d.DiscountLineDetail : {};
    const percent = decimal(detail.DiscountPercent, 'Line.DiscountLineDetail.DiscountPercent');
    const discount =
      detail.PercentBased === true && percent
        ? roundMoney(subtotal.times(percent).div(100))
        : (decimal(d.Amount, 'Line.Amount') ?? ZERO);
    total = total.minus(discount);
    lines.push({
      Id: d.Id,
      Amount: toJsonNumber(discount),
      DetailType: 'DiscountLineDetail',
      DiscountLineDetail: detail,
    });
  }
  return { lines, subtotal, total };
}

/** Bill lines: account-based or item-based expense lines (Intuit "Bill" reference). */
export function normaliseExpenseLines(company: Company, raw: unknown): NormalisedLines {
  const input = lineArray(raw);
  if (input.length === 0) throw requiredParam('Line');
  const ids = lineIds(input);
  const amounts: Big[] = [];
  const lines = input.map((line, i) => {
    const type = text(line.DetailType) ?? '';
    if (type === 'AccountBasedExpenseLineDetail') {
      const detail = detailOf(line, type);
      const acct = resolveRef(company, 'Account', detail.AccountRef, `Line.${type}.AccountRef`);
      const amount = decimal(line.Amount, 'Line.Amount');
      if (!amount) throw requiredParam('Line.Amount');
      amounts.push(amount);
      return {
        Id: ids[i],
        ...pick(line, ['Description']),
        Amount: toJsonNumber(amount),
        DetailType: type,
        [type]: {
          ...pick(detail, ['CustomerRef', 'ClassRef', 'TaxCodeRef', 'TaxAmount']),
          AccountRef: refTo(acct.Id, acct.FullyQualifiedName),
          BillableStatus: text(detail.BillableStatus) ?? 'NotBillable',
        },
      };
    }
    if (type === 'ItemBasedExpenseLineDetail') {
      const detail = detailOf(line, type);
      const amount = itemAmount(line, detail, type);
      amounts.push(amount);
      return {
        Id: ids[i],
        ...pick(line, ['Description']),
        Amount: toJsonNumber(amount),
        DetailType: type,
        [type]: {
          ItemRef: itemRef(company, detail, `Line.${type}.ItemRef`),
          ...pick(detail, ['CustomerRef', 'ClassRef', 'TaxCodeRef']),
          ...numberFields(detail, ['UnitPrice', 'Qty'], `Line.${type}`),
          BillableStatus: text(detail.BillableStatus) ?? 'NotBillable',
        },
      };
    }
    if (type === '') throw requiredParam('Line.DetailType');
    throw Faults.malformedBody(`Line.DetailType:${type}`);
  });
  const total = sum(amounts);
  return { lines, subtotal: total, total };
}

/** Adds days to a `YYYY-MM-DD` date. */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** A `YYYY-MM-DD` date field; anything else is the binder's 2010. */
export function dateField(v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = text(v);
  if (!s || !/^\d{4}-\d{2}-\d{2}$/.test(s) || Number.isNaN(Date.parse(`${s}T00:00:00Z`)))
    throw Faults.malformedBody(
      `${path}: Can not construct instance of java.util.Date from "${JSON.stringify(v)}"`,
    );
  return s;
}
