import Big from 'big.js';

/**
 * Exact money arithmetic. Amounts live in objects as JSON numbers (QBO serialises them as
 * numbers, rec create/invoice), but every sum or product goes through big.js so that
 * 0.1 + 0.2 + 0.7 is 1, not 0.9999999999999999.
 */
export type Money = Big;

export const ZERO = new Big(0);

/** A JSON number (or numeric string) as a decimal; `undefined` for anything else. */
export function toBig(value: unknown): Big | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return new Big(value);
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim()))
    return new Big(value.trim());
  return undefined;
}

export function sum(values: Iterable<Big>): Big {
  let total = ZERO;
  for (const v of values) total = total.plus(v);
  return total;
}

/** Cents, half-up: QBO keeps amounts to the currency's two decimals. */
export function roundMoney(value: Big): Big {
  return value.round(2, Big.roundHalfUp);
}

/** The JSON number a decimal is written as; Big's string form round-trips exactly. */
export function toJsonNumber(value: Big): number {
  return Number(value.toString());
}

export function maxBig(a: Big, b: Big): Big {
  return a.gt(b) ? a : b;
}
