// Writes QBO objects into the mirrors. Every path that learns of a change (full sync, CDC,
// webhooks, reconciliation, write-back) ends here, so the rules live in one place:
//   * Set-based: one multi-row INSERT … ON CONFLICT (realm_id, qbo_id) DO UPDATE per chunk,
//     never a statement per object.
//   * An older version never overwrites a newer one, whichever path delivered which:
//     webhooks arrive late, duplicated and out of order (qbo-facts "Webhooks"), and a full
//     sync's page may be read before a change a webhook already applied. "Newer" is
//     MetaData.LastUpdatedTime, then SyncToken compared as a number (QBO increments it on
//     every update; LastUpdatedTime has one-second precision). The same version is written
//     again (idempotent): that refreshes synced_at, which the full sync's deletion sweep
//     reads, and re-derives columns after a mapper change.
//   * A deletion stub (`{Id, status:"Deleted", MetaData:{LastUpdatedTime}}`, CDC and
//     webhook Delete) sets is_deleted/deleted_at and keeps the last known object in raw; a
//     stub for an object never seen becomes a tombstone row (sync_token null). A tombstone
//     wins a tie on LastUpdatedTime: a delete is the last thing that happens to an object.
//   * Deactivated name-list objects are ordinary updates (Active false); voided
//     transactions too (`voided`); neither is deleted.
//   * After Invoice or Payment rows are written, the mirror listeners hear which.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database, QboEntityType } from '../../../db/schema.ts';
import { MAPPERS } from '../mappers/index.ts';
import type { MirrorRow } from '../mappers/mapper.ts';
import { cleanText } from '../mappers/fields.ts';
import { qboIdOf } from '../mappers/mapper.ts';
import { isDeletedStub, lastUpdatedOf } from '../types.ts';
import { mirrorTable } from './entities.ts';
import { notifyMirrorWrite } from './listeners.ts';

export type UpsertSource = 'full' | 'cdc' | 'webhook' | 'reconcile' | 'writeback';

export interface UpsertResult {
  /** Rows inserted or updated (including re-writes of the same version). */
  written: number;
  /** Objects not written because the mirror holds a newer version (or they had no Id). */
  skippedOlder: number;
  /** The QBO ids written. */
  writtenIds: string[];
}

/** Rows per statement in a full sync: one JSON parameter of at most 1,000 rows (a QBO page). */
const CHUNK = 1_000;
/**
 * Rows per statement elsewhere (CDC, webhooks, reconciliation). On PGlite, one session, a
 * statement holds everyone else's turn while it runs — storing a webhook delivery included,
 * which Intuit waits for. A 1,000-invoice statement took 90–140 ms there, 100 rows about a
 * tenth (bench/webhooks.md); a full sync keeps its pages whole, for throughput.
 */
const SMALL_CHUNK = 50;

export async function upsertMirror(
  db: Kysely<Database>,
  realmId: string,
  entity: QboEntityType,
  objects: readonly Record<string, unknown>[],
  _source: UpsertSource,
  /** When the read that returned `objects` started (default: now). */
  readAt: Date = new Date(),
): Promise<UpsertResult> {
  return writeMirror(db, realmId, prepareMirrorWrite(entity, objects, readAt, SMALL_CHUNK));
}

/**
 * A batch of objects mapped and serialised for the mirror, ready to write: the JSON text of
 * each chunk of rows holds everything of the objects the mirror keeps, so the objects
 * themselves can be collected while the write waits its turn.
 */
export interface MirrorWrite {
  entity: QboEntityType;
  /** When the read that returned the objects started. */
  readAt: Date;
  /**
   * Per chunk: its rows as one JSON array in jsonb's binary form (`jsonbBinary`), and how
   * many. A Buffer rather than a string: a page's text lives until its write, long enough to
   * reach V8's old generation, where a 1.5 MB string stays until a full collection; a
   * Buffer's bytes are outside the heap, and their growth itself makes V8 collect.
   */
  rowChunks: { json: Buffer; count: number }[];
  stubs: Stub[];
  /** Objects dropped before writing: no usable Id, or an older copy of a repeated Id. */
  unusable: number;
}

export function prepareMirrorWrite(
  entity: QboEntityType,
  objects: readonly Record<string, unknown>[],
  readAt: Date = new Date(),
  chunkRows: number = CHUNK,
): MirrorWrite {
  const { rows, stubs, unusable } = prepare(entity, objects);
  const rowChunks: MirrorWrite['rowChunks'] = [];
  for (let i = 0; i < rows.length; i += chunkRows) {
    const chunk = rows.slice(i, i + chunkRows);
    rowChunks.push({ json: jsonbBinary(jsonbText(chunk)), count: chunk.length });
  }
  return { entity, readAt, rowChunks, stubs, unusable };
}

