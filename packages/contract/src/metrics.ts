// GET /metrics: 24-hour health aggregates and the alerts computed from them.
import { z } from 'zod';
import { EntityType, Iso, NullableIso, SyncStatus } from './common.ts';
import { CorePlusUsage } from './status.ts';

const Alert = z.object({
  active: z.boolean(),
  /** What the rule compares against (see docs/api.md#alerts). */
  threshold: z.number(),
  value: z.number().nullable(),
  message: z.string(),
});
export type Alert = z.infer<typeof Alert>;

const Percentiles = z.object({ p50: z.number().nullable(), p95: z.number().nullable() });

export const MetricsResponse = z.object({
  realm_id: z.string().nullable(),
  window: z.object({ from: Iso, to: Iso, hours: z.number() }),
  api: z.object({
    calls: z.number().int(),
    errors: z.number().int(),
    throttled: z.number().int(),
    error_rate: z.number(),
    throttle_rate: z.number(),
    latency_ms: Percentiles.extend({ p99: z.number().nullable() }),
    /** The same per clock hour of the window (UTC), oldest first; 0 calls where none. */
    hourly: z.array(
      z.object({
        hour: Iso,
        calls: z.number().int(),
        errors: z.number().int(),
        throttled: z.number().int(),
        latency_ms: Percentiles,
      }),
    ),
  }),
  coreplus: CorePlusUsage,
  token_refreshes: z.object({
    total: z.number().int(),
    success: z.number().int(),
    invalid_grant: z.number().int(),
    error: z.number().int(),
  }),
  webhooks: z.object({
    received: z.number().int(),
    processed: z.number().int(),
    /** Stored but not applied: entity not mirrored, realm not connected, unreadable. */
    skipped: z.number().int(),
    failed: z.number().int(),
    rejected: z.number().int(),
    pending: z.number().int(),
    /** Age of the oldest event still waiting to be processed (0 when none). */
    lag_seconds: z.number(),
    /** Received -> processed time of events processed in the window. */
    processing_seconds: Percentiles,
  }),
  sync_lag: z.array(
    z.object({
      entity_type: EntityType,
      last_synced_at: NullableIso,
      lag_seconds: z.number().nullable(),
      status: SyncStatus,
    }),
  ),
  alerts: z.object({
    needs_reauth: Alert,
    refresh_token_expiring: Alert,
    throttle_rate_high: Alert,
    webhook_lag_high: Alert,
    coreplus_allowance: Alert,
    /** No completed daily reconciliation within one QBO_RECONCILE_CRON period + 2 h. */
    daily_job_overdue: Alert,
    /** The last reconciliation found drift; `entities` are those not re-read since. */
    drift_found: Alert.extend({ entities: z.array(EntityType) }),
  }),
});
export type MetricsResponse = z.infer<typeof MetricsResponse>;
