// The full pass: every object of each entity read from QBO and written to its mirror, then
// what QBO no longer has marked deleted. Rules, and why:
//   * Each entity is counted (`SELECT COUNT(*)`) and read in 1,000-row pages (MAXRESULTS'
//     maximum) in a stable order, `ORDERBY Id`: QBO's default order is by name or by last
//     change, so paging without ORDERBY skips or repeats rows while data changes (qbo-facts,
//     "Default query order is not Id"). Name lists are read with `Active IN (true,false)`,
//     or QBO leaves out inactive objects. An entity's first page goes out with its count,
//     not after it: every entity has one, and waiting for the counts would cost the pass a
//     whole round trip before its first page. The pages after it wait for the count.
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
import { allObjectsFilter, LARGEST_FIRST, mirrorTable } from './entities.ts';
import { fetchByIds, missingIds, objectsOf } from './fetch.ts';
import {
  advanceCursor,
  finishCursor,
  saveRunProgress,
  setCursorTotal,
  startCursor,
} from './runs.ts';
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
  /** QBO's count, once its answer is in; until then only the first page is planned. */
  total: number | null = null;
  /** The count is saved to the run and cursor (the entity's last save must come after it). */
  countSaved = false;
  /** Pages [firstPage, planned) are handed out or done; the count or a full last page extends it. */
  planned: number;
  next: number;
  /** Rows written by this run's pages (not those of the pages a resumed run skips). */
  fetchedRows = 0;
  written = 0;
  finished = false;
  /** Reconciliation: objects that differed, and live mirror rows the pages found. */
  drift = 0;
  mirrored = 0;

  constructor(
    readonly entity: QboEntityType,
    readonly firstPage: number,
    saved?: SyncRunEntityProgress,
  ) {
    this.drift = saved?.drift ?? 0;
    this.mirrored = saved?.mirrored ?? 0;
    this.planned = firstPage + 1;
    this.next = firstPage;
  }

  get rows(): number {
    const resumed = this.firstPage * PAGE_SIZE;
    return Math.min(resumed, this.total ?? resumed) + this.fetchedRows;
  }

  /** The count is in: plan the pages it implies. */
  counted(total: number): void {
    this.total = total;
    this.planned = Math.max(this.planned, Math.ceil(total / PAGE_SIZE));
  }

  /** A page came back with `count` objects: a full last page means more were added; read on. */
  fetched(page: number, count: number): void {
    if (page === this.planned - 1 && count === PAGE_SIZE) this.planned += 1;
  }

  /** Every planned page handed out, and the count in and saved: nothing more to fetch. */
  allHandedOut(): boolean {
    return this.countSaved && this.next >= this.planned;
  }

  /** The first page not yet written: everything before it is in the mirror. */
  contiguous(): number {
    let p = this.firstPage;
    while (this.done.has(p)) p += 1;
    return p;
  }

  progress(complete: boolean): SyncRunEntityProgress {
    const total = this.total ?? 0;
    return {
      done: this.rows,
      total: Math.max(total, this.rows),
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
  const todo = LARGEST_FIRST.filter((e) => run.entities.includes(e) && !run.progress[e]?.complete);

  const passes = todo.map((entity) => {
    const saved = run.progress[entity];
    const firstPage = saved?.next_position ? Math.floor((saved.next_position - 1) / PAGE_SIZE) : 0;
    return new EntityPass(entity, firstPage, saved);
  });
  // The cursors say "running" before any page can be written (pages add to their progress).
  await Promise.all(
    passes.map((pass) =>
      startCursor(db, realmId, pass.entity, run.id, { done: pass.rows, total: null }),
    ),
  );

  let failure: unknown = null;
  /** Fetchers with nothing to hand out wait here for a count to plan more pages. */
  const wakeFetchers: (() => void)[] = [];
  const wake = () => {
    for (const resolve of wakeFetchers.splice(0)) resolve();
  };
  const nextTask = async (): Promise<{ pass: EntityPass; page: number } | null> => {
    for (;;) {
      if (failure || ctx.signal?.aborted) return null;
      for (const pass of passes) {
        if (pass.next < pass.planned) {
          pass.inFlight += 1;
          return { pass, page: pass.next++ };
        }
      }
      if (passes.every((pass) => pass.total !== null)) return null;
      await new Promise<void>((resolve) => wakeFetchers.push(resolve));
    }
  };

  const finishEntity = async (pass: EntityPass) => {
    pass.finished = true;
    const swept = await sweepUnseen(ctx, realmId, pass.entity, run.started_at);
    pass.drift += swept.deleted;
    await saveRunProgress(db, run.id, pass.entity, pass.progress(true));
    if (ctx.compare) {
      await recordReconciliation(db, realmId, pass.entity, {
        qboCount: pass.total ?? 0,
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

  // The counts are asked first, so the client's limiter admits them ahead of the pages.
  const counts = passes.map(async (pass) => {
    try {
      pass.counted(await countInQbo(api, realmId, pass.entity));
      await Promise.all([
        saveRunProgress(db, run.id, pass.entity, pass.progress(false)),
        setCursorTotal(db, realmId, pass.entity, Math.max(pass.total ?? 0, pass.rows)),
      ]);
      pass.countSaved = true;
    } catch (err) {
      failure ??= err;
    } finally {
      wake();
    }
    // Its pages may all be written already (a count slower than the entity's only page).
    if (!failure && pass.inFlight === 0 && pass.allHandedOut() && !pass.finished) {
      try {
        await finishEntity(pass);
      } catch (err) {
        failure ??= err;
      }
    }
  });

  const fetcher = async () => {
    for (let task = await nextTask(); task; task = await nextTask()) {
      const { pass, page } = task;
      // Mapped and serialised as soon as it is parsed, inside the client: only the page's
      // bytes for the mirror outlive the call (see QboRequest.reduce). And handed to the
      // writers there too, when the queue has room: the call still logs its request before it
      // returns, a database round trip that on a busy event loop held each page back from
      // the writers by up to ~0.1 s.
      const handoff = { queued: false };
      let fetched: FetchedPage;
      try {
        const readAt = new Date();
        fetched = await api.query(realmId, pageQuery(pass.entity, page * PAGE_SIZE + 1), (r) => {
          const objects = objectsOf(r, pass.entity);
          const read: FetchedPage = {
            pass,
            page,
            count: objects.length,
            versions: ctx.compare ? objects.map((o) => ({ Id: o.Id, SyncToken: o.SyncToken })) : [],
            write: prepareMirrorWrite(pass.entity, objects, readAt),
          };
          pass.fetched(page, objects.length);
          wake();
          handoff.queued = queue.offer(read);
          return read;
        });
      } catch (err) {
        failure ??= err;
        if (!handoff.queued) await pageSettled(pass); // a queued page is the writers' to settle
        continue;
      }
      if (!handoff.queued && !(await queue.put(fetched))) await pageSettled(pass);
    }
  };

  // A page's bookkeeping (its progress, and the entity's finish after its last page) runs
  // beside the next page's write rather than before it: on a busy event loop those few
  // statements took a writer ~0.1 s per entity, while pages waited for it.
  const bookkeeping: Promise<void>[] = [];
  const recordPage = async (pass: EntityPass, count: number) => {
    try {
      await Promise.all([
        saveRunProgress(db, run.id, pass.entity, pass.progress(false)),
        advanceCursor(db, realmId, pass.entity, count, Math.max(pass.total ?? 0, pass.rows)),
      ]);
    } catch (err) {
      failure ??= err;
    } finally {
      await pageSettled(pass);
    }
  };

  const writer = async () => {
    for (let item = await queue.take(); item; item = await queue.take()) {
      const { pass, page, count } = item;
      if (failure) {
        await pageSettled(pass); // the run stops; what is written stays, the rest is redone
        continue;
      }
      try {
        if (ctx.compare) {
          const d = await compareWithMirror(db, realmId, pass.entity, item.versions);
          pass.drift += d.differing;
          pass.mirrored += d.present;
        }
        const r = await writeMirror(db, realmId, item.write);
        pass.done.add(page);
        pass.fetchedRows += count;
        pass.written += r.written;
      } catch (err) {
        failure ??= err;
        await pageSettled(pass);
        continue;
      }
      bookkeeping.push(recordPage(pass, count)); // never rejects: failures go to `failure`
    }
  };

  /** A page of `pass` is written or abandoned: the entity finishes after its last one. */
  const pageSettled = async (pass: EntityPass) => {
    pass.inFlight -= 1;
    if (failure || pass.inFlight > 0 || !pass.allHandedOut() || pass.finished) return;
    try {
      await finishEntity(pass);
    } catch (err) {
      failure ??= err;
    }
  };

  const fetchers = Math.max(1, ctx.concurrency ?? QBO_MAX_IN_FLIGHT);
  const writers = Array.from({ length: PAGE_WRITERS }, writer);
  await Promise.all(Array.from({ length: fetchers }, fetcher));
  queue.close();
  await Promise.all([...writers, ...counts]);
  await Promise.all(bookkeeping);
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
    return this.offer(item);
  }

  /** Takes `item` if there is room now, without waiting; false if not (or closed). */
  offer(item: T): boolean {
    if (this.#closed || this.#items.length >= this.capacity) return false;
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
