// GET /status: the connection, its tokens, sync cursors, mirror counts and API quota.
import { z } from 'zod';
import {
  ConnectionStatus,
  EntityType,
  Environment,
  Iso,
  NullableIso,
  SyncStatus,
} from './common.ts';
import { TokenExpiries } from './connection.ts';

export const ConnectionSummary = z.object({
  realm_id: z.string(),
  company_name: z.string().nullable(),
  environment: Environment,
  status: ConnectionStatus,
  connected_at: Iso,
  disconnected_at: NullableIso,
});
export type ConnectionSummary = z.infer<typeof ConnectionSummary>;

export const SyncCursor = z.object({
  entity_type: EntityType,
  status: SyncStatus,
  last_cdc_at: NullableIso,
  last_full_sync_at: NullableIso,
  last_webhook_at: NullableIso,
  last_error: z.string().nullable(),
  records_synced: z.number().int(),
});
export type SyncCursor = z.infer<typeof SyncCursor>;

/** Intuit's monthly metering of read calls (docs/api.md#coreplus-metering). */
export const CorePlusUsage = z.object({
  /** False against any sandbox: counted here, never billed by Intuit. */
  metered: z.boolean(),
  cycle_start: Iso,
  cycle_end: Iso,
  /** Successful CorePlus calls (reads, queries, CDC) this cycle, every company of this app. */
  used: z.number().int(),
  /** The calls of the company this answer is about. */
  used_by_realm: z.number().int(),
  allowance: z.number().int(),
  /** `used` continued at this cycle's rate to its end. */
  forecast: z.number().int(),
  alert_percent: z.number().int(),
  alert: z.boolean(),
  /** The daily reconciliation stops at this many calls, leaving the rest to the application. */
  background_cap: z.number().int(),
  background_blocked: z.boolean(),
});
export type CorePlusUsage = z.infer<typeof CorePlusUsage>;

export const ApiQuota = z.object({
  /** QBO calls that reached QBO in the last 60 s, against QBO's 500/min per realm. */
  last_minute: z.object({ used: z.number().int(), limit: z.number().int() }),
  last_24h: z.object({ used: z.number().int() }),
  /** QBO's other documented limits, for reference. */
  per_second_limit: z.number().int(),
  max_in_flight: z.number().int(),
  coreplus: CorePlusUsage,
});
export type ApiQuota = z.infer<typeof ApiQuota>;

export const StatusResponse = z.object({
  connected: z.boolean(),
  realm_id: z.string().nullable(),
  company_name: z.string().nullable(),
  environment: Environment.nullable(),
  status: ConnectionStatus.nullable(),
  connected_at: NullableIso,
  disconnected_at: NullableIso,
  needs_reauth: z.boolean(),
  needs_reauth_since: NullableIso,
  tokens: TokenExpiries.nullable(),
  last_refresh: z.object({
    at: NullableIso,
    status: z.enum(['success', 'error', 'invalid_grant']).nullable(),
    error: z.string().nullable(),
  }),
  sync_cursors: z.array(SyncCursor),
  entity_counts: z.record(EntityType, z.number().int()),
  api_quota: ApiQuota,
  /** Every company known to this service, most recently connected first. */
  connections: z.array(ConnectionSummary),
});
export type StatusResponse = z.infer<typeof StatusResponse>;
