/**
 * The sandbox's notion of "now". Tests move it forward to reach token expiries (1 hour,
 * 24-hour grace, 100 days, 5 years) and the 30-day CDC window without waiting.
 * Timers (webhook batching and retries) keep using real time.
 */
export class Clock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }

  /** Sets "now" to an absolute instant (epoch ms). */
  set(ms: number): void {
    this.offsetMs = ms - Date.now();
  }

  reset(): void {
    this.offsetMs = 0;
  }
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * QBO prints times in the company's time zone with its offset, e.g.
 * `2020-09-29T05:58:07-07:00` in MetaData and `2020-09-29T05:58:07.300-07:00` in the
 * envelope's `time` (qbo_api recordings).
 */
export function formatQboTime(ms: number, offsetMinutes: number, withMillis = false): string {
  const local = new Date(ms + offsetMinutes * 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const base =
    `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  const millis = withMillis ? `.${pad(local.getUTCMilliseconds(), 3)}` : '';
  return `${base}${millis}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The company-local calendar date (`YYYY-MM-DD`) of an instant, as QBO's TxnDate. */
export function formatQboDate(ms: number, offsetMinutes: number): string {
  return formatQboTime(ms, offsetMinutes).slice(0, 10);
}

/** Parses an ISO 8601 date or date-time; a bare date is midnight UTC. NaN when invalid. */
export function parseQboTime(text: string): number {
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) return Number.NaN;
  return Date.parse(text);
}
