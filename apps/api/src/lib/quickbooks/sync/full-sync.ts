// The full pass: every object of each entity read from QBO and written to its mirror, then
// what QBO no longer has marked deleted. Rules, and why:
//   * Count first (`SELECT COUNT(*)`), then 1,000-row pages (MAXRESULTS' maximum) in a
//     stable order, `ORDERBY Id`: QBO's default order is by name or by last change, so
//     paging without ORDERBY skips or repeats rows while data changes (qbo-facts, "Default
//     query order is not Id"). Name lists are read with `Active IN (true,false)`, or QBO
//     leaves out inactive objects.
//   * Pages of every entity share one pool of fetchers, as many as QBO allows in flight; the
//     client's limiter paces them to the realm's 10/s and 500/min, so the pass runs as fast as
//     QBO's limits allow and never draws a 429 of its own making.
//   * Fetching never waits for writing: each page is mapped and serialised as it arrives and
//     queued (at most WRITE_QUEUE_PAGES) for PAGE_WRITERS writers, one set-based upsert per
//     page, then dropped. Memory holds the pages in flight and the queue, never the company;
//     while the queue is full, fetching pauses.
//   * Progress is saved per page: a resumed run continues after the last page of the
//     unbroken prefix it had written.
//   * Deletions only after a complete pass of an entity: rows the pass did not write
//     (synced_at older than the run's start) are read back by Id, and only those QBO does not
//     return are marked deleted. A crash mid-pass therefore never marks anything, and a row a
//     concurrent delete shifted out of its page (offset paging) is found again, not lost.
//   * If the last page came back full, objects were added since the count: the pass reads on
//     until a short page.
import { sql, type Kysely } from 'kysely';
import type pino from 'pino';
import type {
  Database,
  QboEntityType,
  QboSyncRun,
  SyncRunEntityProgress,
} from '../../../db/schema.ts';
import type { QboApiClient } from '../client/api-client.ts';
import { QBO_MAX_IN_FLIGHT } from '../client/limits.ts';
import type { Clock } from '../ports.ts';
import { touchCursor } from './cursors.ts';
import { allObjectsFilter, mirrorTable } from './entities.ts';
import { fetchByIds, missingIds, objectsOf } from './fetch.ts';
import { advanceCursor, finishCursor, saveRunProgress, startCursor } from './runs.ts';
import { prepareMirrorWrite, upsertMirror, writeMirror, type MirrorWrite } from './upsert.ts';

export const PAGE_SIZE = 1_000;

export interface PassContext {
  db: Kysely<Database>;
  api: QboApiClient;
  clock: Clock;
  logger: pino.Logger;
  signal?: AbortSignal;
  /** Pages in flight at once. Default QBO's 10 concurrent requests per realm. */
  concurrency?: number;
  /**
   * Reconciliation: compare each page's Id:SyncToken pairs with the mirror before writing
   * it, and record what differed (missing, stale, extra) as the entity's drift.
   */
  compare?: boolean;
}

export function countQuery(entity: QboEntityType): string {
  const where = allObjectsFilter(entity);
  return `SELECT COUNT(*) FROM ${entity}${where ? ` WHERE ${where}` : ''}`;
}

export function pageQuery(entity: QboEntityType, startPosition: number): string {
  const where = allObjectsFilter(entity);
  return `SELECT * FROM ${entity}${where ? ` WHERE ${where}` : ''} ORDERBY Id STARTPOSITION ${startPosition} MAXRESULTS ${PAGE_SIZE}`;
}

export async function countInQbo(
  api: QboApiClient,
  realmId: string,
  entity: QboEntityType,
): Promise<number> {
  const r = await api.query<{ totalCount?: unknown }>(realmId, countQuery(entity));
  return typeof r.totalCount === 'number' && r.totalCount >= 0 ? r.totalCount : 0;
}

/** One entity's pass: which pages are planned, written, and where a resume starts. */
class EntityPass {
  readonly done = new Set<number>();
  inFlight = 0;
  /** Pages [0, planned) are queued or done; a full last page extends it. */
  planned: number;
  next: number;
  rows: number;
  written = 0;
  finished = false;
  /** Reconciliation: objects that differed, and live mirror rows the pages found. */
  drift = 0;
  mirrored = 0;