export async function writeMirror(
  db: Kysely<Database>,
  realmId: string,
  write: MirrorWrite,
): Promise<UpsertResult> {
  const { entity, readAt, rowChunks, stubs } = write;
  const writtenIds: string[] = [];
  let rows = 0;
  for (const chunk of rowChunks) {
    rows += chunk.count;
    writtenIds.push(...(await writeRows(db, realmId, entity, chunk.json, readAt)));
  }
  for (let i = 0; i < stubs.length; i += CHUNK) {
    writtenIds.push(...(await writeStubs(db, realmId, entity, stubs.slice(i, i + CHUNK))));
  }
  await notifyMirrorWrite(db, realmId, entity, writtenIds);
  return {
    written: writtenIds.length,
    skippedOlder: rows + stubs.length - writtenIds.length + write.unusable,
    writtenIds,
  };
}

interface Stub {
  qbo_id: string;
  raw: Record<string, unknown>;
  qbo_updated_at: Date | null;
}

/**
 * Maps the objects and keeps one version per Id (the newest): a statement may not update
 * the same row twice, and a batch may carry an object and its deletion.
 */
function prepare(entity: QboEntityType, objects: readonly Record<string, unknown>[]) {
  const mapper = MAPPERS[entity];
  const newest = new Map<string, { row: MirrorRow | null; stub: Stub | null; rank: Rank }>();
  let unusable = 0;
  for (const o of objects) {
    if (typeof o !== 'object' || o === null) {
      unusable += 1;
      continue;
    }
    const stub = isDeletedStub(o);
    const id = qboIdOf(o);
    const row = stub ? null : mapper.map(o);
    if (id === null || (!stub && row === null)) {
      unusable += 1;
      continue;
    }
    const entry = stub
      ? {
          row: null,
          stub: { qbo_id: id, raw: o, qbo_updated_at: lastUpdatedOf(o) },
          rank: rankOf(o, true),
        }
      : { row, stub: null, rank: rankOf(o, false) };
    const seen = newest.get(id);
    if (seen) {
      unusable += 1; // the older copy is dropped; counted as skipped
      if (compareRank(entry.rank, seen.rank) < 0) continue;
    }
    newest.set(id, entry);
  }
  const rows: MirrorRow[] = [];
  const stubs: Stub[] = [];
  for (const e of newest.values()) {
    if (e.row) rows.push(e.row);
    else if (e.stub) stubs.push(e.stub);
  }
  return { rows, stubs, unusable };
}

type Rank = [time: number, token: number];

function rankOf(o: Record<string, unknown>, stub: boolean): Rank {
  const t = lastUpdatedOf(o)?.getTime() ?? -Infinity;
  const token = typeof o.SyncToken === 'string' ? Number(o.SyncToken) : NaN;
  return [t, stub ? Infinity : Number.isFinite(token) ? token : -1];
}

function compareRank(a: Rank, b: Rank): number {
  return a[0] - b[0] || a[1] - b[1] || 0;
}

/**
 * JSON text for jsonb: Postgres refuses the NUL character (\u0000) inside jsonb strings.
 * Serialised plainly first (a replacer function makes JSON.stringify several times slower);
 * only a text that has the escape anywhere is serialised again without NULs.
 */
export function jsonbText(value: unknown): string {
  const text = JSON.stringify(value);
  if (!text.includes('\\u0000')) return text;
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'string' ? cleanText(v) : v));
}

/**
 * JSON text as a jsonb parameter in binary form: the version byte 1, then the text in UTF-8.
 * node-postgres sends a Buffer as a binary parameter, and Postgres' jsonb_recv reads exactly
 * this; PGlite gets the text back from it (infra/pglite-open.mjs).
 */
export function jsonbBinary(text: string): Buffer {
  const bytes = Buffer.allocUnsafe(1 + Buffer.byteLength(text));
  bytes[0] = 1;
  bytes.write(text, 1, 'utf8');
  return bytes;
}

/** Columns every mirror row writes besides its key and its entity's own columns. */
const WRITTEN_COLUMNS = ['sync_token', 'raw', 'qbo_created_at', 'qbo_updated_at'] as const;

/** SyncToken as a number for comparison; -1 when absent or not a number. */
function tokenNum(ref: string): RawBuilder<number> {
  return sql<number>`(case when ${sql.ref(ref)} ~ '^[0-9]{1,18}$' then ${sql.ref(ref)}::bigint else -1 end)`;
}

/**
 * The ON CONFLICT condition: the incoming version (`excluded`) is at least as new as the
 * stored one (`t`). A tombstone (is_deleted with no sync_token) ranks above any token. The
 * same version is written again only from a read started no earlier than the stored one's:
 * QBO moves a Customer's Balance without versioning it, so an earlier read of the same
 * version may hold an older balance.
 */
