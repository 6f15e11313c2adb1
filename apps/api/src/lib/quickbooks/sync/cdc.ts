// Incremental sync with Change Data Capture. Rules, and why:
//   * One `/cdc` call covers every entity whose cursor is usable (`entities=A,B,…`): reads
//     are metered (qbo-facts "API call metering"), and one call is the fewest.
//   * changedSince = the oldest cursor minus a small overlap: a change QBO stamped while the
//     previous call was in flight (or on a clock a little behind ours) is read again rather
//     than lost; applying it twice is harmless (upserts are idempotent and never go back).
//   * QBO answers at most 1,000 objects a call, across the entities asked (docs
//     change-data-capture: "query for shorter time periods"), and does not say which it
//     keeps. A full answer is completed two ways: CDC again from the newest change received
//     (catches deletions, which only CDC reports; complete if QBO keeps the oldest, as the
//     sandbox does ⚠), then, per entity, paged `MetaData.LastUpdatedTime` queries from the
//     cursor (every live object changed since, whichever QBO kept).
//   * The cursor moves to the time the first call was sent, and only after everything above
//     was applied: it never passes a change that is not in the mirror.
//   * CDC looks back at most 30 days (docs). An entity whose cursor is older, or that was
//     never synced, takes a full pass instead (full-sync.ts).
import type { Kysely } from 'kysely';
import type pino from 'pino';
import type { Database, QboEntityType } from '../../../db/schema.ts';
import type { QboApiClient } from '../client/api-client.ts';
import { DAY_MS, MINUTE_MS, type Clock } from '../ports.ts';
import { lastUpdatedOf, type QboCdcBody } from '../types.ts';
import { refreshCustomerBalances } from './balances.ts';
import { touchCursor } from './cursors.ts';
import { allObjectsFilter } from './entities.ts';
import { fetchByIds, objectsOf } from './fetch.ts';
import { upsertMirror } from './upsert.ts';

/** QBO's CDC look-back (docs change-data-capture). */
export const CDC_MAX_LOOKBACK_MS = 30 * DAY_MS;
/** Cursors closer than this to the look-back limit take the full-sync path (clock skew). */
export const CDC_LOOKBACK_MARGIN_MS = 60 * MINUTE_MS;
/** QBO's per-response cap (docs change-data-capture). */
export const CDC_MAX_OBJECTS = 1_000;
/** How far before the cursor each call starts. */
export const CDC_OVERLAP_MS = MINUTE_MS;
/** Continuation calls after a full answer, at most (then paged queries carry on alone). */
const MAX_CONTINUATIONS = 50;

export interface CdcContext {
  db: Kysely<Database>;
  api: QboApiClient;
  clock: Clock;
  logger: pino.Logger;
}

export interface CdcResult {
  /** Objects applied (written or already current), per entity. */
  applied: Partial<Record<QboEntityType, number>>;
  calls: number;
  capped: boolean;
}

/** Whether a cursor can be continued by CDC at `nowMs`, or the entity needs a full pass. */
export function cdcUsable(cursor: Date | null, nowMs: number): cursor is Date {
  return (
    cursor !== null &&
    nowMs - cursor.getTime() + CDC_OVERLAP_MS < CDC_MAX_LOOKBACK_MS - CDC_LOOKBACK_MARGIN_MS
  );
}

/** The objects per entity in a CDC answer. */
export function cdcObjects(
  body: QboCdcBody,
  entities: readonly QboEntityType[],
): Map<QboEntityType, Record<string, unknown>[]> {
  const out = new Map<QboEntityType, Record<string, unknown>[]>(entities.map((e) => [e, []]));
  for (const block of body.CDCResponse ?? []) {
    for (const qr of block.QueryResponse ?? []) {
      for (const entity of entities) out.get(entity)!.push(...objectsOf(qr, entity));
    }
  }
  return out;
}

/**
 * Applies every change of `entities` since their cursors (`cursors`, all usable) and moves
 * the cursors. Throws without moving any cursor if anything fails.
 */
