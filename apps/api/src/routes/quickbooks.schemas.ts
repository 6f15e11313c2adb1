// The HTTP contract of /api/quickbooks and /api/admin, declared once: the routes validate
// their input with these schemas, the tests parse every answer with them, and the admin
// frontend imports the same types. Field names are snake_case on the wire; times are
// ISO 8601 strings in UTC. Human-readable reference: docs/api.md.
import { z } from 'zod';

// ---------------------------------------------------------------------------------------
// Shared pieces

/** QBO realm ids are decimal strings; the sandbox also allows letters, `-` and `_`. */
export const RealmId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'realmId must be 1-64 letters, digits, "-" or "_"');

const isoInput = (name: string) =>
  z.iso.datetime({
    offset: true,
    message: `${name} must be an ISO 8601 date-time, e.g. 2026-02-11T00:00:00Z`,
  });

/** `?realmId=` on every route; optional when one company is connected. */
export const RealmQuery = z.strictObject({ realmId: RealmId.optional() });
export type RealmQuery = z.infer<typeof RealmQuery>;

const Iso = z.string();
const NullableIso = Iso.nullable();

export const ErrorResponse = z.object({
  error: z.object({
    code: z.string().regex(/^[a-z][a-z0-9_]*$/),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;

// ---------------------------------------------------------------------------------------
// Admin session

export const SessionBody = z.strictObject({
  token: z.string('token is required: the ADMIN_API_TOKEN value').min(1, 'token must not be empty'),
});
export const SessionResponse = z.object({ authenticated: z.literal(true), expires_at: Iso });
export type SessionResponse = z.infer<typeof SessionResponse>;

// ---------------------------------------------------------------------------------------
// Connect and callback

export const ConnectResponse = z.object({ auth_url: z.url(), state_expires_at: Iso });
export type ConnectResponse = z.infer<typeof ConnectResponse>;

/** What Intuit appends to the redirect URI. Extra parameters are tolerated (Intuit may add some). */
export const CallbackQuery = z.object({
  code: z.string().max(2048).optional(),
  state: z.string().max(2048).optional(),
  realmId: RealmId.optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(2000).optional(),
});

/** `/admin?qbo_error=<code>` values the callback can redirect with. */
export const CALLBACK_ERROR_CODES = [
  'access_denied',
  'authorization_failed',
  'invalid_callback',
  'state_missing',
  'state_forged',
  'state_expired',
  'state_replayed',
  'state_wrong_session',
  'token_exchange_failed',
  'internal_error',
] as const;
export type CallbackErrorCode = (typeof CALLBACK_ERROR_CODES)[number];

// ---------------------------------------------------------------------------------------
// Status

export const ENTITY_TYPES = [
  'Customer',
  'Invoice',
  'Payment',
  'Vendor',
  'Item',
  'Account',
] as const;

export const ConnectionSummary = z.object({
  realm_id: z.string(),
  company_name: z.string().nullable(),
  environment: z.enum(['sandbox', 'production']),
  status: z.enum(['connected', 'needs_reauth', 'disconnected']),
  connected_at: Iso,
  disconnected_at: NullableIso,
});
export type ConnectionSummary = z.infer<typeof ConnectionSummary>;

export const TokenExpiries = z.object({
  access_token_expires_at: Iso,
  /** Rolling expiry: each refresh pushes it out (100 days at Intuit). */
  refresh_token_expires_at: Iso,
  /** Absolute limit of the grant (5 years at Intuit); null when Intuit did not say. */
  refresh_token_hard_expires_at: NullableIso,
});

export const SyncCursor = z.object({
  entity_type: z.enum(ENTITY_TYPES),
  status: z.enum(['idle', 'running', 'success', 'error']),
  last_cdc_at: NullableIso,
  last_full_sync_at: NullableIso,
  last_webhook_at: NullableIso,
  last_error: z.string().nullable(),
  records_synced: z.number().int(),
});

export const ApiQuota = z.object({
  /** QBO calls that reached QBO in the last 60 s, against QBO's 500/min per realm. */
  last_minute: z.object({ used: z.number().int(), limit: z.number().int() }),
  last_24h: z.object({ used: z.number().int() }),
  /** QBO's other documented limits, for reference. */
  per_second_limit: z.number().int(),
  max_in_flight: z.number().int(),
});

export const StatusResponse = z.object({
  connected: z.boolean(),
  realm_id: z.string().nullable(),
  company_name: z.string().nullable(),
  environment: z.enum(['sandbox', 'production']).nullable(),
  status: z.enum(['connected', 'needs_reauth', 'disconnected']).nullable(),
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
  entity_counts: z.record(z.enum(ENTITY_TYPES), z.number().int()),
  api_quota: ApiQuota,
  /** Every company known to this service, most recently connected first. */
  connections: z.array(ConnectionSummary),
});
export type StatusResponse = z.infer<typeof StatusResponse>;

// ---------------------------------------------------------------------------------------
// Disconnect, refresh, test-connection

export const DisconnectResponse = z.object({
  realm_id: z.string(),
  status: z.literal('disconnected'),
  disconnected_at: Iso,
  /** Mirrored rows and the request log are kept; only the tokens are gone. */
  kept: z.object({ mirror_rows: z.number().int(), request_log_rows: z.number().int() }),
});
export type DisconnectResponse = z.infer<typeof DisconnectResponse>;

export const RefreshResponse = z.object({
  realm_id: z.string(),
  result: z.enum(['refreshed', 'already_fresh']),
  tokens: TokenExpiries,
  last_refresh_at: NullableIso,
});
export type RefreshResponse = z.infer<typeof RefreshResponse>;

export const TestConnectionResponse = z.object({
  ok: z.boolean(),
  realm_id: z.string(),
  company_name: z.string().nullable(),
  latency_ms: z.number().int(),
  checked_at: Iso,
  /** Why the probe failed (ok: false), in the shape of the API's errors. */
  error: ErrorResponse.shape.error.optional(),
});
export type TestConnectionResponse = z.infer<typeof TestConnectionResponse>;

// ---------------------------------------------------------------------------------------
// Request log

const intString = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, `${name} must be ${min}-${max}`)
        .max(max, `${name} must be ${min}-${max}`),
    );

export const RequestLogQuery = z
  .strictObject({
    realmId: RealmId.optional(),
    /**
     * An exact status (`429`), a class (`5xx`), `error` (status >= 400 or no response) or
     * `network` (no response at all).
     */
    status: z
      .string()
      .regex(
        /^([1-5]\d\d|[1-5]xx|error|network)$/,
        'status must be a status code (429), a class (5xx), "error" or "network"',
      )
      .optional(),
    method: z
      .string()
      .regex(/^[A-Za-z]{1,10}$/, 'method must be an HTTP method such as GET or POST')
      .transform((m) => m.toUpperCase())
      .optional(),
    /** Prefix of the logged path, e.g. `/v3/company/123/query` or `/oauth2`. */
    path: z.string().min(1).max(500, 'path filter must be at most 500 characters').optional(),
    /** QBO fault code (`3001`) or OAuth error (`invalid_grant`). */
    error_code: z.string().min(1).max(100).optional(),
    from: isoInput('from').optional(),
    to: isoInput('to').optional(),
    cursor: z.string().min(1).max(200).optional(),
    limit: intString('limit', 1, 500).optional(),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), {
    message: 'from must not be after to',
    path: ['from'],
  });
export type RequestLogQuery = z.infer<typeof RequestLogQuery>;

export const RequestLogEntry = z.object({
  id: z.string(),
  realm_id: z.string().nullable(),
  method: z.string(),
  path: z.string(),
  status: z.number().int().nullable(),
  duration_ms: z.number().int(),
  intuit_tid: z.string().nullable(),
  qbo_error_code: z.string().nullable(),
  request_id: z.string().nullable(),
  attempt: z.number().int(),
  error_message: z.string().nullable(),
  created_at: Iso,
});
export type RequestLogEntry = z.infer<typeof RequestLogEntry>;

export const RequestLogResponse = z.object({
  logs: z.array(RequestLogEntry),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: z.string().nullable(),
});
export type RequestLogResponse = z.infer<typeof RequestLogResponse>;

// ---------------------------------------------------------------------------------------
// Metrics

const Alert = z.object({
  active: z.boolean(),
  /** What the rule compares against (see docs/api.md#alerts). */
  threshold: z.number(),
  value: z.number().nullable(),
  message: z.string(),
});

export const MetricsResponse = z.object({
  realm_id: z.string().nullable(),
  window: z.object({ from: Iso, to: Iso, hours: z.number() }),
  api: z.object({
    calls: z.number().int(),
    errors: z.number().int(),
    throttled: z.number().int(),
    error_rate: z.number(),
    throttle_rate: z.number(),
    latency_ms: z.object({
      p50: z.number().nullable(),
      p95: z.number().nullable(),
      p99: z.number().nullable(),
    }),
  }),
  token_refreshes: z.object({
    total: z.number().int(),
    success: z.number().int(),
    invalid_grant: z.number().int(),
    error: z.number().int(),
  }),
  webhooks: z.object({
    received: z.number().int(),
    processed: z.number().int(),
    failed: z.number().int(),
    rejected: z.number().int(),
    pending: z.number().int(),
    /** Age of the oldest event still waiting to be processed (0 when none). */
    lag_seconds: z.number(),
    /** Received -> processed time of events processed in the window. */
    processing_seconds: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }),
  }),
  sync_lag: z.array(
    z.object({
      entity_type: z.enum(ENTITY_TYPES),
      last_synced_at: NullableIso,
      lag_seconds: z.number().nullable(),
      status: z.enum(['idle', 'running', 'success', 'error']),
    }),
  ),
  alerts: z.object({
    needs_reauth: Alert,
    refresh_token_expiring: Alert,
    throttle_rate_high: Alert,
    webhook_lag_high: Alert,
  }),
});
export type MetricsResponse = z.infer<typeof MetricsResponse>;
