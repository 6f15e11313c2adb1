// 24-hour health aggregates and alert rules behind GET /metrics, computed from what the
// service already records: qbo_request_log (every HTTP attempt to QBO and to Intuit's OAuth
// server, told apart by `kind`), qbo_webhook_events, qbo_sync_cursors, qbo_connections and
// qbo_tokens.
//
// Alert thresholds (documented in docs/api.md#alerts):
//   needs_reauth            the connection's status is needs_reauth (invalid_grant on refresh)
//   refresh_token_expiring  the refresh token's rolling or hard expiry is within 14 days
//   throttle_rate_high      more than 5 % of the window's API calls were answered 429
//   webhook_lag_high        the oldest unprocessed webhook event is older than 15 minutes
//   daily_job_overdue, drift_found: the mirror's freshness (sync/sync-alerts.ts)
import type { MeteredUsage } from './client/metering.ts';
import { KEEP_ALIVE_WITHIN_DAYS } from './connection/keep-alive.ts';
import { sql, type Kysely } from 'kysely';
import {
  QBO_ENTITY_TYPES,
  type Database,
  type QboConnection,
  type QboEntityType,
  type SyncCursorStatus,
} from '../../db/schema.ts';
import { DAY_MS, HOUR_MS } from './ports.ts';
import {
  dailyJobAlert,
  driftAlert,
  type DailyJobAlert,
  type DriftAlert,
} from './sync/sync-alerts.ts';

export const METRICS_WINDOW_MS = DAY_MS;
export const ALERT_THRESHOLDS = Object.freeze({
  refreshTokenExpiringDays: 14,
  /** The grant's 5-year end cannot be extended: warn two months ahead to plan a reconnect. */
  hardExpiryDays: 60,
  throttleRate: 0.05,
  webhookLagSeconds: 15 * 60,
});

export interface Alert {
  active: boolean;
  /** What the rule compares against. */
  threshold: number;
  value: number | null;
  message: string;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
}

export interface ApiStats {
  calls: number;
  errors: number;
  throttled: number;
  errorRate: number;
  throttleRate: number;
  latencyMs: Percentiles & { p99: number | null };
  /** The same, per clock hour of the window, oldest first; hours without calls are zeros. */
  hourly: ApiHour[];
}

export interface ApiHour {
  /** Start of the hour (UTC). */
  hour: Date;
  calls: number;
  errors: number;
  throttled: number;
  latencyMs: Percentiles;
}

export interface RefreshStats {
  total: number;
  success: number;
  invalidGrant: number;
  error: number;
}

export interface WebhookStats {
  received: number;
  processed: number;
  /** Stored but not applied: entity not mirrored, realm not connected, unreadable. */
  skipped: number;
  failed: number;
  rejected: number;
  pending: number;
  /** Age of the oldest event still waiting to be processed (0 when none). */
  lagSeconds: number;
  /** Received -> processed time of events processed in the window. */
  processingSeconds: Percentiles;
}

export interface SyncLag {
  entityType: QboEntityType;
  lastSyncedAt: Date | null;
  lagSeconds: number | null;
  status: SyncCursorStatus;
}

export interface HealthMetrics {
  realmId: string | null;
  coreplus: MeteredUsage;
  window: { from: Date; to: Date; hours: number };
  api: ApiStats;
  tokenRefreshes: RefreshStats;
  webhooks: WebhookStats;
  syncLag: SyncLag[];
  alerts: {
    needsReauth: Alert;
    refreshTokenExpiring: Alert;
    throttleRateHigh: Alert;
    webhookLagHigh: Alert;
    coreplusAllowance: Alert;
    dailyJobOverdue: DailyJobAlert;
    driftFound: DriftAlert;
  };
}

/** Each alert's stable name, as /metrics and the Prometheus gauges spell it. */
export const ALERT_NAMES = Object.freeze({
  needsReauth: 'needs_reauth',
  refreshTokenExpiring: 'refresh_token_expiring',
  throttleRateHigh: 'throttle_rate_high',
  webhookLagHigh: 'webhook_lag_high',
  coreplusAllowance: 'coreplus_allowance',
  dailyJobOverdue: 'daily_job_overdue',
  driftFound: 'drift_found',
} satisfies Record<keyof HealthMetrics['alerts'], string>);

export interface RealmAlerts {
  realmId: string;
  alerts: HealthMetrics['alerts'];
}

