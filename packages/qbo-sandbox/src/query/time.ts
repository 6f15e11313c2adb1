const PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+\- ]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses a QBO date or date-time literal to epoch ms, NaN when it is not one.
 * QBO prints and reads times in the company's zone (`2015-10-07T11:43:20-07:00`), so a
 * date or date-time without an offset is read in the company's zone. A space where the
 * offset's sign belongs is a `+` that URL decoding turned into a space (node-quickbooks'
 * `changeDataCapture` puts `formatISO(date)` in the URL without encoding it).
 */
export function parseInstant(text: string, offsetMinutes: number): number {
  const m = PATTERN.exec(text.trim());
  if (!m) return Number.NaN;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', zone] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59)
    return Number.NaN;
  const local = Date.UTC(
    Number(y),
    month - 1,
    day,
    Number(h),
    Number(mi),
    Number(s),
    Math.round(Number(`0.${frac}`) * 1000),
  );
  let zoneMinutes = offsetMinutes;
  if (zone) {
    if (zone.toUpperCase() === 'Z') zoneMinutes = 0;
    else {
      const sign = zone[0] === '-' ? -1 : 1;
      const digits = zone.slice(1).replace(':', '');
      zoneMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
    }
  }
  return local - zoneMinutes * 60_000;
}
