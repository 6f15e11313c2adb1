// qbo_webhook_events queries: store a delivery, claim due events, record how they ended,
// list them for the admin page. Every function takes `db` explicitly.
import { randomUUID } from 'node:crypto';
import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type {
  Database,
  QboWebhookEventsTable,
  WebhookEventStatus,
  WebhookFormat,
} from '../../../db/schema.ts';
import { toJson } from '../../../db/schema.ts';
import { beforeCursor, decodeCursor, exactTime, pageOf } from '../keyset-cursor.ts';

export type WebhookEventRow = Selectable<QboWebhookEventsTable>;

export interface NewDelivery {
  eventId: string;
  rawBody: string;
  /** Parsed body, or null when it is not JSON (or not storable as jsonb). */
  payload: unknown;
  signatureValid: boolean;
  format: WebhookFormat | null;
  realmIds: string[];
  entities: string[];
  operations: string[];
  notificationCount: number;
  intuitTid: string | null;
  /** Rejected (bad signature) or skipped (signed but unreadable) at once, with why. */
  status: 'pending' | 'rejected' | 'skipped';
  reason: string | null;
  receivedAt: Date;
}

export interface StoredDelivery {
  id: string;
  /** The same signed body was stored before (or earlier in the same batch). */
  duplicate: boolean;
}

/**
 * Stores deliveries in one statement, answering in their order. A signed body already
 * stored (Intuit's retry or duplicate, byte for byte) adds to that row's `deliveries`
 * instead of a new row, `duplicate` true — also when its copies arrive in the same batch.
 */
export async function insertDeliveries(
  db: Kysely<Database>,
  deliveries: readonly NewDelivery[],
): Promise<StoredDelivery[]> {
  if (!deliveries.length) return [];
  // Ids are chosen here so each answer finds its row; a conflicting row keeps its own id.
  const ids = deliveries.map(() => randomUUID());
  // One insert per signed body: an upsert may not touch the same row twice in a statement.
  const firstOf = new Map<string, number>();
  const repeats = new Map<number, number>();
  const values: Insertable<QboWebhookEventsTable>[] = [];
  deliveries.forEach((d, i) => {
    if (d.signatureValid) {
      const first = firstOf.get(d.eventId);
      if (first !== undefined) {
        repeats.set(first, (repeats.get(first) ?? 0) + 1);
        return;
      }
      firstOf.set(d.eventId, i);
    }
    values.push({
      id: ids[i]!,
      event_id: d.eventId,
      raw_body: d.rawBody,
      payload: d.payload === null ? null : toJson(d.payload),
      signature_valid: d.signatureValid,
      format: d.format,
      realm_id: d.realmIds[0] ?? null,
      realm_ids: d.realmIds,
      entities: d.entities,
      operations: d.operations,
      notification_count: d.notificationCount,
      intuit_t_id: d.intuitTid,
      status: d.status,
      reason: d.reason,
      received_at: d.receivedAt,
      last_received_at: d.receivedAt,
      processed_at: d.status === 'pending' ? null : d.receivedAt,
    });
  });
  const rows = await db
    .insertInto('qbo_webhook_events')
    .values(values)
    .onConflict((oc) =>
      oc
        .column('event_id')
        .where('signature_valid', '=', true)
        .doUpdateSet({
          deliveries: sql`qbo_webhook_events.deliveries + 1`,
          last_received_at: sql`excluded.last_received_at`,
        }),
    )
    .returning(['id', 'event_id', 'signature_valid'])
    .execute();
  const signedRow = new Map(rows.filter((r) => r.signature_valid).map((r) => [r.event_id, r.id]));
  for (const [first, n] of repeats) {
    await db
      .updateTable('qbo_webhook_events')
      .set({ deliveries: sql`deliveries + ${n}` })
      .where('id', '=', signedRow.get(deliveries[first]!.eventId)!)
      .execute();
  }
  return deliveries.map((d, i) => {
    const id = d.signatureValid ? signedRow.get(d.eventId)! : ids[i]!;
    return { id, duplicate: id !== ids[i] };
  });
}

/**
 * Claims up to `limit` events due for processing, oldest first: pending ones whose backoff
 * has passed, and claims older than `leaseMs` (a worker died mid-way). `FOR UPDATE SKIP
 * LOCKED` lets several workers claim side by side without taking the same rows.
 */