  constructor(
    readonly entity: QboEntityType,
    readonly total: number,
    readonly firstPage: number,
    saved?: SyncRunEntityProgress,
  ) {
    this.drift = saved?.drift ?? 0;
    this.mirrored = saved?.mirrored ?? 0;
    this.planned = Math.max(firstPage, Math.ceil(total / PAGE_SIZE));
    this.next = firstPage;
    this.rows = Math.min(total, firstPage * PAGE_SIZE);
  }

  /** The first page not yet written: everything before it is in the mirror. */
  contiguous(): number {
    let p = this.firstPage;
    while (this.done.has(p)) p += 1;
    return p;
  }

  progress(complete: boolean): SyncRunEntityProgress {
    return {
      done: this.rows,
      total: Math.max(this.total, this.rows),
      next_position: this.contiguous() * PAGE_SIZE + 1,
      complete,
      written: this.written,
      drift: this.drift,
      mirrored: this.mirrored,
    };
  }
}

/**
 * Runs (or resumes) the full pass of `run` over its entities not yet complete. Throws on the
 * first failure after saving what was written; the job retries and the run resumes.
 */
export async function runFullPass(ctx: PassContext, run: QboSyncRun): Promise<void> {
  const { db, api } = ctx;
  const realmId = run.realm_id;
  const log = ctx.logger.child({ realmId, runId: run.id });
  const todo = run.entities.filter((e) => !run.progress[e]?.complete);

  // Counts first, all at once: each pass knows its size before its first page.
  const passes = await Promise.all(
    todo.map(async (entity) => {
      const saved = run.progress[entity];
      const firstPage = saved?.next_position
        ? Math.floor((saved.next_position - 1) / PAGE_SIZE)
        : 0;
      const total = await countInQbo(api, realmId, entity);
      const pass = new EntityPass(entity, total, firstPage, saved);
      await startCursor(db, realmId, entity, run.id, { done: pass.rows, total });
      await saveRunProgress(db, run.id, entity, pass.progress(false));
      return pass;
    }),
  );

  let failure: unknown = null;
  const nextTask = (): { pass: EntityPass; page: number } | null => {
    if (failure || ctx.signal?.aborted) return null;
    for (const pass of passes) {
      if (pass.next < pass.planned) {
        pass.inFlight += 1;
        return { pass, page: pass.next++ };
      }
    }
    return null;
  };

  const finishEntity = async (pass: EntityPass) => {
    pass.finished = true;
    const swept = await sweepUnseen(ctx, realmId, pass.entity, run.started_at);
    pass.drift += swept.deleted;
    await saveRunProgress(db, run.id, pass.entity, pass.progress(true));
    if (ctx.compare) {
      await recordReconciliation(db, realmId, pass.entity, {
        qboCount: pass.total,
        mirrorCount: pass.mirrored + swept.deleted + swept.recovered,
        drift: pass.drift,
      });
    }
    const now = new Date(ctx.clock.now());
    await touchCursor(db, realmId, pass.entity, 'last_full_sync_at', now);
    // CDC continues from the pass's start: what changed while it ran is read again.
    await touchCursor(db, realmId, pass.entity, 'last_cdc_at', run.started_at);
    await finishCursor(db, realmId, pass.entity, { ok: true });
    log.info(
      { entity: pass.entity, rows: pass.rows, written: pass.written, ...swept },
      'full sync of entity complete',
    );
  };

  // Fetching and writing are decoupled: fetchers keep QBO's pace (its 10/s and 10 in flight)
  // and hand each page, mapped and serialised, to a short queue; a few writers drain it. A
  // page's write therefore never holds back the next fetch, and memory stays bounded by the
  // pages in flight plus the queue: fetchers wait while it is full.
  const queue = new PageQueue<FetchedPage>(WRITE_QUEUE_PAGES);

  const fetcher = async () => {
    for (let task = nextTask(); task; task = nextTask()) {
      const { pass, page } = task;
      let fetched: FetchedPage;
      try {
        // Mapped and serialised as soon as it is parsed, inside the client: only the page's
        // bytes for the mirror outlive the call (see QboRequest.reduce).
        const readAt = new Date();
        const read = await api.query(realmId, pageQuery(pass.entity, page * PAGE_SIZE + 1), (r) => {
          const objects = objectsOf(r, pass.entity);
          return {
            count: objects.length,
            versions: ctx.compare ? objects.map((o) => ({ Id: o.Id, SyncToken: o.SyncToken })) : [],
            write: prepareMirrorWrite(pass.entity, objects, readAt),
          };
        });
        // A full last page: objects were created since the count; read on.
        if (page === pass.planned - 1 && read.count === PAGE_SIZE) pass.planned += 1;
        fetched = { pass, page, ...read };
      } catch (err) {
        failure ??= err;
        await pageSettled(pass);
        continue;
      }
      if (!(await queue.put(fetched))) await pageSettled(pass);
    }
  };

  const writer = async () => {
    for (let item = await queue.take(); item; item = await queue.take()) {
      const { pass, page, count } = item;
      try {
        if (failure) continue; // the run stops; what is written stays, the rest is redone
        if (ctx.compare) {
          const d = await compareWithMirror(db, realmId, pass.entity, item.versions);
          pass.drift += d.differing;
          pass.mirrored += d.present;
        }
        const r = await writeMirror(db, realmId, item.write);
        pass.done.add(page);
        pass.rows += count;
        pass.written += r.written;
        await Promise.all([
          saveRunProgress(db, run.id, pass.entity, pass.progress(false)),
          advanceCursor(db, realmId, pass.entity, count, Math.max(pass.total, pass.rows)),
        ]);
      } catch (err) {
        failure ??= err;
      } finally {
        await pageSettled(pass);
      }
    }
  };

  /** A page of `pass` is written or abandoned: the entity finishes after its last one. */
  const pageSettled = async (pass: EntityPass) => {
    pass.inFlight -= 1;
    if (failure || pass.inFlight > 0 || pass.next < pass.planned || pass.finished) return;
    try {
      await finishEntity(pass);
    } catch (err) {
      failure ??= err;
    }
  };

  // Entities with nothing to read (0 objects, or resumed after their last page) finish now.
  for (const pass of passes) {
    if (pass.next >= pass.planned) await finishEntity(pass);
  }
  const fetchers = Math.max(1, ctx.concurrency ?? QBO_MAX_IN_FLIGHT);
  const writers = Array.from({ length: PAGE_WRITERS }, writer);
  await Promise.all(Array.from({ length: fetchers }, fetcher));
  queue.close();
  await Promise.all(writers);
  if (failure)
    throw failure instanceof Error ? failure : new Error('full sync failed', { cause: failure });
  ctx.signal?.throwIfAborted();
}

