// The shapes of QBO's Accounting API answers that the sync engine reads. QBO objects stay
// `Record<string, unknown>`: the mirror keeps them whole (raw jsonb) and the mappers read
// the few fields an application queries, so no field QBO adds is ever lost to a type.
// Sources: docs/qbo-facts.md (recordings in fixtures/qbo-recordings).
import type { QboEntityType } from '../../db/schema.ts';

export type { QboEntityType };

/** Any QBO entity object: `Id`, `SyncToken`, `MetaData` and the entity's own fields. */
export type QboObject = Record<string, unknown> & {
  Id?: unknown;
  SyncToken?: unknown;
  MetaData?: unknown;
};

/**
 * What CDC answers for a deleted transaction (rec cdc; quickbooks-ruby CDC fixtures), and
 * what a webhook Delete becomes:
 * `{"domain":"QBO","status":"Deleted","Id":"979","MetaData":{"LastUpdatedTime":"…"}}`.
 */
export interface QboDeletedStub {
  Id: string;
  status: 'Deleted';
  domain?: 'QBO';
  MetaData?: { LastUpdatedTime?: string };
}

/** `QueryResponse` of a `SELECT`: the entity's array, absent when the page is empty. */
export type QboQueryResponse = {
  startPosition?: number;
  maxResults?: number;
  totalCount?: number;
} & Partial<Record<string, unknown>>;

/** `GET /cdc`: `{"CDCResponse":[{"QueryResponse":[{"Customer":[…]},{}]}],"time":…}`. */
export interface QboCdcBody {
  CDCResponse?: { QueryResponse?: Record<string, unknown>[] }[];
  time?: string;
}

export function isDeletedStub(o: Record<string, unknown>): boolean {
  return o.status === 'Deleted';
}

/** `MetaData.LastUpdatedTime` as a Date, or null when absent or not a time. */
export function lastUpdatedOf(o: Record<string, unknown>): Date | null {
  const meta = o.MetaData as { LastUpdatedTime?: unknown } | undefined;
  return parseQboTime(meta?.LastUpdatedTime);
}

/** QBO date-times carry the company's offset (`2020-09-29T06:02:35-07:00`). */
export function parseQboTime(v: unknown): Date | null {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v)) return null;
  const d = new Date(v);
  const year = d.getUTCFullYear();
  // Postgres timestamptz holds 4713 BC .. 294276 AD; QBO's are this era. Year 0 is no date.
  return Number.isNaN(d.getTime()) || year < 1 || year > 9999 ? null : d;
}