export async function claimDueEvents(
  db: Kysely<Database>,
  o: { now: Date; limit: number; leaseMs: number },
): Promise<ClaimedEvent[]> {
  const staleBefore = new Date(o.now.getTime() - o.leaseMs);
  return (
    db
      .updateTable('qbo_webhook_events')
      .set({ status: 'processing', claimed_at: o.now, attempts: sql`attempts + 1` })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('qbo_webhook_events')
          .select('id')
          .where((w) =>
            w.or([
              w.and([
                w('status', '=', 'pending'),
                w.or([w('next_attempt_at', 'is', null), w('next_attempt_at', '<=', o.now)]),
              ]),
              w.and([w('status', '=', 'processing'), w('claimed_at', '<', staleBefore)]),
            ]),
          )
          .orderBy('received_at')
          .limit(o.limit)
          .forUpdate()
          .skipLocked(),
      )
      // What processing reads, and no more: the parsed `payload` copy would double what a
      // claim of hundreds of events moves out of the database.
      .returning(['id', 'raw_body', 'attempts'])
      .execute()
  );
}

/** A claimed event: the raw body is the record processing reads the changes from. */
export type ClaimedEvent = Pick<WebhookEventRow, 'id' | 'raw_body' | 'attempts'>;

export interface EventOutcome {
  id: string;
  status: Extract<WebhookEventStatus, 'processed' | 'skipped' | 'failed' | 'pending'>;
  reason: string | null;
  objectsApplied: number;
  /** For `pending` (a retry): when to try again. */
  nextAttemptAt?: Date;
  lastError?: string | null;
}

/**
 * Keeps this worker's claims alive while it works on them (the processor calls it every
 * third of the lease), so the lease can be short: a dead worker's claims lapse soon after
 * its last beat instead of holding the events back for as long as a whole round may take.
 */
export async function renewClaims(
  db: Kysely<Database>,
  ids: readonly string[],
  now: Date,
): Promise<void> {
  if (!ids.length) return;
  await db
    .updateTable('qbo_webhook_events')
    .set({ claimed_at: now })
    .where('id', 'in', ids)
    .where('status', '=', 'processing')
    .execute();
}

/**
 * When the processor should look again: the earliest backed-off retry, or the earliest
 * moment a claim held by a worker that stopped beating lapses. Null when neither exists.
 */
export async function nextDueAt(db: Kysely<Database>, leaseMs: number): Promise<Date | null> {
  const r = await db
    .selectFrom('qbo_webhook_events')
    .select((eb) => [
      eb.fn.min('next_attempt_at').filterWhere('status', '=', 'pending').as('retry'),
      eb.fn.min('claimed_at').filterWhere('status', '=', 'processing').as('claimed'),
    ])
    .executeTakeFirst();
  const times = [
    r?.retry ? new Date(r.retry).getTime() : Infinity,
    r?.claimed ? new Date(r.claimed).getTime() + leaseMs : Infinity,
  ];
  const at = Math.min(...times);
  return Number.isFinite(at) ? new Date(at) : null;
}

/**
 * Records how claimed events ended (a retry goes back to `pending` with its next time), in
 * one statement: a round of hundreds of events must not hold the database — PGlite is one
 * connection — for one commit per event while deliveries wait to be stored.
 */
export async function recordOutcomes(
  db: Kysely<Database>,
  outcomes: readonly EventOutcome[],
  now: Date,
): Promise<void> {
  if (!outcomes.length) return;
  const rows = outcomes.map((o) => ({
    id: o.id,
    status: o.status,
    reason: o.reason?.slice(0, 2000) ?? null,
    objects_applied: o.objectsApplied,
    next_attempt_at: o.nextAttemptAt?.toISOString() ?? null,
    keep_error: o.lastError === undefined,
    last_error: o.lastError?.slice(0, 2000) ?? null,
  }));
  await sql`
    update qbo_webhook_events as e set
      status = v.status,
      reason = v.reason,
      objects_applied = v.objects_applied,
      processed_at = case when v.status = 'pending' then null else ${now}::timestamptz end,
      next_attempt_at = v.next_attempt_at,
      claimed_at = null,
      last_error = case when v.keep_error then e.last_error else v.last_error end
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as v(
      id uuid, status text, reason text, objects_applied integer,
      next_attempt_at timestamptz, keep_error boolean, last_error text)
    where e.id = v.id and e.status = 'processing'`.execute(db);
}

