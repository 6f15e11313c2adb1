// The sync engine's results -> the wire: snake_case fields and ISO 8601 times.
import type { SyncAccepted, SyncRun, SyncStatusResponse } from '@qbo-sync/contract';
import type { QboSyncRun } from '../../db/schema.ts';
import type { RealmSyncStatus } from '../../lib/quickbooks/sync/status.ts';
import type { SyncRequestResult } from '../../lib/quickbooks/sync/sync.ts';
import { iso } from './connection.mapper.ts';

export function toSyncAccepted(r: SyncRequestResult): SyncAccepted {
  return {
    job_id: r.jobId,
    run_id: r.runId,
    realm_id: r.realmId,
    kind: r.kind,
    entities: r.entities,
    deduplicated: r.deduplicated,
  };
}

function toRun(r: QboSyncRun | null): SyncRun | null {
  if (!r) return null;
  return {
    run_id: r.id,
    job_id: r.job_id,
    kind: r.kind,
    status: r.status,
    entities: r.entities,
    started_at: r.started_at.toISOString(),
    finished_at: iso(r.finished_at),
    error: r.error,
    error_code: r.error_code,
  };
}

export function toSyncStatusResponse(realms: RealmSyncStatus[]): SyncStatusResponse {
  return {
    realms: realms.map((s) => ({
      realm_id: s.realmId,
      company_name: s.companyName,
      connection_status: s.connectionStatus,
      running: toRun(s.running),
      last_run: toRun(s.lastRun),
      entities: s.entities.map((e) => ({
        entity_type: e.entity,
        mirror_count: e.mirrorCount,
        deleted_count: e.deletedCount,
        status: e.status,
        progress: e.progress,
        last_full_sync_at: iso(e.lastFullSyncAt),
        last_cdc_at: iso(e.lastCdcAt),
        last_webhook_at: iso(e.lastWebhookAt),
        last_reconciled_at: iso(e.lastReconciledAt),
        qbo_count: e.qboCount,
        drift: e.drift,
        repaired: e.repaired,
        last_error: e.lastError,
        last_error_code: e.lastErrorCode,
      })),
    })),
  };
}
