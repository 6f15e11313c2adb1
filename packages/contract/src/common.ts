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

/** A time in a query string, with a message that shows the expected form. */
export const isoInput = (name: string) =>
  z.iso.datetime({
    offset: true,
    message: `${name} must be an ISO 8601 date-time, e.g. 2026-02-11T00:00:00Z`,
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