/** Pages fetched and waiting for a writer, at most; fetching pauses while the queue is full. */
export const WRITE_QUEUE_PAGES = 4;
/** Pages written at once, each on a connection of its own. */
export const PAGE_WRITERS = 2;

interface FetchedPage {
  pass: EntityPass;
  page: number;
  count: number;
  /** Reconciliation: each object's Id and SyncToken, compared with the mirror before writing. */
  versions: Record<string, unknown>[];
  write: MirrorWrite;
}

/** A bounded queue between async producers and consumers. */
class PageQueue<T> {
  readonly #items: T[] = [];
  readonly #space: (() => void)[] = [];
  readonly #ready: (() => void)[] = [];
  #closed = false;

  constructor(readonly capacity: number) {}

  /** Waits for room; false once the queue is closed (the item was not taken). */
  async put(item: T): Promise<boolean> {
    while (!this.#closed && this.#items.length >= this.capacity)
      await new Promise<void>((resolve) => this.#space.push(resolve));
    if (this.#closed) return false;
    this.#items.push(item);
    this.#ready.shift()?.();
    return true;
  }

  /** The next item; null once the queue is closed and empty. */
  async take(): Promise<T | null> {
    while (this.#items.length === 0) {
      if (this.#closed) return null;
      await new Promise<void>((resolve) => this.#ready.push(resolve));
    }
    const item = this.#items.shift()!;
    this.#space.shift()?.();
    return item;
  }

  /** No more items: waiting producers are refused, consumers drain what is queued. */
  close(): void {
    this.#closed = true;
    for (const wake of [...this.#space.splice(0), ...this.#ready.splice(0)]) wake();
  }
}

/**
 * Marks deleted what a complete pass did not see and QBO no longer has. Candidates are read
 * back by Id (1,000 a query); those QBO returns are written, the rest marked deleted.
 */
export async function sweepUnseen(
  ctx: Pick<PassContext, 'db' | 'api'>,
  realmId: string,
  entity: QboEntityType,
  passStartedAt: Date,
): Promise<{ deleted: number; recovered: number }> {
  const table = mirrorTable(entity);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- one query for six tables
  const db = ctx.db as Kysely<any>;
  let after = '';
  let deleted = 0;
  let recovered = 0;
  for (;;) {
    const rows = (await db
      .selectFrom(table)
      .select('qbo_id')
      .where('realm_id', '=', realmId)
      .where('is_deleted', '=', false)
      .where('synced_at', '<', passStartedAt)
      .where('qbo_id', '>', after)
      .orderBy('qbo_id')
      .limit(PAGE_SIZE)
      .execute()) as { qbo_id: string }[];
    if (rows.length === 0) break;
    const ids = rows.map((r) => r.qbo_id);
    after = ids[ids.length - 1]!;
    const found = await fetchByIds(ctx.api, realmId, entity, ids);
    recovered += (await upsertMirror(ctx.db, realmId, entity, found, 'full')).written;
    const gone = missingIds(ids, found);
    if (gone.length > 0) {
      const r = await db
        .updateTable(table)
        .set({ is_deleted: true, deleted_at: sql`now()`, synced_at: sql`now()` })
        .where('realm_id', '=', realmId)
        .where('qbo_id', 'in', gone)
        .where('synced_at', '<', passStartedAt)
        .executeTakeFirst();
      deleted += Number(r.numUpdatedRows);
    }
  }
  return { deleted, recovered };
}

/**
 * How a page of QBO objects compares with the mirror, by Id:SyncToken: `present` live
 * mirror rows have the page's ids; `differing` objects are missing from the mirror, stale,
 * or marked deleted there.
 */
export async function compareWithMirror(
  db: Kysely<Database>,
  realmId: string,
  entity: QboEntityType,
  objects: readonly Record<string, unknown>[],
): Promise<{ present: number; differing: number }> {
  const ids = objects.map((o) => String(o.Id));
  if (ids.length === 0) return { present: 0, differing: 0 };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- one query for six tables
  const rows = (await (db as Kysely<any>)
    .selectFrom(mirrorTable(entity))
    .select(['qbo_id', 'sync_token'])
    .where('realm_id', '=', realmId)
    .where('is_deleted', '=', false)
    .where('qbo_id', 'in', ids)
    .execute()) as { qbo_id: string; sync_token: string | null }[];
  const tokens = new Map(rows.map((r) => [r.qbo_id, r.sync_token]));
  let matched = 0;
  for (const o of objects) if (tokens.get(String(o.Id)) === o.SyncToken) matched += 1;
  return { present: rows.length, differing: objects.length - matched };
}

export async function recordReconciliation(
  db: Kysely<Database>,
  realmId: string,
  entity: QboEntityType,
  r: { qboCount: number; mirrorCount: number; drift: number },
): Promise<void> {
  await db
    .updateTable('qbo_sync_cursors')
    .set({
      last_reconciled_at: sql<Date>`now()`,
      reconcile_qbo_count: r.qboCount,
      reconcile_mirror_count: r.mirrorCount,
      reconcile_drift: r.drift,
      // Every difference found is repaired in the same pass (the page holds the objects).
      reconcile_repaired: r.drift,
    })
    .where('realm_id', '=', realmId)
    .where('entity_type', '=', entity)
    .execute();
}