/** Events still to process (pending or claimed), for tests, /metrics and the start-up sweep. */
export async function countUnfinished(db: Kysely<Database>): Promise<number> {
  const r = await db
    .selectFrom('qbo_webhook_events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('status', 'in', ['pending', 'processing'])
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** What a replay checks of an event before queuing it again. */
export type ReplayCandidate = Pick<WebhookEventRow, 'id' | 'status' | 'signature_valid'>;

/** The events named, locked until the caller's transaction ends (unknown ids are absent). */
export async function lockEventsById(
  db: Kysely<Database>,
  ids: readonly string[],
): Promise<ReplayCandidate[]> {
  if (!ids.length) return [];
  return db
    .selectFrom('qbo_webhook_events')
    .select(['id', 'status', 'signature_valid'])
    .where('id', 'in', [...ids])
    .forUpdate()
    .execute();
}

/**
 * Up to `limit` signed events in `status` (naming `realmId` when given), oldest first, locked
 * until the caller's transaction ends; `total` counts every match.
 */
export async function lockEventsByStatus(
  db: Kysely<Database>,
  o: { status: WebhookEventStatus; realmId?: string; limit: number },
): Promise<{ ids: string[]; total: number }> {
  let q = db
    .selectFrom('qbo_webhook_events')
    .where('status', '=', o.status)
    .where('signature_valid', '=', true);
  if (o.realmId) q = q.where(sql<boolean>`realm_ids @> array[${o.realmId}]::text[]`);
  const rows = await q.select('id').orderBy('received_at').limit(o.limit).forUpdate().execute();
  const total =
    rows.length < o.limit
      ? rows.length
      : Number(
          (await q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n,
        );
  return { ids: rows.map((r) => r.id), total };
}

/**
 * Puts signed events back to `pending`, due at once, with a fresh attempt budget. The reason
 * says how each had ended; `last_error` stays until an attempt succeeds; `replays` counts.
 */
export async function requeueEvents(
  db: Kysely<Database>,
  ids: readonly string[],
  now: Date,
): Promise<string[]> {
  if (!ids.length) return [];
  const rows = await db
    .updateTable('qbo_webhook_events')
    .set({
      status: 'pending',
      attempts: 0,
      next_attempt_at: null,
      claimed_at: null,
      processed_at: null,
      reason: sql<string>`left('replay requested; it was ' || status || coalesce(': ' || reason, ''), 2000)`,
      replays: sql<number>`replays + 1`,
      last_replayed_at: now,
    })
    .where('id', 'in', [...ids])
    .where('signature_valid', '=', true)
    .where('status', '!=', 'processing')
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

export interface WebhookEventFilter {
  status?: WebhookEventStatus;
  realmId?: string;
  entity?: string;
  from?: Date;
  to?: Date;
  /** Only events an operator replayed at or after this time. */
  replayedFrom?: Date;
  cursor?: string;
  limit?: number;
}

const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Newest first; keyset pagination on (received_at, id). */
export async function listWebhookEvents(
  db: Kysely<Database>,
  f: WebhookEventFilter,
): Promise<{ events: WebhookEventRow[]; nextCursor: string | null }> {
  const limit = Math.min(Math.max(Math.trunc(f.limit ?? DEFAULT_PAGE), 1), MAX_PAGE);
  const cursor = f.cursor ? decodeCursor(f.cursor, UUID, 'webhook-events') : null;
  let q = db
    .selectFrom('qbo_webhook_events')
    .selectAll()
    .select(exactTime('received_at').as('received_at_exact'))
    .orderBy('received_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.realmId) q = q.where(sql<boolean>`realm_ids @> array[${f.realmId}]::text[]`);
  if (f.entity) q = q.where(sql<boolean>`entities @> array[${f.entity}]::text[]`);
  if (f.from) q = q.where('received_at', '>=', f.from);
  if (f.to) q = q.where('received_at', '<', f.to);
  if (f.replayedFrom) q = q.where('last_replayed_at', '>=', f.replayedFrom);
  if (cursor) q = q.where(beforeCursor('received_at', 'id', cursor, 'uuid'));
  const { page, nextCursor } = pageOf(await q.execute(), limit, (r) => r.received_at_exact);
  return { events: page, nextCursor };
}
