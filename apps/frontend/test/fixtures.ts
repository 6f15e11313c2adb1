// Answers of the API as the contract defines them, parsed with the same schemas the API
// validates with: a fixture that drifts from the contract fails here, not in a panel.
import {
  MetricsResponse,
  RequestLogResponse,
  StatusResponse,
  SyncAccepted,
  SyncStatusResponse,
  TestConnectionResponse,
  WebhookEventsResponse,
} from '@qbo-sync/contract';

const NOW = Date.parse('2026-02-11T12:00:00.000Z');
const iso = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const REALM = '9341120941746658368';
export const OTHER_REALM = '9341120941746650000';

export const coreplus = {
  metered: true,
  cycle_start: '2026-02-01T00:00:00.000Z',
  cycle_end: '2026-03-01T00:00:00.000Z',
  used: 41_250,
  used_by_realm: 40_100,
  allowance: 500_000,
  forecast: 110_000,
  alert_percent: 80,
  alert: false,
  background_cap: 450_000,
  background_blocked: false,
};

const quota = {
  last_minute: { used: 3, limit: 500 },
  last_24h: { used: 812 },
  per_second_limit: 10,
  max_in_flight: 10,
  coreplus,
};

export const statusNone = StatusResponse.parse({
  connected: false,
  realm_id: null,
  company_name: null,
  environment: null,
  status: null,
  connected_at: null,
  disconnected_at: null,
  needs_reauth: false,
  needs_reauth_since: null,
  tokens: null,
  last_refresh: { at: null, status: null, error: null },
  sync_cursors: [],
  entity_counts: { Customer: 0, Invoice: 0, Payment: 0, Vendor: 0, Item: 0, Account: 0 },
  api_quota: { ...quota, last_minute: { used: 0, limit: 500 }, last_24h: { used: 0 } },
  connections: [],
});

const summary = (
  realm: string,
  name: string,
  status: 'connected' | 'needs_reauth' | 'disconnected',
) => ({
  realm_id: realm,
  company_name: name,
  environment: 'sandbox',
  status,
  connected_at: iso(-2 * DAY),
  disconnected_at: status === 'disconnected' ? iso(-HOUR) : null,
});

export const statusConnected = StatusResponse.parse({
  connected: true,
  realm_id: REALM,
  company_name: 'Demo Company',
  environment: 'sandbox',
  status: 'connected',
  connected_at: iso(-2 * DAY),
  disconnected_at: null,
  needs_reauth: false,
  needs_reauth_since: null,
  tokens: {
    access_token_expires_at: iso(HOUR),
    refresh_token_expires_at: iso(100 * DAY),
    refresh_token_hard_expires_at: iso(5 * 365 * DAY),
  },
  last_refresh: { at: iso(-10 * 60_000), status: 'success', error: null },
  sync_cursors: [],
  entity_counts: { Customer: 50, Invoice: 255, Payment: 125, Vendor: 10, Item: 5, Account: 28 },
  api_quota: quota,
  connections: [
    summary(REALM, 'Demo Company', 'connected'),
    summary(OTHER_REALM, 'Other Ltd', 'connected'),
  ],
});

export const statusNeedsReauth = StatusResponse.parse({
  ...statusConnected,
  connected: true,
  status: 'needs_reauth',
  needs_reauth: true,
  needs_reauth_since: iso(-HOUR),
  last_refresh: { at: iso(-HOUR), status: 'invalid_grant', error: 'invalid_grant' },
});

export const statusDisconnected = StatusResponse.parse({
  ...statusConnected,
  connected: false,
  status: 'disconnected',
  disconnected_at: iso(-HOUR),
  tokens: null,
  connections: [summary(REALM, 'Demo Company', 'disconnected')],
});

const alert = (active: boolean, threshold: number, value: number | null, message: string) => ({
  active,
  threshold,
  value,
  message,
});