export async function runCdc(
  ctx: CdcContext,
  realmId: string,
  cursors: ReadonlyMap<QboEntityType, Date>,
): Promise<CdcResult> {
  const entities = [...cursors.keys()];
  const result: CdcResult = { applied: {}, calls: 0, capped: false };
  if (entities.length === 0) return result;
  const log = ctx.logger.child({ realmId });
  const sentAt = new Date(ctx.clock.now());
  const oldest = Math.min(...[...cursors.values()].map((d) => d.getTime()));
  const since = new Date(oldest - CDC_OVERLAP_MS);

  const transactions = new Map<QboEntityType, Set<string>>();
  const apply = async (entity: QboEntityType, objects: Record<string, unknown>[]) => {
    if (objects.length === 0) return;
    const r = await upsertMirror(ctx.db, realmId, entity, objects, 'cdc');
    result.applied[entity] = (result.applied[entity] ?? 0) + objects.length;
    if (entity === 'Invoice' || entity === 'Payment') {
      const ids = transactions.get(entity) ?? new Set<string>();
      for (const id of r.writtenIds) ids.add(id);
      transactions.set(entity, ids);
    }
  };

  let from = since;
  for (let call = 0; ; call += 1) {
    const body = (await ctx.api.cdc(realmId, entities, from)) as QboCdcBody;
    result.calls += 1;
    const byEntity = cdcObjects(body, entities);
    let count = 0;
    let newest = from.getTime();
    for (const [entity, objects] of byEntity) {
      count += objects.length;
      for (const o of objects) newest = Math.max(newest, lastUpdatedOf(o)?.getTime() ?? 0);
      await apply(entity, objects);
    }
    if (count < CDC_MAX_OBJECTS) break;
    result.capped = true;
    // Continue from the newest change received; if that does not move (1,000 changes in one
    // second) or the limit is reached, the paged queries below still read every live object.
    if (newest <= from.getTime() || call + 1 >= MAX_CONTINUATIONS) break;
    from = new Date(newest);
  }

  if (result.capped) {
    log.info({ entities }, 'CDC answer was capped at 1,000 objects: completing with queries');
    for (const entity of entities) {
      const calls = await pageChangedSince(ctx, realmId, entity, since, (objects) =>
        apply(entity, objects),
      );
      result.calls += calls;
    }
  }

  // Balances QBO changed on customers without versioning them (balances.ts).
  for (const [entity, ids] of transactions) {
    await refreshCustomerBalances(
      ctx.db,
      (customerIds) => fetchByIds(ctx.api, realmId, 'Customer', customerIds),
      realmId,
      entity,
      [...ids],
      'cdc',
    );
  }
  for (const entity of entities) await touchCursor(ctx.db, realmId, entity, 'last_cdc_at', sentAt);
  return result;
}

/** `MetaData.LastUpdatedTime` as QBO's query language accepts it (ISO 8601 with offset). */
function qboTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Every live object of `entity` changed at or after `since`, in pages of 1,000 ordered by
 * LastUpdatedTime. Keyset paging (each page starts at the newest time of the previous one)
 * so an object that changes meanwhile moves behind the reader instead of shifting a page.
 * Returns the number of calls made.
 */
export async function pageChangedSince(
  ctx: Pick<CdcContext, 'api'>,
  realmId: string,
  entity: QboEntityType,
  since: Date,
  onPage: (objects: Record<string, unknown>[]) => Promise<void>,
): Promise<number> {
  let from = new Date(Math.floor(since.getTime() / 1000) * 1000);
  let position = 1;
  let calls = 0;
  for (;;) {
    const conditions = [allObjectsFilter(entity), `MetaData.LastUpdatedTime >= '${qboTime(from)}'`];
    const q = `SELECT * FROM ${entity} WHERE ${conditions.filter(Boolean).join(' AND ')} ORDERBY MetaData.LastUpdatedTime STARTPOSITION ${position} MAXRESULTS ${CDC_MAX_OBJECTS}`;
    const objects = objectsOf(await ctx.api.query(realmId, q), entity);
    calls += 1;
    await onPage(objects);
    if (objects.length < CDC_MAX_OBJECTS) return calls;
    const newest = Math.max(...objects.map((o) => lastUpdatedOf(o)?.getTime() ?? 0));
    if (newest > from.getTime()) {
      from = new Date(newest);
      position = 1;
    } else {
      // A whole page within one second: step through that second by position.
      position += CDC_MAX_OBJECTS;
    }
  }
}
