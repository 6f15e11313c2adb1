// A mapper turns one QBO object into one mirror row: the columns every mirror shares (below)
// plus the entity's own, each declared as a column -> reader table in its `*.mapper.ts`.
// Mappers are pure: no I/O, no clock, the same object always gives the same row.
import type { QboEntityType } from '../../../db/schema.ts';
import { at, cleanText, text, timestamp, type Reader } from './fields.ts';

/** The columns every mirror has, as a mapper fills them (synced_at is the database's). */
// A type alias, not an interface: rows must be assignable to Record<string, unknown>.
export type MirrorBaseRow = {
  qbo_id: string;
  sync_token: string | null;
  /** The QBO object itself; the upsert stores it as jsonb. */
  raw: Record<string, unknown>;
  qbo_created_at: Date | null;
  qbo_updated_at: Date | null;
};

export type ColumnReaders = Record<string, Reader<unknown>>;

export type MirrorRow<C extends ColumnReaders = ColumnReaders> = MirrorBaseRow & {
  [K in keyof C]: ReturnType<C[K]>;
};

export interface EntityMapper<C extends ColumnReaders = ColumnReaders> {
  entity: QboEntityType;
  /** The entity's own column names, in declaration order. */
  columns: readonly (keyof C & string)[];
  /** The row for `o`, or null when `o` has no usable `Id` (nothing to key it by). */
  map(o: Record<string, unknown>): MirrorRow<C> | null;
}

const readSyncToken = text('SyncToken');
const readCreated = timestamp('MetaData.CreateTime');
const readUpdated = timestamp('MetaData.LastUpdatedTime');

/** QBO Ids are decimal strings (rec); anything else cannot be a mirror key. */
export function qboIdOf(o: Record<string, unknown>): string | null {
  const id = at(o, 'Id');
  const s = typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : id;
  return typeof s === 'string' && /^[0-9A-Za-z:_-]{1,64}$/.test(s) ? cleanText(s) : null;
}

export function defineMapper<C extends ColumnReaders>(
  entity: QboEntityType,
  readers: C,
): EntityMapper<C> {
  const entries = Object.entries(readers);
  return {
    entity,
    columns: Object.keys(readers),
    map(o) {
      const qboId = qboIdOf(o);
      if (qboId === null) return null;
      const row: Record<string, unknown> = {
        qbo_id: qboId,
        sync_token: readSyncToken(o),
        raw: o,
        qbo_created_at: readCreated(o),
        qbo_updated_at: readUpdated(o),
      };
      for (const [column, read] of entries) row[column] = read(o);
      return row as MirrorRow<C>;
    },
  };
}