function incomingIsNotOlder(table: string): RawBuilder<boolean> {
  const t = (c: string) => sql.ref(`${table}.${c}`);
  const storedToken = sql`(case when ${t('is_deleted')} and ${t('sync_token')} is null then 9223372036854775807 else ${tokenNum(`${table}.sync_token`)} end)`;
  const incomingToken = tokenNum('excluded.sync_token');
  return sql<boolean>`(${t('qbo_updated_at')} is null
    or excluded.qbo_updated_at > ${t('qbo_updated_at')}
    or (excluded.qbo_updated_at = ${t('qbo_updated_at')}
        and (${incomingToken} > ${storedToken}
          or (${incomingToken} = ${storedToken}
              and (${t('read_at')} is null or excluded.read_at >= ${t('read_at')})))))`;
}

// Kysely's builder is typed per table; the six mirrors share the columns written here, so
// the statement is built against a loosely typed view of the same connection.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LooseDb = Kysely<any>;

async function writeRows(
  db: Kysely<Database>,
  realmId: string,
  entity: QboEntityType,
  rowsJson: Buffer,
  readAt: Date,
): Promise<string[]> {
  const table = mirrorTable(entity);
  const columns = ['qbo_id', ...WRITTEN_COLUMNS, ...MAPPERS[entity].columns].map((c) => sql.ref(c));
  const updated = [
    ...WRITTEN_COLUMNS,
    'is_deleted',
    'deleted_at',
    'read_at',
    ...MAPPERS[entity].columns,
  ];
  const set = sql.join([
    ...updated.map((c) => sql`${sql.ref(c)} = ${sql.ref(`excluded.${c}`)}`),
    sql`synced_at = now()`,
  ]);
  // The rows travel as one JSON array, raw objects inline, expanded by the table's own row
  // type: one parameter and one JSON text per chunk instead of ~25 bind parameters per row
  // and a JSON text per object (building and binding those was most of the writer's CPU).
  // The bytes go as a jsonb parameter in jsonb's binary form, which the server parses as it
  // binds it. Sent as bytea and turned into jsonb with convert_from, the same 1,000 invoices
  // took Postgres 150 ms instead of 90 (bench/sync.md).
  const result = await sql<{ qbo_id: string }>`
    insert into ${sql.table(table)} (realm_id, ${sql.join(columns)}, is_deleted, deleted_at, read_at)
    select ${realmId}, ${sql.join(columns)}, false, null, ${readAt}::timestamptz
    from jsonb_populate_recordset(null::${sql.table(table)}, ${rowsJson}::jsonb)
    on conflict (realm_id, qbo_id) do update set ${set}
    where ${incomingIsNotOlder(table)}
    returning qbo_id`.execute(db);
  return result.rows.map((r) => r.qbo_id);
}

async function writeStubs(
  db: Kysely<Database>,
  realmId: string,
  entity: QboEntityType,
  stubs: Stub[],
): Promise<string[]> {
  if (stubs.length === 0) return [];
  const table = mirrorTable(entity);
  const t = (c: string) => sql.ref(`${table}.${c}`);
  const result = await (db as LooseDb)
    .insertInto(table)
    .values(
      stubs.map((s) => ({
        realm_id: realmId,
        qbo_id: s.qbo_id,
        sync_token: null,
        raw: jsonbText(s.raw),
        qbo_updated_at: s.qbo_updated_at,
        is_deleted: true,
        deleted_at: s.qbo_updated_at ?? sql`now()`,
      })),
    )
    .onConflict((oc) =>
      oc
        .columns(['realm_id', 'qbo_id'])
        .doUpdateSet({
          // The last known object stays in raw; sync_token null marks the row a tombstone.
          sync_token: null,
          is_deleted: true,
          deleted_at: sql`excluded.deleted_at`,
          qbo_updated_at: sql`coalesce(excluded.qbo_updated_at, ${t('qbo_updated_at')})`,
          synced_at: sql`now()`,
        })
        .where(
          () =>
            sql<boolean>`not (${t('is_deleted')} and ${t('sync_token')} is null)
              and (excluded.qbo_updated_at is null or ${t('qbo_updated_at')} is null
                   or excluded.qbo_updated_at >= ${t('qbo_updated_at')})`,
        ),
    )
    .returning('qbo_id')
    .execute();
  return (result as { qbo_id: string }[]).map((r) => r.qbo_id);
}

/**
 * QBO merged `loserId` into `survivorId` (webhook Merge carries `deletedId`): the loser no
 * longer exists in QBO; its row stays, deleted, pointing at the survivor.
 */
export async function markMerged(
  db: Kysely<Database>,
  realmId: string,
  entity: 'Customer' | 'Vendor' | 'Item' | 'Account',
  merges: readonly { loserId: string; survivorId: string; at: Date }[],
): Promise<number> {
  let n = 0;
  const table = mirrorTable(entity);
  for (const m of merges) {
    const r = await (db as LooseDb)
      .updateTable(table)
      .set({
        merged_into_qbo_id: m.survivorId,
        active: false,
        is_deleted: true,
        deleted_at: m.at,
        synced_at: sql`now()`,
      })
      .where('realm_id', '=', realmId)
      .where('qbo_id', '=', m.loserId)
      .executeTakeFirst();
    n += Number(r.numUpdatedRows);
  }
  return n;
}