/** Every known company's alerts, by the same rules /metrics applies to one (for Prometheus). */
export async function alertsOfEveryRealm(
  db: Kysely<Database>,
  opts: Parameters<typeof computeMetrics>[2],
): Promise<RealmAlerts[]> {
  const connections = await db
    .selectFrom('qbo_connections')
    .selectAll()
    .orderBy('realm_id')
    .execute();
  const out: RealmAlerts[] = [];
  // One company at a time: a scrape should not take the pool's every connection.
  for (const c of connections) {
    out.push({ realmId: c.realm_id, alerts: (await computeMetrics(db, c, opts)).alerts });
  }
  return out;
}

export async function computeMetrics(
  db: Kysely<Database>,
  connection: QboConnection | null,
  opts: { now: number; coreplus: MeteredUsage; reconcileCron: string },
): Promise<HealthMetrics> {
  const to = new Date(opts.now);
  const from = new Date(opts.now - METRICS_WINDOW_MS);
  const realmId = connection?.realm_id ?? null;
  const [api, hourly, refreshes, webhooks, cursors, tokens] = await Promise.all([
    realmId ? apiStats(db, realmId, from) : null,
    realmId ? apiHourly(db, realmId, from) : [],
    realmId ? refreshStats(db, realmId, from) : null,
    webhookStats(db, realmId, from, opts.now),
    realmId
      ? db.selectFrom('qbo_sync_cursors').selectAll().where('realm_id', '=', realmId).execute()
      : [],
    realmId
      ? db
          .selectFrom('qbo_tokens')
          .select(['refresh_token_expires_at', 'refresh_token_hard_expires_at'])
          .where('realm_id', '=', realmId)
          .executeTakeFirst()
      : undefined,
  ]);

  const calls = api?.calls ?? 0;
  const throttleRate = calls ? (api?.throttled ?? 0) / calls : 0;
  const errorRate = calls ? (api?.errors ?? 0) / calls : 0;

  const daysTo = (d: Date | null | undefined) =>
    d instanceof Date ? (d.getTime() - opts.now) / DAY_MS : null;
  const rollingDays = daysTo(tokens?.refresh_token_expires_at);
  const hardDays = daysTo(tokens?.refresh_token_hard_expires_at);
  const known = [rollingDays, hardDays].filter((d): d is number => d !== null);
  const daysLeft = known.length ? Math.min(...known) : null;

  const [dailyJobOverdue, driftFound] = await Promise.all([
    dailyJobAlert(db, connection, {
      now: opts.now,
      cron: opts.reconcileCron,
      backgroundReadsBlocked: opts.coreplus.backgroundBlocked,
    }),
    driftAlert(db, realmId, cursors),
  ]);

  const byEntity = new Map(cursors.map((c) => [c.entity_type, c]));
  const syncLag = QBO_ENTITY_TYPES.map((entity) => {
    const c = byEntity.get(entity);
    const times = [c?.last_cdc_at, c?.last_full_sync_at, c?.last_webhook_at]
      .filter((d): d is Date => d instanceof Date)
      .map((d) => d.getTime());
    const last = times.length ? Math.max(...times) : null;
    return {
      entityType: entity,
      lastSyncedAt: last === null ? null : new Date(last),
      lagSeconds: last === null ? null : Math.max(0, Math.round((opts.now - last) / 1000)),
      status: c?.status ?? 'idle',
    };
  });

  const needsReauth = connection?.status === 'needs_reauth';
  const T = ALERT_THRESHOLDS;
  const cp = opts.coreplus;
  return {
    realmId,
    coreplus: cp,
    window: { from, to, hours: METRICS_WINDOW_MS / HOUR_MS },
    api: {
      calls,
      errors: api?.errors ?? 0,
      throttled: api?.throttled ?? 0,
      errorRate: round4(errorRate),
      throttleRate: round4(throttleRate),
      latencyMs: { p50: api?.p50 ?? null, p95: api?.p95 ?? null, p99: api?.p99 ?? null },
      hourly: fillHours(hourly, from, to),
    },
    tokenRefreshes: refreshes ?? { total: 0, success: 0, invalidGrant: 0, error: 0 },
    webhooks,
    syncLag,
    alerts: {
      needsReauth: {
        active: needsReauth,
        threshold: 1,
        value: needsReauth ? 1 : 0,
        message: needsReauth
          ? 'QuickBooks refused the refresh token: reconnect the company'
          : connection?.status === 'connected'
            ? 'tokens are accepted'
            : connection
              ? 'the company is disconnected: no tokens are held'
              : 'no company is connected',
      },
      refreshTokenExpiring: {
        // The daily keep-alive refreshes long before the rolling expiry: reaching 14 days means
        // it is failing. The hard end is announced 60 days ahead.
        active:
          (rollingDays !== null && rollingDays < T.refreshTokenExpiringDays) ||
          (hardDays !== null && hardDays < T.hardExpiryDays),
        threshold: T.refreshTokenExpiringDays,
        value: daysLeft === null ? null : Math.round(daysLeft * 10) / 10,
        message:
          daysLeft === null
            ? 'no refresh token stored'
            : hardDays !== null && hardDays < T.hardExpiryDays
              ? `the QuickBooks grant ends for good in ${hardDays.toFixed(1)} days (5 years after consent): reconnect the company before then`
              : `the refresh token expires in ${daysLeft.toFixed(1)} days (alert below ${T.refreshTokenExpiringDays}; the daily keep-alive refreshes it from ${KEEP_ALIVE_WITHIN_DAYS} days)`,
      },
      throttleRateHigh: {
        active: throttleRate > T.throttleRate,
        threshold: T.throttleRate,
        value: round4(throttleRate),
        message: `${(throttleRate * 100).toFixed(1)} % of API calls in 24 h were throttled (alert above ${T.throttleRate * 100} %)`,
      },
      webhookLagHigh: {
        active: webhooks.lagSeconds > T.webhookLagSeconds,
        threshold: T.webhookLagSeconds,
        value: webhooks.lagSeconds,
        message: `the oldest unprocessed webhook event is ${webhooks.lagSeconds} s old (alert above ${T.webhookLagSeconds} s)`,
      },
      coreplusAllowance: {
        active: cp.alert,
        threshold: cp.alertPercent,
        value: cp.allowance ? Math.round((cp.used / cp.allowance) * 1000) / 10 : null,
        message: !cp.metered
          ? `${cp.used} read calls this month; not metered (a sandbox)`
          : cp.backgroundBlocked
            ? `${cp.used} of ${cp.allowance} metered read calls used: the daily reconciliation waits for the next month`
            : `${cp.used} of ${cp.allowance} metered read calls used this month, ${cp.forecast} forecast (alert at ${cp.alertPercent} %)`,
      },
      dailyJobOverdue,
      driftFound,
    },
  };
}