export function metrics(
  opts: {
    throttled?: number;
    needsReauth?: boolean;
    overdueHours?: number | null;
    drift?: Record<string, number>;
  } = {},
) {
  const throttled = opts.throttled ?? 0;
  const calls = 40;
  const hourly = Array.from({ length: 25 }, (_, i) => ({
    hour: new Date(Math.floor((NOW - DAY) / HOUR) * HOUR + i * HOUR).toISOString(),
    calls: i === 24 ? calls : 0,
    errors: i === 24 ? throttled : 0,
    throttled: i === 24 ? throttled : 0,
    latency_ms: i === 24 ? { p50: 40, p95: 120 } : { p50: null, p95: null },
  }));
  return MetricsResponse.parse({
    realm_id: REALM,
    coreplus,
    window: { from: iso(-DAY), to: iso(0), hours: 24 },
    api: {
      calls,
      errors: throttled,
      throttled,
      error_rate: throttled / calls,
      throttle_rate: throttled / calls,
      latency_ms: { p50: 40, p95: 120, p99: 180 },
      hourly,
    },
    token_refreshes: { total: 2, success: 2, invalid_grant: 0, error: 0 },
    webhooks: {
      received: 0,
      processed: 0,
      skipped: 0,
      failed: 0,
      rejected: 0,
      pending: 0,
      lag_seconds: 0,
      processing_seconds: { p50: null, p95: null },
    },
    sync_lag: [],
    alerts: {
      needs_reauth: alert(!!opts.needsReauth, 1, opts.needsReauth ? 1 : 0, 'tokens are accepted'),
      refresh_token_expiring: alert(false, 14, 99.9, 'the refresh token expires in 99.9 days'),
      throttle_rate_high: alert(throttled / calls > 0.05, 0.05, throttled / calls, 'throttled'),
      webhook_lag_high: alert(false, 900, 0, 'no lag'),
      coreplus_allowance: alert(false, 80, 8.3, '41250 of 500000 metered read calls used'),
      daily_job_overdue: alert(
        opts.overdueHours !== undefined,
        26,
        opts.overdueHours === undefined ? 3 : opts.overdueHours,
        opts.overdueHours !== undefined
          ? `no reconciliation completed in ${opts.overdueHours} h (alert above 26 h; QBO_RECONCILE_CRON "0 3 * * *" (UTC))`
          : 'the last reconciliation completed 3 h ago',
      ),
      drift_found: {
        ...alert(
          !!opts.drift,
          0,
          Object.values(opts.drift ?? {}).reduce((n, d) => n + d, 0),
          'the last reconciliation found records that differed from QuickBooks',
        ),
        entities: Object.keys(opts.drift ?? {}),
      },
    },
  });
}

export const requestLogPage1 = RequestLogResponse.parse({
  logs: [
    {
      id: '12',
      kind: 'accounting',
      realm_id: REALM,
      method: 'GET',
      path: `/v3/company/${REALM}/companyinfo/${REALM}`,
      status: 429,
      duration_ms: 12,
      intuit_tid: '1-67ab-429',
      qbo_error_code: '3001',
      request_id: null,
      attempt: 1,
      error_message: 'ThrottleExceeded',
      created_at: iso(-60_000),
    },
    {
      id: '11',
      kind: 'oauth_token_exchange',
      realm_id: REALM,
      method: 'POST',
      path: '/oauth2/v1/tokens/bearer',
      status: 200,
      duration_ms: 89,
      intuit_tid: '1-67ab-200',
      qbo_error_code: null,
      request_id: null,
      attempt: 1,
      error_message: null,
      created_at: iso(-120_000),
    },
  ],
  next_cursor: 'WyIyMDI2LTAyIiwiMTEiXQ',
});

export const requestLogPage2 = RequestLogResponse.parse({
  logs: [{ ...requestLogPage1.logs[1]!, id: '10', intuit_tid: '1-67ab-older' }],
  next_cursor: null,
});

export const probeOk = TestConnectionResponse.parse({
  ok: true,
  realm_id: REALM,
  company_name: 'Demo Company',
  latency_ms: 41,
  checked_at: iso(0),
});

const entity = (type: string, over: Record<string, unknown> = {}) => ({
  entity_type: type,
  mirror_count: 0,
  deleted_count: 0,
  status: 'success',
  progress: null,
  last_full_sync_at: iso(-DAY),
  last_cdc_at: iso(-5 * 60_000),
  last_webhook_at: null,
  last_reconciled_at: null,
  qbo_count: null,
  drift: null,
  repaired: null,
  last_error: null,
  last_error_code: null,
  ...over,
});

const lastRun = {
  run_id: 'run-1',
  job_id: 'job-1',
  kind: 'incremental',
  status: 'success',
  entities: ['Customer', 'Invoice', 'Payment'],
  started_at: iso(-6 * 60_000),
  finished_at: iso(-5 * 60_000),
  error: null,
  error_code: null,
};

