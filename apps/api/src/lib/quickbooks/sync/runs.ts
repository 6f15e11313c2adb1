// qbo_sync_runs and the per-entity progress in qbo_sync_cursors. A run row is written before
// its job is enqueued and finished by the job, so the database always says what is left to
// do: a run still queued or running after a crash is taken up again at start-up.
import { sql, type Kysely } from 'kysely';
import type {
  Database,
  QboEntityType,
  QboSyncRun,
  SyncRunEntityProgress,
  SyncRunKind,
} from '../../../db/schema.ts';

export async function createRun(
  db: Kysely<Database>,
  realmId: string,
  kind: SyncRunKind,
  entities: readonly QboEntityType[],
): Promise<QboSyncRun> {
  return db
    .insertInto('qbo_sync_runs')
    .values({ realm_id: realmId, kind, entities: [...entities] })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function getRun(db: Kysely<Database>, id: string): Promise<QboSyncRun | undefined> {
  return db.selectFrom('qbo_sync_runs').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Unfinished runs, oldest first: of one realm and kind, or all of them (start-up pickup). */
export async function unfinishedRuns(
  db: Kysely<Database>,
  filter: { realmId?: string; kind?: SyncRunKind } = {},
): Promise<QboSyncRun[]> {
  let q = db.selectFrom('qbo_sync_runs').selectAll().where('status', 'in', ['queued', 'running']);
  if (filter.realmId !== undefined) q = q.where('realm_id', '=', filter.realmId);
  if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
  return q.orderBy('started_at').execute();
}

export async function setRunJob(db: Kysely<Database>, runId: string, jobId: string) {
  await db.updateTable('qbo_sync_runs').set({ job_id: jobId }).where('id', '=', runId).execute();
}

/**
 * queued -> running. A run that never ran takes the database's time as its start: the full
 * pass's deletion sweep compares synced_at with it, and a resumed run keeps its first start.
 */
export async function markRunning(db: Kysely<Database>, run: QboSyncRun): Promise<QboSyncRun> {
  return db
    .updateTable('qbo_sync_runs')
    .set({
      status: 'running',
      started_at: sql<Date>`case when status = 'queued' then now() else started_at end`,
      error: null,
      error_code: null,
    })
    .where('id', '=', run.id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function finishRun(
  db: Kysely<Database>,
  runId: string,
  outcome: { ok: true } | { ok: false; error: string; code: string | null },
): Promise<void> {
  await db
    .updateTable('qbo_sync_runs')
    .set({
      status: outcome.ok ? 'success' : 'error',
      finished_at: sql<Date>`now()`,
      error: outcome.ok ? null : outcome.error.slice(0, 2000),
      error_code: outcome.ok ? null : outcome.code,
    })
    .where('id', '=', runId)
    .execute();
}

/** Merges one entity's progress into the run (jsonb ||, so entities never overwrite each other). */
export async function saveRunProgress(
  db: Kysely<Database>,
  runId: string,
  entity: QboEntityType,
  progress: SyncRunEntityProgress,
): Promise<void> {
  await db
    .updateTable('qbo_sync_runs')
    .set({
      progress: sql`progress || jsonb_build_object(${entity}::text, ${JSON.stringify(progress)}::jsonb)`,
    })
    .where('id', '=', runId)
    .execute();
}

/** The cursor row as an entity starts a run: running, progress from `done` of `total`. */
export async function startCursor(
  db: Kysely<Database>,
  realmId: string,
  entity: QboEntityType,
  runId: string,
  progress: { done: number; total: number | null },
): Promise<void> {
  const values = {
    status: 'running' as const,
    run_id: runId,
    progress_done: progress.done,
    progress_total: progress.total,
    last_error: null,
    last_error_code: null,
    last_run_started_at: sql<Date>`now()`,
  };
  await db
    .insertInto('qbo_sync_cursors')
    .values({ realm_id: realmId, entity_type: entity, ...values })
    .onConflict((oc) =>
      oc.columns(['realm_id', 'entity_type']).doUpdateSet({ ...values, updated_at: sql`now()` }),
    )
    .execute();
}

export async function advanceCursor(
  db: Kysely<Database>,
  realmId: string,
  entity: QboEntityType,
  rows: number,
  total?: number | null,
): Promise<void> {
  await db
    .updateTable('qbo_sync_cursors')
    .set({
      progress_done: sql<number>`progress_done + ${rows}`,
      records_synced: sql<number>`least(records_synced + ${rows}, 2147483647)`,
      ...(total !== undefined ? { progress_total: total } : {}),
      updated_at: sql`now()`,
    })
    .where('realm_id', '=', realmId)
    .where('entity_type', '=', entity)
    .execute();
}

/** The entity's size, once QBO has counted it. */
export async function setCursorTotal(
  db: Kysely<Database>,
  realmId: string,
  entity: QboEntityType,
  total: number,
): Promise<void> {
  await db
    .updateTable('qbo_sync_cursors')
    .set({ progress_total: total, updated_at: sql`now()` })
    .where('realm_id', '=', realmId)
    .where('entity_type', '=', entity)
    .execute();
}

export async function finishCursor(
  db: Kysely<Database>,
  realmId: string,
  entity: QboEntityType,
  outcome: { ok: true } | { ok: false; error: string; code: string | null },
): Promise<void> {
  await db
    .updateTable('qbo_sync_cursors')
    .set({
      status: outcome.ok ? 'success' : 'error',
      last_error: outcome.ok ? null : outcome.error.slice(0, 2000),
      last_error_code: outcome.ok ? null : outcome.code,
      last_run_finished_at: sql<Date>`now()`,
      updated_at: sql`now()`,
    })
    .where('realm_id', '=', realmId)
    .where('entity_type', '=', entity)
    .execute();
}
