// The full pass: every object of each entity read from QBO and written to its mirror, then
// what QBO no longer has marked deleted. Rules, and why:
//   * Count first (`SELECT COUNT(*)`), then 1,000-row pages (MAXRESULTS' maximum) in a
//     stable order, `ORDERBY Id`: QBO's default order is by name or by last change, so
//     paging without ORDERBY skips or repeats rows while data changes (qbo-facts, "Default
//     query order is not Id"). Name lists are read with `Active IN (true,false)`, or QBO
//     leaves out inactive objects.
//   * Pages of every entity share one pool of workers, as many as QBO allows in flight; the
//     client's limiter paces them to the realm's 10/s and 500/min, so the pass runs as fast as
//     QBO's limits allow and never draws a 429 of its own making.
//   * Each page is written (one set-based upsert) as it arrives and then dropped: memory
//     holds the pages in flight, never the company.
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
import { upsertMirror } from './upsert.ts';

export const PAGE_SIZE = 1_000;

export interface PassContext {
  db: Kysely<Database>;
  api: QboApiClient;
  clock: Clock;
  logger: pino.Logger;
  signal?: AbortSignal;
  /** Pages in flight at once. Default QBO's 10 concurrent requests per realm. */
  concurrency?: number;
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

  constructor(
    readonly entity: QboEntityType,
    readonly total: number,
    readonly firstPage: number,
  ) {
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
      const pass = new EntityPass(entity, total, firstPage);
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
    await saveRunProgress(db, run.id, pass.entity, pass.progress(true));
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

  const worker = async () => {
    for (let task = nextTask(); task; task = nextTask()) {
      const { pass, page } = task;
      try {
        const response = await api.query(realmId, pageQuery(pass.entity, page * PAGE_SIZE + 1));
        const objects = objectsOf(response, pass.entity);
        const r = await upsertMirror(db, realmId, pass.entity, objects, 'full');
        pass.done.add(page);
        pass.rows += objects.length;
        pass.written += r.written;
        // A full last page: objects were created since the count; read on.
        if (page === pass.planned - 1 && objects.length === PAGE_SIZE) pass.planned += 1;
        await saveRunProgress(db, run.id, pass.entity, pass.progress(false));
        await advanceCursor(
          db,
          realmId,
          pass.entity,
          objects.length,
          Math.max(pass.total, pass.rows),
        );
      } catch (err) {
        failure ??= err;
      } finally {
        pass.inFlight -= 1;
      }
      if (!failure && pass.inFlight === 0 && pass.next >= pass.planned && !pass.finished) {
        try {
          await finishEntity(pass);
        } catch (err) {
          failure ??= err;
        }
      }
    }
  };

  // Entities with nothing to read (0 objects, or resumed after their last page) finish now.
  for (const pass of passes) {
    if (pass.next >= pass.planned) await finishEntity(pass);
  }
  const workers = Math.max(1, ctx.concurrency ?? QBO_MAX_IN_FLIGHT);
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure)
    throw failure instanceof Error ? failure : new Error('full sync failed', { cause: failure });
  ctx.signal?.throwIfAborted();
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