interface ApiRow {
  calls: number;
  errors: number;
  throttled: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/**
 * Accounting API attempts (OAuth rows excluded). Each HTTP attempt counts, retries
 * included: a 503 that a retry then fixed still shows in the error rate — that is the health
 * of QBO as seen on the wire. Errors are status >= 400 or no response at all.
 */
async function apiStats(db: Kysely<Database>, realmId: string, from: Date): Promise<ApiRow> {
  const row = await db
    .selectFrom('qbo_request_log')
    .select([
      sql<string>`count(*)`.as('calls'),
      sql<string>`count(*) filter (where status is null or status >= 400)`.as('errors'),
      sql<string>`count(*) filter (where status = 429)`.as('throttled'),
      sql<string | null>`percentile_cont(0.5) within group (order by duration_ms)`.as('p50'),
      sql<string | null>`percentile_cont(0.95) within group (order by duration_ms)`.as('p95'),
      sql<string | null>`percentile_cont(0.99) within group (order by duration_ms)`.as('p99'),
    ])
    .where('realm_id', '=', realmId)
    .where('created_at', '>', from)
    .where('kind', '=', 'accounting')
    .executeTakeFirstOrThrow();
  const ms = (v: string | number | null) => (v === null ? null : Math.round(Number(v)));
  return {
    calls: Number(row.calls),
    errors: Number(row.errors),
    throttled: Number(row.throttled),
    p50: ms(row.p50),
    p95: ms(row.p95),
    p99: ms(row.p99),
  };
}

/** Accounting API attempts per clock hour (the hours that had any). */
async function apiHourly(db: Kysely<Database>, realmId: string, from: Date): Promise<ApiHour[]> {
  const rows = await db
    .selectFrom('qbo_request_log')
    .select([
      // Epoch seconds, not date_trunc: its result depends on the session's time zone, and the
      // drivers parse a timestamp without zone differently.
      sql<string>`floor(extract(epoch from created_at) / 3600) * 3600`.as('hour'),
      sql<string>`count(*)`.as('calls'),
      sql<string>`count(*) filter (where status is null or status >= 400)`.as('errors'),
      sql<string>`count(*) filter (where status = 429)`.as('throttled'),
      sql<string | null>`percentile_cont(0.5) within group (order by duration_ms)`.as('p50'),
      sql<string | null>`percentile_cont(0.95) within group (order by duration_ms)`.as('p95'),
    ])
    .where('realm_id', '=', realmId)
    .where('created_at', '>', from)
    .where('kind', '=', 'accounting')
    .groupBy(sql`1`)
    .orderBy(sql`1`)
    .execute();
  const ms = (v: string | number | null) => (v === null ? null : Math.round(Number(v)));
  return rows.map((r) => ({
    hour: new Date(Number(r.hour) * 1000),
    calls: Number(r.calls),
    errors: Number(r.errors),
    throttled: Number(r.throttled),
    latencyMs: { p50: ms(r.p50), p95: ms(r.p95) },
  }));
}

/** One entry per clock hour from the hour of `from` to the hour of `to`, zeros where none. */
function fillHours(hours: ApiHour[], from: Date, to: Date): ApiHour[] {
  const byHour = new Map(hours.map((h) => [h.hour.getTime(), h]));
  const out: ApiHour[] = [];
  const first = Math.floor(from.getTime() / HOUR_MS) * HOUR_MS;
  for (let t = first; t <= to.getTime(); t += HOUR_MS) {
    out.push(
      byHour.get(t) ?? {
        hour: new Date(t),
        calls: 0,
        errors: 0,
        throttled: 0,
        latencyMs: { p50: null, p95: null },
      },
    );
  }
  return out;
}

async function refreshStats(
  db: Kysely<Database>,
  realmId: string,
  from: Date,
): Promise<RefreshStats> {
  const row = await db
    .selectFrom('qbo_request_log')
    .select([
      sql<string>`count(*)`.as('total'),
      sql<string>`count(*) filter (where status between 200 and 299)`.as('success'),
      sql<string>`count(*) filter (where qbo_error_code = 'invalid_grant')`.as('invalid_grant'),
    ])
    .where('realm_id', '=', realmId)
    .where('created_at', '>', from)
    .where('kind', '=', 'oauth_token_refresh')
    .executeTakeFirstOrThrow();
  const total = Number(row.total);
  const success = Number(row.success);
  const invalidGrant = Number(row.invalid_grant);
  return { total, success, invalidGrant, error: total - success - invalidGrant };
}

async function webhookStats(
  db: Kysely<Database>,
  realmId: string | null,
  from: Date,
  now: number,
): Promise<WebhookStats> {
  let q = db
    .selectFrom('qbo_webhook_events')
    .select([
      sql<string>`count(*) filter (where received_at > ${from})`.as('received'),
      sql<string>`count(*) filter (where received_at > ${from} and status = 'processed')`.as(
        'processed',
      ),
      sql<string>`count(*) filter (where received_at > ${from} and status = 'skipped')`.as(
        'skipped',
      ),
      sql<string>`count(*) filter (where received_at > ${from} and status = 'failed')`.as('failed'),
      sql<string>`count(*) filter (where received_at > ${from} and status = 'rejected')`.as(
        'rejected',
      ),
      sql<string>`count(*) filter (where status in ('pending', 'processing'))`.as('pending'),
      sql<Date | null>`min(received_at) filter (where status in ('pending', 'processing'))`.as(
        'oldest_pending',
      ),
      sql<
        string | null
      >`percentile_cont(0.5) within group (order by extract(epoch from processed_at - received_at)) filter (where status = 'processed' and processed_at > ${from})`.as(
        'p50',
      ),
      sql<
        string | null
      >`percentile_cont(0.95) within group (order by extract(epoch from processed_at - received_at)) filter (where status = 'processed' and processed_at > ${from})`.as(
        'p95',
      ),
    ]);
  // Events without a realm (unsigned or unreadable deliveries) count for the service as a
  // whole only when no realm is selected.
  // A delivery may name several realms (CloudEvents): it counts for each of them.
  q =
    realmId === null
      ? q
      : q.where(sql<boolean>`(realm_id = ${realmId} or realm_ids @> array[${realmId}]::text[])`);
  const row = await q.executeTakeFirstOrThrow();
  const oldest = row.oldest_pending === null ? null : new Date(row.oldest_pending).getTime();
  const sec = (v: string | number | null) => (v === null ? null : Math.round(Number(v) * 10) / 10);
  return {
    received: Number(row.received),
    processed: Number(row.processed),
    skipped: Number(row.skipped),
    failed: Number(row.failed),
    rejected: Number(row.rejected),
    pending: Number(row.pending),
    lagSeconds: oldest === null ? 0 : Math.max(0, Math.round((now - oldest) / 1000)),
    processingSeconds: { p50: sec(row.p50), p95: sec(row.p95) },
  };
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
