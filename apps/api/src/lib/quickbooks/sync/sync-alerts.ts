// The two alerts /metrics raises about the mirror's freshness (docs/api.md#alerts):
//
//   daily_job_overdue  a connected company has no completed reconciliation within one period
//                      of QBO_RECONCILE_CRON plus 2 hours (26 h for the daily default). The
//                      reconciliation is also what applies CDC every day, so without it the
//                      mirror depends on webhooks alone. Not raised while the metered-read cap
//                      holds the reconciliation back on purpose (the CorePlus alert says so),
//                      nor for a company connected less than that long ago.
//   drift_found        the last reconciliation of an entity found records that differed from
//                      QBO (repaired in the same pass: something reached QBO without reaching
//                      the mirror by webhook or CDC). A full sync of that entity finished
//                      after the reconciliation clears it for that entity: it re-read it all.
//
// Times compared with the database's own (`started_at`, `finished_at`, `last_reconciled_at`
// are its now()) come from the same clock; `now` is the service's.
import type { Kysely } from 'kysely';
import type { Database, QboConnection, QboEntityType, QboSyncCursor } from '../../../db/schema.ts';
import { nextCronTime, previousCronTime } from '../../jobs.ts';
import { HOUR_MS } from '../ports.ts';

/** How long after its scheduled time a reconciliation may still be running or queued. */
export const RECONCILE_GRACE_MS = 2 * HOUR_MS;

export interface DailyJobAlert {
  active: boolean;
  /** Hours without a completed reconciliation before the alert fires (26 for a daily cron). */
  threshold: number;
  /** Hours since the last completed reconciliation; null when none ever completed. */
  value: number | null;
  message: string;
}

export interface DriftAlert {
  active: boolean;
  threshold: number;
  /** Records that differed, summed over `entities`. */
  value: number;
  message: string;
  /** Entities whose last reconciliation found drift not yet re-read by a full sync. */
  entities: QboEntityType[];
}

export async function dailyJobAlert(
  db: Kysely<Database>,
  connection: QboConnection | null,
  opts: { now: number; cron: string; backgroundReadsBlocked: boolean },
): Promise<DailyJobAlert> {
  const lastFire = previousCronTime(opts.cron, opts.now);
  const periodMs = nextCronTime(opts.cron, lastFire) - lastFire;
  const allowedMs = periodMs + RECONCILE_GRACE_MS;
  const threshold = Math.round((allowedMs / HOUR_MS) * 10) / 10;
  if (!connection) {
    return { active: false, threshold, value: null, message: 'no company is connected' };
  }
  const runs = await db
    .selectFrom('qbo_sync_runs')
    .select(['status', 'finished_at', 'error'])
    .where('realm_id', '=', connection.realm_id)
    .where('kind', '=', 'reconcile')
    .where('status', 'in', ['success', 'error'])
    .orderBy('finished_at', 'desc')
    .limit(20)
    .execute();
  const completed = runs.find((r) => r.status === 'success')?.finished_at ?? null;
  const lastFailed = runs[0]?.status === 'error' ? runs[0] : null;
  const ageMs = completed ? opts.now - new Date(completed).getTime() : null;
  const value = ageMs === null ? null : Math.round((ageMs / HOUR_MS) * 10) / 10;
  const since = new Date(opts.now - allowedMs);
  const due =
    connection.status === 'connected' &&
    new Date(connection.connected_at) < since &&
    (ageMs === null || ageMs > allowedMs);
  const schedule = `QBO_RECONCILE_CRON "${opts.cron}" (UTC)`;
  if (due && opts.backgroundReadsBlocked) {
    return {
      active: false,
      threshold,
      value,
      message: `no reconciliation completed in ${threshold} h: held back on purpose while this month's metered reads are near the allowance`,
    };
  }
  return {
    active: due,
    threshold,
    value,
    message: due
      ? `no reconciliation completed in ${value === null ? 'the life of this connection' : `${value} h`} (alert above ${threshold} h; ${schedule})` +
        (lastFailed ? `; the last one failed: ${lastFailed.error ?? 'no reason recorded'}` : '')
      : completed
        ? `the last reconciliation completed ${value} h ago (alert above ${threshold} h; ${schedule})`
        : `no reconciliation has completed yet (alert once connected ${threshold} h without one; ${schedule})`,
  };
}

export async function driftAlert(
  db: Kysely<Database>,
  realmId: string | null,
  cursors: readonly QboSyncCursor[],
): Promise<DriftAlert> {
  const drifted = cursors.filter(
    (c) => (c.reconcile_drift ?? 0) > 0 && c.last_reconciled_at !== null,
  );
  const oldest = drifted.length
    ? new Date(Math.min(...drifted.map((c) => new Date(c.last_reconciled_at!).getTime())))
    : null;
  const resynced =
    realmId && oldest
      ? await db
          .selectFrom('qbo_sync_runs')
          .select(['entities', 'started_at'])
          .where('realm_id', '=', realmId)
          .where('kind', '=', 'full')
          .where('status', '=', 'success')
          .where('started_at', '>', oldest)
          .execute()
      : [];
  const open = drifted.filter(
    (c) =>
      !resynced.some(
        (r) =>
          r.entities.includes(c.entity_type) &&
          new Date(r.started_at) > new Date(c.last_reconciled_at!),
      ),
  );
  const value = open.reduce((n, c) => n + (c.reconcile_drift ?? 0), 0);
  return {
    active: open.length > 0,
    threshold: 0,
    value,
    entities: open.map((c) => c.entity_type),
    message: open.length
      ? `the last reconciliation found records that differed from QuickBooks: ${open
          .map((c) => `${c.entity_type} ${c.reconcile_drift}`)
          .join(', ')} (repaired in the same pass)`
      : 'the last reconciliation of every entity matched QuickBooks, or a full sync re-read it since',
  };
}
