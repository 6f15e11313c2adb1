// `qbo-sync sync`: asks the service for an incremental or full sync, or a reconciliation,
// then follows it on GET /sync/status (the database's record, cheap to poll) with a progress
// bar per entity.
import cliProgress from 'cli-progress';
import {
  syncRunName,
  type EntitySyncStatus,
  type SyncAccepted,
  type SyncRun,
  type SyncStatusResponse,
} from '@qbo-sync/contract';
import type { ServiceClient } from './service.ts';

export interface SyncOptions {
  full?: boolean;
  /** The daily reconciliation, now (POST /sync/reconcile). */
  reconcile?: boolean;
  entity?: string;
  realm?: string;
  wait: boolean;
  /** Progress bars only on a terminal; plain lines otherwise (logs, CI). */
  tty: boolean;
  pollMs?: number;
  out: (line: string) => void;
}

/** What a reconciliation proved of an entity: QBO's count and the drift it found. */
function proved(e: EntitySyncStatus): string {
  if (e.drift === null || e.qbo_count === null) return '';
  const found = e.drift === 0 ? 'in sync' : `${e.drift} differed, ${e.repaired ?? 0} repaired`;
  return `, ${e.qbo_count} in QuickBooks: ${found}`;
}

/** The run's end: `success`, `error`, or null when not waiting. */
export async function runSync(service: ServiceClient, o: SyncOptions): Promise<SyncRun | null> {
  const body = {
    ...(o.realm ? { realm_id: o.realm } : {}),
    ...(o.entity ? { entity: o.entity } : {}),
  };
  const accepted = await service.post<SyncAccepted>(
    `/api/quickbooks/sync/${o.reconcile ? 'reconcile' : o.full ? 'full' : 'incremental'}`,
    body,
  );
  const name = syncRunName(accepted.kind);
  o.out(
    `${name} of ${accepted.entities.join(', ')} for realm ${accepted.realm_id}: job ${accepted.job_id}${accepted.deduplicated ? ' (already running: following it)' : ''}`,
  );
  if (!o.wait) return null;

  const path = `/api/quickbooks/sync/status?realmId=${encodeURIComponent(accepted.realm_id)}`;
  const bars = o.tty
    ? new cliProgress.MultiBar(
        { format: ' {entity} [{bar}] {value}/{total}', hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const byEntity = new Map<string, cliProgress.SingleBar>();
  try {
    for (;;) {
      const status = await service.get<SyncStatusResponse>(path);
      const realm = status.realms.find((r) => r.realm_id === accepted.realm_id);
      if (bars && realm) {
        for (const e of realm.entities) {
          if (!accepted.entities.includes(e.entity_type) || !e.progress) continue;
          const total = e.progress.total ?? Math.max(e.progress.done, 1);
          let bar = byEntity.get(e.entity_type);
          if (!bar) {
            bar = bars.create(total, 0, { entity: e.entity_type.padEnd(8) });
            byEntity.set(e.entity_type, bar);
          }
          bar.setTotal(total);
          bar.update(e.progress.done);
        }
      }
      const run = [realm?.running, realm?.last_run].find((r) => r?.run_id === accepted.run_id);
      if (run && (run.status === 'success' || run.status === 'error')) {
        bars?.stop();
        for (const e of realm?.entities ?? []) {
          if (accepted.entities.includes(e.entity_type)) {
            o.out(
              `  ${e.entity_type.padEnd(8)} ${e.mirror_count} in the mirror${accepted.kind === 'reconcile' ? proved(e) : ''}${e.last_error ? `, error: ${e.last_error}` : ''}`,
            );
          }
        }
        o.out(
          run.status === 'success'
            ? `${name} finished`
            : `${name} failed: ${run.error ?? 'unknown error'}${run.error_code ? ` (${run.error_code})` : ''}`,
        );
        return run;
      }
      await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
    }
  } finally {
    bars?.stop();
  }
}
