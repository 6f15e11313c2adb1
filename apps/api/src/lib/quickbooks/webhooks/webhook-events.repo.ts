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
): Promise<WebhookEventRow[]> {
  const staleBefore = new Date(o.now.getTime() - o.leaseMs);
  return db
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
    .returningAll()
    .execute();
}

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

export interface WebhookEventFilter {
  status?: WebhookEventStatus;
  realmId?: string;
  entity?: string;
  from?: Date;
  to?: Date;
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
  if (cursor) q = q.where(beforeCursor('received_at', 'id', cursor, 'uuid'));
  const { page, nextCursor } = pageOf(await q.execute(), limit, (r) => r.received_at_exact);
  return { events: page, nextCursor };
}
