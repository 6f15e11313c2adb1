// Field readers the entity mappers are built from. Each turns one QBO JSON value into what
// its mirror column accepts, and never throws: a value the column cannot hold becomes null
// (the whole object stays in `raw`), so one odd object never fails a 1,000-row page.
//   - money: a decimal string, never a float computation. JSON numbers arrive parsed; a
//     number with at most 15 significant digits prints back as exactly the decimal QBO sent
//     (ECMAScript Number::toString is the shortest round-trip form), which covers every
//     numeric(18,2) amount below 10^13. Larger or non-finite values become null.
//   - dates: QBO's `YYYY-MM-DD` (TxnDate, DueDate), checked to be a real calendar day
//     Postgres accepts (year 0001 or later).
//   - text: Postgres text cannot hold NUL, so NUL characters are removed.
import { parseQboTime } from '../types.ts';

export type Reader<T> = (o: Record<string, unknown>) => T;

/** The value at a dotted path (`PrimaryEmailAddr.Address`), or undefined. */
export function at(o: Record<string, unknown>, path: string): unknown {
  let v: unknown = o;
  for (const key of path.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

export function cleanText(v: string): string {
  return v.includes('\0') ? v.replaceAll('\0', '') : v;
}

export function text(path: string): Reader<string | null> {
  return (o) => {
    const v = at(o, path);
    if (typeof v === 'string') return cleanText(v);
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    return null;
  };
}

/** A reference's id: `CustomerRef: {value: "1", name: "…"}` → "1". */
export function ref(path: string): Reader<string | null> {
  return text(`${path}.value`);
}

const DECIMAL = /^-?\d{1,16}(\.\d+)?$/;

/** Largest magnitude a numeric(18,2) column holds. */
const MONEY_LIMIT = 1e16;

export function decimalString(v: unknown): string | null {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || Math.abs(v) >= MONEY_LIMIT) return null;
    const s = String(v);
    // Exponent form (|v| < 1e-6): far below a cent; numeric would round it to 0.00 anyway.
    return s.includes('e') ? v.toFixed(20).replace(/\.?0+$/, '') : s;
  }
  if (typeof v === 'string' && DECIMAL.test(v.trim())) return v.trim();
  return null;
}

export function money(path: string): Reader<string | null> {
  return (o) => decimalString(at(o, path));
}

export function bool(path: string, fallback: boolean): Reader<boolean> {
  return (o) => {
    const v = at(o, path);
    return typeof v === 'boolean' ? v : fallback;
  };
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function calendarDate(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const m = DATE.exec(v);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1) return null;
  const t = new Date(Date.UTC(2000, mo - 1, d));
  // Checked in a leap year first, then in the real year (Feb 29).
  if (t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) return null;
  if (mo === 2 && d === 29 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0))) return null;
  return v;
}

export function date(path: string): Reader<string | null> {
  return (o) => calendarDate(at(o, path));
}

export function timestamp(path: string): Reader<Date | null> {
  return (o) => parseQboTime(at(o, path));
}

/** The ids of a transaction's lines' LinkedTxn entries of one type, in order, once each. */
export function linkedTxnIds(txnType: string): Reader<string[]> {
  return (o) => {
    const ids = new Set<string>();
    const lines = Array.isArray(o.Line) ? (o.Line as unknown[]) : [];
    for (const line of lines) {
      const linked = (line as { LinkedTxn?: unknown } | null)?.LinkedTxn;
      if (!Array.isArray(linked)) continue;
      for (const l of linked as { TxnId?: unknown; TxnType?: unknown }[]) {
        if (l?.TxnType === txnType && typeof l.TxnId === 'string') ids.add(cleanText(l.TxnId));
      }
    }
    return [...ids];
  };
}

/**
 * QBO's void keeps the transaction and replaces its memo with "Voided" while zeroing the
 * amounts (rec void/invoice-2; quickbooks-ruby payment_void_response_success.xml).
 */
export const voided: Reader<boolean> = (o) =>
  typeof o.PrivateNote === 'string' &&
  /^Voided\b/.test(o.PrivateNote) &&
  decimalString(o.TotalAmt) !== null &&
  Number(decimalString(o.TotalAmt)) === 0;
