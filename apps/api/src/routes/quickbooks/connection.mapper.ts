// What the connection service returns -> the wire: snake_case fields and ISO 8601 times.
import type {
  ConnectionSummary,
  CorePlusUsage,
  DisconnectResponse,
  RefreshResponse,
  StatusResponse,
  TestConnectionResponse,
  TokenExpiries,
} from '@qbo-sync/contract';
import type { QboConnection } from '../../db/schema.ts';
import { toHttpError } from '../../http/errors.ts';
import {
  QBO_MAX_IN_FLIGHT,
  QBO_REQUESTS_PER_MINUTE,
  QBO_REQUESTS_PER_SECOND,
} from '../../lib/quickbooks/client/limits.ts';
import type { MeteredUsage } from '../../lib/quickbooks/client/metering.ts';
import type {
  Disconnected,
  Probe,
  Refreshed,
} from '../../lib/quickbooks/connection/connection.service.ts';
import type {
  ConnectionStatus,
  TokenExpiries as DomainTokenExpiries,
} from '../../lib/quickbooks/status.ts';

export function toStatusResponse(s: ConnectionStatus & { coreplus: MeteredUsage }): StatusResponse {
  const c = s.connection;
  return {
    connected: s.connected,
    realm_id: c?.realm_id ?? null,
    company_name: c?.company_name ?? null,
    environment: c?.environment ?? null,
    status: c?.status ?? null,
    connected_at: iso(c?.connected_at ?? null),
    disconnected_at: iso(c?.disconnected_at ?? null),
    needs_reauth: c?.status === 'needs_reauth',
    needs_reauth_since: iso(c?.needs_reauth_since ?? null),
    tokens: s.tokens ? toTokenExpiries(s.tokens) : null,
    last_refresh: {
      at: iso(c?.last_refresh_at ?? null),
      status: c?.last_refresh_status ?? null,
      error: c?.last_refresh_error ?? null,
    },
    sync_cursors: s.syncCursors.map((k) => ({
      entity_type: k.entity_type,
      status: k.status,
      last_cdc_at: iso(k.last_cdc_at),
      last_full_sync_at: iso(k.last_full_sync_at),
      last_webhook_at: iso(k.last_webhook_at),
      last_error: k.last_error,
      records_synced: k.records_synced,
    })),
    entity_counts: s.entityCounts,
    api_quota: {
      last_minute: { used: s.apiUsage.lastMinute, limit: QBO_REQUESTS_PER_MINUTE },
      last_24h: { used: s.apiUsage.lastDay },
      per_second_limit: QBO_REQUESTS_PER_SECOND,
      max_in_flight: QBO_MAX_IN_FLIGHT,
      coreplus: toCorePlus(s.coreplus, c?.realm_id ?? null),
    },
    connections: s.connections.map(toConnectionSummary),
  };
}

export function toCorePlus(u: MeteredUsage, realmId: string | null): CorePlusUsage {
  return {
    metered: u.metered,
    cycle_start: u.cycleStart.toISOString(),
    cycle_end: u.cycleEnd.toISOString(),
    used: u.used,
    used_by_realm: u.byRealm.find((r) => r.realmId === realmId)?.used ?? 0,
    allowance: u.allowance,
    forecast: u.forecast,
    alert_percent: u.alertPercent,
    alert: u.alert,
    background_cap: u.backgroundCap,
    background_blocked: u.backgroundBlocked,
  };
}

export function toConnectionSummary(c: QboConnection): ConnectionSummary {
  return {
    realm_id: c.realm_id,
    company_name: c.company_name,
    environment: c.environment,
    status: c.status,
    connected_at: c.connected_at.toISOString(),
    disconnected_at: iso(c.disconnected_at),
  };
}

export function toTokenExpiries(t: DomainTokenExpiries): TokenExpiries {
  return {
    access_token_expires_at: t.accessTokenExpiresAt.toISOString(),
    refresh_token_expires_at: t.refreshTokenExpiresAt.toISOString(),
    refresh_token_hard_expires_at: iso(t.refreshTokenHardExpiresAt),
  };
}

export function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

export function toDisconnectResponse(d: Disconnected): DisconnectResponse {
  return {
    realm_id: d.realmId,
    status: 'disconnected',
    disconnected_at: d.disconnectedAt.toISOString(),
    kept: { mirror_rows: d.kept.mirrorRows, request_log_rows: d.kept.requestLogRows },
  };
}

export function toRefreshResponse(r: Refreshed): RefreshResponse {
  return {
    realm_id: r.realmId,
    result: r.result,
    tokens: toTokenExpiries(r.tokens),
    last_refresh_at: iso(r.tokens.lastRefreshAt),
  };
}

/** A probe QBO failed is still an answer (ok: false), its error in the API's error shape. */
export function toTestConnectionResponse(p: Probe): TestConnectionResponse {
  const failed = p.error ? toHttpError(p.error) : null;
  return {
    ok: failed === null,
    realm_id: p.connection.realm_id,
    company_name: p.companyName,
    latency_ms: p.latencyMs,
    checked_at: p.checkedAt.toISOString(),
    ...(failed
      ? {
          error: {
            code: failed.code,
            message: failed.message,
            ...(failed.details ? { details: failed.details } : {}),
          },
        }
      : {}),
  };
}
