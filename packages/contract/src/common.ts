// Pieces every part of the contract uses: the realm parameter, time fields and the value
// sets (entity types, statuses) that answers repeat.
import { z } from 'zod';

/** QBO realm ids are decimal strings; the sandbox also allows letters, `-` and `_`. */
export const RealmId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'realmId must be 1-64 letters, digits, "-" or "_"');

/** `?realmId=` on every route; optional when one company is connected. */
export const RealmQuery = z.strictObject({ realmId: RealmId.optional() });
export type RealmQuery = z.infer<typeof RealmQuery>;

/** A time in an answer: ISO 8601 in UTC. */
export const Iso = z.string();
export const NullableIso = Iso.nullable();

// What the database accepts, so that input which passes validation never fails there:
//  * times: Postgres timestamptz has no year 0 ("0000-01-01" is out of range, while JS Date
//    takes it) and ISO 8601 writes four-digit years, so instants from 0001-01-01T00:00:00Z
//    to 9999-12-31T23:59:59.999Z, as UTC (an offset may not carry the instant outside);
//  * text: Postgres text cannot hold the NUL character (U+0000);
//  * ids: bigint, 1 to 9223372036854775807.

/** The earliest and latest instants a time input may name (inclusive), in ms since 1970. */
export const MIN_INSTANT_MS = Date.parse('0001-01-01T00:00:00.000Z');
export const MAX_INSTANT_MS = Date.parse('9999-12-31T23:59:59.999Z');
/** Postgres bigint's largest value. */
export const MAX_BIGINT = 9223372036854775807n;

/** True when `ms` is an instant the database stores and an ISO 8601 four-digit year can name. */
export function isStorableInstant(ms: number): boolean {
  return Number.isFinite(ms) && ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS;
}

/** A time in a query string, with a message that shows the expected form. */
export const isoInput = (name: string) =>
  z.iso
    .datetime({
      offset: true,
      message: `${name} must be an ISO 8601 date-time, e.g. 2026-02-11T00:00:00Z`,
    })
    // Unparseable text already failed above; only a real instant is checked for range.
    .refine((v) => Number.isNaN(Date.parse(v)) || isStorableInstant(Date.parse(v)), {
      message: `${name} must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z`,
    });

/** Free text that is stored or compared in the database: 1 to `max` characters, no NUL. */
export const textInput = (name: string, max: number) =>
  z
    .string()
    .min(1, `${name} must not be empty`)
    .max(max, `${name} must be at most ${max} characters`)
    .refine((v) => !v.includes('\u0000'), {
      message: `${name} must not contain the NUL character (%00)`,
    });

/** A database id (bigint) given as a decimal string: 1 to 9223372036854775807. */
export const bigintIdInput = (name: string) =>
  z
    .string()
    .regex(/^\d{1,19}$/, `${name} must be a whole number`)
    // zod runs a refinement after a failed regex too: only a digit string reaches BigInt.
    .refine((v) => !/^\d{1,19}$/.test(v) || (BigInt(v) >= 1n && BigInt(v) <= MAX_BIGINT), {
      message: `${name} must be between 1 and ${MAX_BIGINT}`,
    });

/** A whole number in a query string, within [min, max]. */
export const intString = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, `${name} must be ${min}-${max}`)
        .max(max, `${name} must be ${min}-${max}`),
    );

/** The QBO entities the service mirrors. */
export const EntityType = z.enum(['Customer', 'Invoice', 'Payment', 'Vendor', 'Item', 'Account']);
export type EntityType = z.infer<typeof EntityType>;
export const ENTITY_TYPES = EntityType.options;

export const Environment = z.enum(['sandbox', 'production']);
export const ConnectionStatus = z.enum(['connected', 'needs_reauth', 'disconnected']);
export const SyncStatus = z.enum(['idle', 'running', 'success', 'error']);

/** `from`, `to`, `cursor` and `limit`: the paging fields of every newest-first list. */
export const listPageFields = {
  from: isoInput('from').optional(),
  to: isoInput('to').optional(),
  cursor: z.string().min(1).max(200).optional(),
  limit: intString('limit', 1, 500).optional(),
};

/** Refines a list query: `from` must not be after `to`. */
export const fromNotAfterTo: [
  (q: { from?: string | undefined; to?: string | undefined }) => boolean,
  { message: string; path: string[] },
] = [
  (q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to),
  { message: 'from must not be after to', path: ['from'] },
];
