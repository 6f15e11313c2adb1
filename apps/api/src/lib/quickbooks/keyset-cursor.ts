// Keyset pagination cursors shared by the lists the admin page pages through (request log,
// webhook events): newest first on (timestamp, id), the timestamp kept to the microsecond
// because a JS Date would round it and the next page could skip a row.
import { sql, type RawBuilder } from 'kysely';
import { QuickBooksError, type QuickBooksErrorKind } from './errors.ts';

export class InvalidCursorError extends QuickBooksError {
  override name = 'InvalidCursorError';
  override readonly kind: QuickBooksErrorKind = 'invalid_cursor';
}

/** `to_char` of a timestamptz column at microsecond precision, in UTC, for `encodeCursor`. */
export function exactTime(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

export function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

/** Postgres bigint's largest value: a larger id would fail the cast, not match no row. */
const MAX_BIGINT = 9223372036854775807n;

/**
 * A calendar date Postgres takes: year 0001 or later (it has no year 0) and a day the month
 * has. JS Date rolls 2026-02-30 over to March 2, so the parse must give the same date back.
 */
function isRealInstant(at: string): boolean {
  const ms = Date.parse(at);
  return (
    Number.isFinite(ms) &&
    at.slice(0, 4) !== '0000' &&
    new Date(ms).toISOString().slice(0, 19) === at.slice(0, 19)
  );
}

/** Throws InvalidCursorError (an answer 400) unless `cursor` came from `encodeCursor`. */
export function decodeCursor(
  cursor: string,
  idPattern: RegExp,
  what: string,
): { at: string; id: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      typeof v[0] === 'string' &&
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(v[0]) &&
      isRealInstant(v[0]) &&
      typeof v[1] === 'string' &&
      idPattern.test(v[1]) &&
      (!/^\d+$/.test(v[1]) || BigInt(v[1]) <= MAX_BIGINT)
    ) {
      return { at: v[0], id: v[1] };
    }
  } catch {
    // fall through
  }
  throw new InvalidCursorError(`invalid ${what} cursor`);
}

/** `(time, id) < (cursor)`: the rows after `cursor` in newest-first order. */
export function beforeCursor(
  timeColumn: string,
  idColumn: string,
  cursor: { at: string; id: string },
  idType: 'bigint' | 'uuid',
): RawBuilder<boolean> {
  return sql<boolean>`(${sql.ref(timeColumn)}, ${sql.ref(idColumn)}) < (${cursor.at}::timestamptz, ${cursor.id}::${sql.raw(idType)})`;
}

/** The page (`limit` rows) and the cursor of the next one, from `limit + 1` rows fetched. */
export function pageOf<R extends { id: string }>(
  rows: R[],
  limit: number,
  exactTimeOf: (r: R) => string,
): { page: R[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    page,
    nextCursor: rows.length > limit && last ? encodeCursor(exactTimeOf(last), last.id) : null,
  };
}
