// The sync engine: POST /sync/full, /sync/incremental and /sync/reconcile (202 + the job's
// id), GET /sync/status (database only, cheap to poll).
import { z } from 'zod';
import { EntityType, Iso, NullableIso, RealmId } from './common.ts';

/** Body of POST /sync/full, /sync/incremental and /sync/reconcile; `{}`: every entity. */
export const SyncRequest = z.strictObject({
  realm_id: RealmId.optional(),
  entity: EntityType.optional(),
});
export type SyncRequest = z.infer<typeof SyncRequest>;

export const SyncKind = z.enum(['full', 'incremental', 'reconcile']);
export type SyncKind = z.infer<typeof SyncKind>;

/** What a run of this kind is called: "full sync", "incremental sync", "reconciliation". */
export function syncRunName(kind: SyncKind): string {
  return kind === 'reconcile' ? 'reconciliation' : `${kind} sync`;
}
export const SyncRunStatus = z.enum(['queued', 'running', 'success', 'error']);

export const SyncAccepted = z.object({
  job_id: z.string(),
  run_id: z.string(),
  realm_id: z.string(),
  kind: SyncKind,
  entities: z.array(EntityType),
  /** True when a run already covering this request was unfinished: its job id is answered. */
  deduplicated: z.boolean(),
});
export type SyncAccepted = z.infer<typeof SyncAccepted>;

export const SyncRun = z.object({
  run_id: z.string(),
  job_id: z.string().nullable(),
  kind: SyncKind,
  status: SyncRunStatus,
  entities: z.array(EntityType),
  started_at: Iso,
  finished_at: NullableIso,
  error: z.string().nullable(),
  error_code: z.string().nullable(),
});
export type SyncRun = z.infer<typeof SyncRun>;

export const EntitySyncStatus = z.object({
  entity_type: EntityType,
  /** Rows in the mirror that exist in QBO (inactive name-list objects included). */
  mirror_count: z.number().int(),
  /** Rows kept for objects deleted in QBO. */
  deleted_count: z.number().int(),
  status: z.enum(['never', 'idle', 'running', 'success', 'error']),
  /** While a run works on this entity: objects done of total. */
  progress: z.object({ done: z.number().int(), total: z.number().int().nullable() }).nullable(),
  last_full_sync_at: NullableIso,
  last_cdc_at: NullableIso,
  last_webhook_at: NullableIso,
  /** When the last reconciliation compared QBO with the mirror, and what it found. */
  last_reconciled_at: NullableIso,
  qbo_count: z.number().int().nullable(),
  drift: z.number().int().nullable(),
  repaired: z.number().int().nullable(),
  last_error: z.string().nullable(),
  last_error_code: z.string().nullable(),
});
export type EntitySyncStatus = z.infer<typeof EntitySyncStatus>;

export const RealmSyncStatus = z.object({
  realm_id: z.string(),
  company_name: z.string().nullable(),
  connection_status: z.string(),
  running: SyncRun.nullable(),
  last_run: SyncRun.nullable(),
  entities: z.array(EntitySyncStatus),
});
export type RealmSyncStatus = z.infer<typeof RealmSyncStatus>;

export const SyncStatusResponse = z.object({ realms: z.array(RealmSyncStatus) });
export type SyncStatusResponse = z.infer<typeof SyncStatusResponse>;
