// Decimal arithmetic for invoice amounts. Values travel as decimal strings ("150.00") from
// the database to QBO's JSON and back; big.js does the sums, so no amount is ever a binary
// float (0.1 + 0.2 stays 0.3). QBO's JSON carries numbers, which `qboJson` writes verbatim
// from the decimal strings instead of letting JSON.stringify print a float.
import Big from 'big.js';

/** A plain decimal: optional minus, digits, optional fraction. No exponent, no spaces. */
const DECIMAL_RE = /^-?\d+(\.\d+)?$/;

/** The Big of a decimal string, or null when it is not one (or has too many digits). */
export function parseDecimal(value: unknown, maxFractionDigits: number): Big | null {
  if (typeof value !== 'string' || !DECIMAL_RE.test(value)) return null;
  const [whole = '', fraction = ''] = value.replace('-', '').split('.');
  // numeric(18,2) holds 16 integer digits; QBO's amounts are no wider.
  if (whole.length > 16 || fraction.length > maxFractionDigits) return null;
  return new Big(value);
}

/** Two decimals, as numeric(18,2) and QBO's amounts print them. */
export function money(value: Big): string {
  return value.toFixed(2);
}

/** A number from QBO's JSON back to a decimal string (its shortest round-trip text). */
export function fromQboNumber(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return new Big(String(value)).toFixed(2);
  if (typeof value === 'string' && DECIMAL_RE.test(value)) return new Big(value).toFixed(2);
  return null;
}

/** A decimal to be written into QBO's JSON as a number literal. */
export class JsonDecimal {
  constructor(readonly text: string) {}
  toJSON(): string {
    return `${MARK}${this.text}${MARK}`;
  }
}

const MARK = '\u2063dec\u2063';
const MARKED = new RegExp(`"${MARK}(-?\\d+(?:\\.\\d+)?)${MARK}"`, 'g');

/** JSON text in which every JsonDecimal is a number literal with exactly its digits. */
export function qboJson(value: unknown): string {
  return JSON.stringify(value).replace(MARKED, '$1');
}
