// Domain health metrics -> the wire: snake_case fields and ISO 8601 times.
import type { MetricsResponse } from '@qbo-sync/contract';
import type { HealthMetrics } from '../../lib/quickbooks/metrics.ts';
import { iso, toCorePlus } from './connection.mapper.ts';

export function toMetricsResponse(m: HealthMetrics): MetricsResponse {
  const { api, tokenRefreshes: r, webhooks: w, alerts: a } = m;
  return {
    realm_id: m.realmId,
    coreplus: toCorePlus(m.coreplus, m.realmId),
    window: {
      from: m.window.from.toISOString(),
      to: m.window.to.toISOString(),
      hours: m.window.hours,
    },
    api: {
      calls: api.calls,
      errors: api.errors,
      throttled: api.throttled,
      error_rate: api.errorRate,
      throttle_rate: api.throttleRate,
      latency_ms: api.latencyMs,
      hourly: api.hourly.map((h) => ({
        hour: h.hour.toISOString(),
        calls: h.calls,
        errors: h.errors,
        throttled: h.throttled,
        latency_ms: h.latencyMs,
      })),
    },
    token_refreshes: {
      total: r.total,
      success: r.success,
      invalid_grant: r.invalidGrant,
      error: r.error,
    },
    webhooks: {
      received: w.received,
      processed: w.processed,
      skipped: w.skipped,
      failed: w.failed,
      rejected: w.rejected,
      pending: w.pending,
      lag_seconds: w.lagSeconds,
      processing_seconds: w.processingSeconds,
    },
    sync_lag: m.syncLag.map((s) => ({
      entity_type: s.entityType,
      last_synced_at: iso(s.lastSyncedAt),
      lag_seconds: s.lagSeconds,
      status: s.status,
    })),
    alerts: {
      needs_reauth: a.needsReauth,
      refresh_token_expiring: a.refreshTokenExpiring,
      throttle_rate_high: a.throttleRateHigh,
      webhook_lag_high: a.webhookLagHigh,
      coreplus_allowance: a.coreplusAllowance,
      daily_job_overdue: a.dailyJobOverdue,
      drift_found: a.driftFound,
    },
  };
}
