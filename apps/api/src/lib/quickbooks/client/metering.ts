// Intuit's App Partner Program (2025) meters "CorePlus" calls — data out: reads, queries, CDC —
// per app and month; the free Builder tier includes 500,000, and past the allowance reads are
// refused until the next cycle (docs/qbo-facts.md "API call metering"). Writes ("Core"),
// OAuth and sandbox calls are not metered. This counts what we spent from the request log,
// forecasts the month, and tells background work (the daily reconciliation) when to stop so
// that the reads the application needs are still there at the end of the month.
//
// Readings where Intuit is silent (⚠ in docs/qbo-facts.md): the cycle is the calendar month in
// UTC; a batch request is counted as Core (a write), as most batches carry writes.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../../db/schema.ts';

export interface MeteringPolicy {
  /** CorePlus calls included per month (Builder tier: 500,000). */
  monthlyAllowance: number;
  /** Alert when the month's calls, or their forecast, pass this share of the allowance. */
  alertPercent: number;
  /** Background work (the daily reconciliation) stops at this share of the allowance. */
  backgroundPercent: number;
  /** False against a sandbox (the embedded one, QBO_SANDBOX_URL, Intuit's sandbox): counted, not billed. */
  metered: boolean;
}

export const DEFAULT_METERING: MeteringPolicy = {
  monthlyAllowance: 500_000,
  alertPercent: 80,
  backgroundPercent: 90,
  metered: false,
};

export interface MeteredUsage {
  metered: boolean;
  cycleStart: Date;
  cycleEnd: Date;
  /** Successful CorePlus calls this cycle, every realm of this service's app. */
  used: number;
  byRealm: { realmId: string; used: number }[];
  allowance: number;
  /** `used` continued at this cycle's rate to its end. */
  forecast: number;
  alertPercent: number;
  /** `used` at or past alertPercent of the allowance, or (after 3 days) a forecast past it all. */
  alert: boolean;
  backgroundCap: number;
  /** Background reads must wait for the next cycle. */
  backgroundBlocked: boolean;
}

const FORECAST_AFTER_MS = 3 * 24 * 3600_000;

export function meteringCycle(now: number): { start: Date; end: Date } {
  const d = new Date(now);
  return {
    start: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)),
    end: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)),
  };
}

/**
 * A request-log row Intuit meters as CorePlus: a successful Accounting API read (a GET, or a
 * query or CDC however sent — a query POSTed as application/text is still a read).
 */
export const METERED_CALL = sql<boolean>`kind = 'accounting' and status between 200 and 299 and (method = 'GET' or path like '%/query%' or path like '%/cdc%')`;

export async function meteredUsage(
  db: Kysely<Database>,
  policy: MeteringPolicy,
  now: number,
): Promise<MeteredUsage> {
  const { start, end } = meteringCycle(now);
  // The cycle's calls are in the log, or — once retention pruned them — in the daily roll-up
  // (never both: pruning moves them in one statement).
  const [live, rolledUp] = await Promise.all([
    db
      .selectFrom('qbo_request_log')
      .select(['realm_id', (eb) => eb.fn.countAll<string>().as('n')])
      .where(METERED_CALL)
      .where('created_at', '>=', start)
      .where('created_at', '<', end)
      .groupBy('realm_id')
      .execute(),
    db
      .selectFrom('qbo_api_usage_daily')
      .select(['realm_id', (eb) => eb.fn.sum<string>('coreplus_calls').as('n')])
      .where('day', '>=', isoDay(start))
      .where('day', '<', isoDay(end))
      .groupBy('realm_id')
      .execute(),
  ]);
  const perRealm = new Map<string, number>();
  for (const r of [...live, ...rolledUp]) {
    const realm = r.realm_id ?? '';
    perRealm.set(realm, (perRealm.get(realm) ?? 0) + Number(r.n));
  }
  const rows = [...perRealm].map(([realm_id, n]) => ({ realm_id, n }));
  const byRealm = rows
    .map((r) => ({ realmId: r.realm_id, used: r.n }))
    .sort((a, b) => b.used - a.used);
  const used = byRealm.reduce((s, r) => s + r.used, 0);
  const elapsed = Math.max(now - start.getTime(), 60_000);
  const forecast = Math.round((used * (end.getTime() - start.getTime())) / elapsed);
  const alertAt = (policy.monthlyAllowance * policy.alertPercent) / 100;
  const backgroundCap = Math.floor((policy.monthlyAllowance * policy.backgroundPercent) / 100);
  return {
    metered: policy.metered,
    cycleStart: start,
    cycleEnd: end,
    used,
    byRealm,
    allowance: policy.monthlyAllowance,
    forecast,
    alertPercent: policy.alertPercent,
    // A forecast from the cycle's first days is one busy afternoon scaled up: not yet.
    alert:
      policy.metered &&
      (used >= alertAt || (elapsed >= FORECAST_AFTER_MS && forecast >= policy.monthlyAllowance)),
    backgroundCap,
    backgroundBlocked: policy.metered && used >= backgroundCap,
  };
}

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}
