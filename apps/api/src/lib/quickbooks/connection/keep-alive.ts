// Connections must not lapse by neglect. Intuit's refresh token expires 100 days after it was
// issued unless it is used (each refresh issues one with a new 100-day term; docs/qbo-facts.md),
// so a company nobody synced for three months would need its admin to reconnect. A daily pass
// refreshes every connected company whose rolling expiry is near, whether or not anything
// else calls QBO for it. The grant's 5-year hard end cannot be extended: /metrics alerts on it
// months ahead (ALERT_THRESHOLDS.hardExpiryDays).
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../../../db/schema.ts';
import type { JobWorker } from '../../jobs.ts';
import type { QboJobs } from '../jobs.ts';
import type { Clock } from '../ports.ts';
import type { TokenStore } from './token-store.ts';

export const KEEP_ALIVE_JOB = 'qbo.keep-alive';
/** Daily, UTC; an hour before the reconciliation so the two never compete for the same realm. */
export const KEEP_ALIVE_CRON = '0 2 * * *';
/** Refresh when the rolling expiry is this close: a month of daily passes to get it right. */
export const KEEP_ALIVE_WITHIN_DAYS = 30;

export interface KeepAliveDeps {
  db: Kysely<Database>;
  tokens: Pick<TokenStore, 'refresh'>;
  clock: Clock;
  logger: Logger;
}

export interface KeepAliveResult {
  /** Connected companies whose rolling expiry was within the window. */
  due: string[];
  refreshed: string[];
  failed: { realmId: string; reason: string }[];
}

/** Registers the keep-alive pass as a job (its daily schedule: scheduleKeepAlive). */
export function registerKeepAlive(jobs: JobWorker<QboJobs>, d: KeepAliveDeps): void {
  jobs.handle(KEEP_ALIVE_JOB, async () => {
    await keepConnectionsAlive(d);
  });
}

export function scheduleKeepAlive(jobs: JobWorker<QboJobs>): Promise<void> {
  return jobs.schedule(KEEP_ALIVE_JOB, { id: 'keep-alive', cron: KEEP_ALIVE_CRON }, {});
}

export async function keepConnectionsAlive(
  d: KeepAliveDeps,
  withinDays = KEEP_ALIVE_WITHIN_DAYS,
): Promise<KeepAliveResult> {
  const horizon = new Date(d.clock.now() + withinDays * 86_400_000);
  const due = await d.db
    .selectFrom('qbo_connections as c')
    .innerJoin('qbo_tokens as t', 't.realm_id', 'c.realm_id')
    .select('c.realm_id')
    .where('c.status', '=', 'connected')
    .where('t.refresh_token_expires_at', '<', horizon)
    .orderBy('t.refresh_token_expires_at')
    .execute();
  const result: KeepAliveResult = { due: due.map((r) => r.realm_id), refreshed: [], failed: [] };
  // One at a time: a handful of companies a day, and each refresh takes the realm's lock.
  for (const { realm_id: realmId } of due) {
    try {
      await d.tokens.refresh(realmId, { force: true, reason: 'keep-alive' });
      result.refreshed.push(realmId);
    } catch (err) {
      // invalid_grant has already marked the connection needs_reauth (and /metrics alerts);
      // anything else is tried again tomorrow, well inside the window.
      const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      result.failed.push({ realmId, reason });
      d.logger.warn({ realmId, reason }, 'keep-alive refresh failed');
    }
  }
  if (due.length > 0) {
    d.logger.info(
      { due: due.length, refreshed: result.refreshed.length, failed: result.failed.length },
      'keep-alive pass',
    );
  }
  return result;
}