/** Customer proved in sync, Invoice drifted by 2, Payment never reconciled and failing. */
export const syncStatusIdle = SyncStatusResponse.parse({
  realms: [
    {
      realm_id: REALM,
      company_name: 'Demo Company',
      connection_status: 'connected',
      running: null,
      last_run: lastRun,
      entities: [
        entity('Customer', {
          mirror_count: 50,
          qbo_count: 50,
          drift: 0,
          repaired: 0,
          last_reconciled_at: iso(-HOUR),
        }),
        entity('Invoice', {
          mirror_count: 253,
          deleted_count: 4,
          qbo_count: 255,
          drift: 2,
          repaired: 0,
          last_reconciled_at: iso(-HOUR),
          last_webhook_at: iso(-60_000),
        }),
        entity('Payment', {
          mirror_count: 125,
          status: 'error',
          last_error: 'QuickBooks refused the query',
          last_error_code: '4000',
        }),
      ],
    },
  ],
});

const fullRunOfInvoice = (status: 'queued' | 'running') => ({
  ...lastRun,
  run_id: 'run-2',
  job_id: 'job-2',
  kind: 'full',
  status,
  entities: ['Invoice'],
  started_at: iso(-30_000),
  finished_at: null,
});

/** A full sync of Invoice at 120 of 255; the other entities as in `syncStatusIdle`. */
export const syncStatusRunning = SyncStatusResponse.parse({
  realms: [
    {
      ...syncStatusIdle.realms[0]!,
      running: fullRunOfInvoice('running'),
      entities: syncStatusIdle.realms[0]!.entities.map((e) =>
        e.entity_type === 'Invoice'
          ? { ...e, mirror_count: 120, status: 'running', progress: { done: 120, total: 255 } }
          : e,
      ),
    },
  ],
});

/** The same full sync of Invoice, waiting for the worker. */
export const syncStatusQueued = SyncStatusResponse.parse({
  realms: [{ ...syncStatusIdle.realms[0]!, running: fullRunOfInvoice('queued') }],
});

export const syncAccepted = (
  kind: 'full' | 'incremental' | 'reconcile',
  entities = ['Customer', 'Invoice', 'Payment', 'Vendor', 'Item', 'Account'],
) =>
  SyncAccepted.parse({
    job_id: 'job-3',
    run_id: 'run-3',
    realm_id: REALM,
    kind,
    entities,
    deduplicated: false,
  });

const webhookEvent = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  realm_ids: [REALM],
  format: 'legacy',
  signature_valid: true,
  status: 'processed',
  reason: 'applied 1 of 1 changes',
  last_error: null,
  entities: ['Customer'],
  operations: ['Update'],
  notification_count: 1,
  deliveries: 1,
  attempts: 1,
  objects_applied: 1,
  intuit_t_id: `1-wh-${id}`,
  received_at: iso(-Number(id) * 60_000),
  processed_at: iso(-Number(id) * 60_000 + 1_400),
  next_attempt_at: null,
  replays: 0,
  last_replayed_at: null,
  lag_ms: 1_400,
  ...over,
});

/** Applied, failed after retries, rejected (bad signature), still waiting; more below. */
export const webhookEventsPage1 = WebhookEventsResponse.parse({
  events: [
    webhookEvent('1', { entities: ['Invoice', 'Payment'], operations: ['Create', 'Update'] }),
    webhookEvent('2', {
      status: 'failed',
      entities: ['Invoice'],
      reason: 'failed after 5 attempts: QuickBooks answered 500 (fault 10000)',
      last_error: 'QuickBooks answered 500 (fault 10000)',
      attempts: 5,
      objects_applied: 0,
      lag_ms: 95_000,
    }),
    webhookEvent('3', {
      realm_ids: [],
      format: null,
      signature_valid: false,
      status: 'rejected',
      entities: [],
      operations: [],
      reason: 'intuit-signature does not match the body (HMAC-SHA256 with the verifier token)',
      objects_applied: 0,
      processed_at: null,
      lag_ms: null,
    }),
    webhookEvent('4', {
      status: 'pending',
      reason: null,
      objects_applied: 0,
      processed_at: null,
      lag_ms: null,
    }),
  ],
  next_cursor: 'WyIyMDI2LTAyLTExIiwiNCJd',
});

export const webhookEventsPage2 = WebhookEventsResponse.parse({
  events: [webhookEvent('5', { entities: ['Vendor'], operations: ['Delete'] })],
  next_cursor: null,
});
