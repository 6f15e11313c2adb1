// What GET /sync/status shows, read from the database only (cheap to poll): per realm, the
// unfinished run and the last finished one; per entity, the mirror's counts, QBO's count and
// the drift at the last reconciliation, the cursors, progress and the last error.
import { sql, type Kysely } from 'kysely';
import type {
  Database,
  QboEntityType,
  QboSyncRun,
  SyncCursorStatus,
  SyncRunStatus,
} from '../../../db/schema.ts';
import { SYNC_ENTITIES, mirrorTable } from './entities.ts';

export interface EntitySyncStatus {
  entity: QboEntityType;
  mirrorCount: number;
  deletedCount: number;
  status: SyncCursorStatus | 'never';
  progress: { done: number; total: number | null } | null;
  lastFullSyncAt: Date | null;
  lastCdcAt: Date | null;
  lastWebhookAt: Date | null;
  lastReconciledAt: Date | null;
  qboCount: number | null;
  drift: number | null;
  repaired: number | null;
  lastError: string | null;
  lastErrorCode: string | null;
}

export interface RealmSyncStatus {
  realmId: string;
  companyName: string | null;
  connectionStatus: string;
  running: QboSyncRun | null;
  lastRun: QboSyncRun | null;
  entities: EntitySyncStatus[];
}

export async function readSyncStatus(
  db: Kysely<Database>,
  realmId?: string,
): Promise<RealmSyncStatus[]> {
  let q = db
    .selectFrom('qbo_connections')
    .select(['realm_id', 'company_name', 'status'])
    .orderBy('connected_at', 'desc');
  if (realmId !== undefined) q = q.where('realm_id', '=', realmId);
  const connections = await q.execute();
  return Promise.all(connections.map((c) => realmStatus(db, c)));
}

async function realmStatus(
  db: Kysely<Database>,
  c: { realm_id: string; company_name: string | null; status: string },
): Promise<RealmSyncStatus> {
  const [cursors, running, lastRun, counts] = await Promise.all([
    db.selectFrom('qbo_sync_cursors').selectAll().where('realm_id', '=', c.realm_id).execute(),
    latestRun(db, c.realm_id, ['queued', 'running'], 'started_at'),
    latestRun(db, c.realm_id, ['success', 'error'], 'finished_at'),
    mirrorCounts(db, c.realm_id),
  ]);
  const byEntity = new Map(cursors.map((r) => [r.entity_type, r]));
  return {
    realmId: c.realm_id,
    companyName: c.company_name,
    connectionStatus: c.status,
    running: running ?? null,
    lastRun: lastRun ?? null,
    entities: SYNC_ENTITIES.map((entity) => {
      const cur = byEntity.get(entity);
      const n = counts.get(entity) ?? { live: 0, deleted: 0 };
      return {
        entity,
        mirrorCount: n.live,
        deletedCount: n.deleted,
        status: cur?.status ?? 'never',
        progress:
          cur && cur.status === 'running'
            ? { done: cur.progress_done, total: cur.progress_total }
            : null,
        lastFullSyncAt: cur?.last_full_sync_at ?? null,
        lastCdcAt: cur?.last_cdc_at ?? null,
        lastWebhookAt: cur?.last_webhook_at ?? null,
        lastReconciledAt: cur?.last_reconciled_at ?? null,
        qboCount: cur?.reconcile_qbo_count ?? null,
        drift: cur?.reconcile_drift ?? null,
        repaired: cur?.reconcile_repaired ?? null,
        lastError: cur?.last_error ?? null,
        lastErrorCode: cur?.last_error_code ?? null,
      };
    }),
  };
}

function latestRun(
  db: Kysely<Database>,
  realmId: string,
  statuses: SyncRunStatus[],
  by: 'started_at' | 'finished_at',
): Promise<QboSyncRun | undefined> {
  return db
    .selectFrom('qbo_sync_runs')
    .selectAll()
    .where('realm_id', '=', realmId)
    .where('status', 'in', statuses)
    .orderBy(by, 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Live and deleted rows per mirror: one statement over the six tables. */
async function mirrorCounts(
  db: Kysely<Database>,
  realmId: string,
): Promise<Map<QboEntityType, { live: number; deleted: number }>> {
  const parts = SYNC_ENTITIES.map(
    (e) =>
      sql`select ${e}::text as entity,
        count(*) filter (where not is_deleted)::int as live,
        count(*) filter (where is_deleted)::int as deleted
        from ${sql.table(mirrorTable(e))} where realm_id = ${realmId}`,
  );
  const { rows } = await sql<{ entity: QboEntityType; live: number; deleted: number }>`${sql.join(
    parts,
    sql` union all `,
  )}`.execute(db);
  return new Map(rows.map((r) => [r.entity, { live: Number(r.live), deleted: Number(r.deleted) }]));
}
