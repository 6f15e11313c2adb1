// Every TanStack Query hook of the admin page, typed from @qbo-sync/contract: the schemas the
// API validates with parse what it answers here too.
//
// Keys: ['qbo', <resource>, realm, ...]. `realm` is the company's realmId, or null for the
// service's default company (the most recently connected), so the page works before it knows
// any realmId. A mutation on company R invalidates R's queries and the default view's (which
// may be R) — and only the resources it changes:
//   sign in            everything (what 401'd before can now load)
//   sign out           everything is dropped
//   connect            nothing (the browser leaves for the consent page)
//   disconnect         every status (the company list changes), R's metrics and request log
//   refresh token      R's status (expiries, last refresh), metrics (refresh counts), request log
//   test connection    R's status (quota), metrics, request log (one call each)
//   push all invoices  R's invoice sync status, the campaign invoices, request log
//   push one invoice   the same
//   start sync         R's sync status (a run is queued)
// Polling: status and metrics every minute (the health summary); sync status every 30 s
// (every 2 s while a run is running); the invoice sync status every minute (every 2 s while a
// push-all run is unfinished; the campaign invoices with it); webhook events only while the panel is open, every 5 s while an
// event shown is still waiting or being processed.
import {
  CampaignInvoiceList,
  ConnectResponse,
  DisconnectResponse,
  InvoiceSyncStatusResponse,
  PushAllResponse,
  PushInvoiceResponse,
  MetricsResponse,
  RefreshResponse,
  RequestLogResponse,
  SessionResponse,
  StatusResponse,
  SyncAccepted,
  SyncStatusResponse,
  TestConnectionResponse,
  WebhookEventsResponse,
  type RequestLogKind,
  type SyncKind,
  type SyncRequest,
  type WebhookEventStatus,
} from '@qbo-sync/contract';
import {
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
  type QueryClient,
  type QueryKey,
} from '@tanstack/react-query';
import { ApiError, request, type Query } from '../api/client.ts';

export type Realm = string | null;

const QB = '/api/quickbooks';
/** The health summary's cadence. */
export const HEALTH_POLL_MS = 60_000;
/** Sync status while a run is running, and otherwise. */
export const SYNC_RUNNING_POLL_MS = 2_000;
export const SYNC_IDLE_POLL_MS = 30_000;

export interface RequestLogFilters {
  kind?: RequestLogKind | undefined;
  /** `429`, `5xx`, `error`, `network` … */
  status?: string | undefined;
  method?: string | undefined;
  path?: string | undefined;
  error_code?: string | undefined;
  /** ISO 8601 */
  from?: string | undefined;
  to?: string | undefined;
}

export interface WebhookEventFilters {
  status?: WebhookEventStatus | undefined;
  /** A QBO entity name as webhooks spell it: `Customer`, `Bill`… */
  entity?: string | undefined;
}

export const qboKeys = {
  all: ['qbo'] as const,
  status: (realm: Realm) => ['qbo', 'status', realm] as const,
  metrics: (realm: Realm) => ['qbo', 'metrics', realm] as const,
  requestLog: (realm: Realm, filters: RequestLogFilters = {}) =>
    ['qbo', 'request-log', realm, filters] as const,
  invoiceSyncStatus: (realm: Realm) => ['qbo', 'invoice-sync-status', realm] as const,
  /** The host application's invoices belong to no company until pushed: one list. */
  campaignInvoices: () => ['qbo', 'campaign-invoices', null] as const,
  syncStatus: (realm: Realm) => ['qbo', 'sync-status', realm] as const,
  webhookEvents: (realm: Realm, filters: WebhookEventFilters = {}) =>
    ['qbo', 'webhook-events', realm, filters] as const,
};

/** While a push-all run is queued or running, its progress is polled this often. */
export const PUSH_ALL_POLL_MS = 2_000;

const realmQuery = (realm: Realm): Query => ({ realmId: realm ?? undefined });

/** Invalidates `resource` queries of company `realm` and of the default view. */
function invalidate(qc: QueryClient, resources: readonly string[], realm: Realm): Promise<void> {
  return qc.invalidateQueries({
    predicate: (q) => {
      const [root, resource, keyRealm] = q.queryKey as QueryKey & unknown[];
      return (
        root === 'qbo' &&
        resources.includes(resource as string) &&
        (realm === null || keyRealm === null || keyRealm === realm)
      );
    },
  });
}

// ---------------------------------------------------------------------------------------
// Queries

/** GET /status: the connection, tokens, cursors, counts and quota. Cheap (database only). */
export function useStatus(realm: Realm) {
  return useQuery({
    queryKey: qboKeys.status(realm),
    queryFn: ({ signal }) =>
      request(StatusResponse, 'GET', `${QB}/status`, { query: realmQuery(realm), signal }),
    refetchInterval: HEALTH_POLL_MS,
  });
}

/** Every company this service knows (the picker), from the default status. */
export function useConnections() {
  return useQuery({
    queryKey: qboKeys.status(null),
    queryFn: ({ signal }) => request(StatusResponse, 'GET', `${QB}/status`, { signal }),
    select: (s) => s.connections,
    refetchInterval: HEALTH_POLL_MS,
  });
}

/** GET /metrics: 24 h health, hourly series and alerts. */
export function useMetrics(realm: Realm, opts: { enabled?: boolean } = {}) {
  return useQuery({
    queryKey: qboKeys.metrics(realm),
    queryFn: ({ signal }) =>
      request(MetricsResponse, 'GET', `${QB}/metrics`, { query: realmQuery(realm), signal }),
    refetchInterval: HEALTH_POLL_MS,
    enabled: opts.enabled ?? true,
  });
}

/** GET /sync/status: per entity counts, drift, cursors and progress; the running run. */
export function useSyncStatus(realm: Realm, opts: { enabled?: boolean } = {}) {
  return useQuery({
    queryKey: qboKeys.syncStatus(realm),
    queryFn: ({ signal }) =>
      request(SyncStatusResponse, 'GET', `${QB}/sync/status`, {
        query: realmQuery(realm),
        signal,
      }),
    refetchInterval: (q) =>
      q.state.data?.realms.some((r) => r.running !== null)
        ? SYNC_RUNNING_POLL_MS
        : SYNC_IDLE_POLL_MS,
    enabled: opts.enabled ?? true,
  });
}

export const REQUEST_LOG_PAGE = 25;

/** GET /request-log, newest first, one page per `fetchNextPage()`. */
export function useRequestLog(
  realm: Realm,
  filters: RequestLogFilters,
  opts: { enabled?: boolean } = {},
) {
  return useInfiniteQuery({
    queryKey: qboKeys.requestLog(realm, filters),
    queryFn: ({ pageParam, signal }) =>
      request(RequestLogResponse, 'GET', `${QB}/request-log`, {
        query: {
          ...realmQuery(realm),
          ...filters,
          limit: REQUEST_LOG_PAGE,
          cursor: pageParam ?? undefined,
        },
        signal,
      }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    enabled: opts.enabled ?? true,
  });
}

export const WEBHOOK_EVENTS_PAGE = 25;
/** While an event shown is still pending or processing, the list is read again this often. */
export const WEBHOOK_UNFINISHED_POLL_MS = 5_000;

/** GET /webhook-events, newest first, one page per `fetchNextPage()`. */
export function useWebhookEvents(
  realm: Realm,
  filters: WebhookEventFilters,
  opts: { enabled?: boolean } = {},
) {
  return useInfiniteQuery({
    queryKey: qboKeys.webhookEvents(realm, filters),
    queryFn: ({ pageParam, signal }) =>
      request(WebhookEventsResponse, 'GET', `${QB}/webhook-events`, {
        query: {
          ...realmQuery(realm),
          ...filters,
          limit: WEBHOOK_EVENTS_PAGE,
          cursor: pageParam ?? undefined,
        },
        signal,
      }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    refetchInterval: (q) =>
      q.state.data?.pages.some((p) =>
        p.events.some((e) => e.status === 'pending' || e.status === 'processing'),
      )
        ? WEBHOOK_UNFINISHED_POLL_MS
        : false,
    enabled: opts.enabled ?? true,
  });
}

// ---------------------------------------------------------------------------------------
// Mutations

/** POST /api/admin/session: the API sets the HttpOnly cookie; the token is not kept here. */
export function useSignIn() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (token: string) =>
      request(SessionResponse, 'POST', '/api/admin/session', { body: { token } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: qboKeys.all }),
  });
}

/** DELETE /api/admin/session. */
export function useSignOut() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => request(null, 'DELETE', '/api/admin/session'),
    onSuccess: () => qc.resetQueries({ queryKey: qboKeys.all }),
  });
}

/**
 * GET /connect with this browser's session (the OAuth state is bound to it), then the
 * browser goes to `auth_url`: Intuit's consent page, or the sandbox's. It comes back to
 * /admin?qbo_connected=true or ?qbo_error=<code>.
 */
export function useConnect(navigate: (url: string) => void = (url) => window.location.assign(url)) {
  return useMutation({
    mutationFn: (realm: Realm) =>
      request(ConnectResponse, 'GET', `${QB}/connect`, { query: realmQuery(realm) }),
    onSuccess: (r) => navigate(r.auth_url),
  });
}

/** POST /disconnect: revoke at Intuit, wipe the tokens; mirror and log are kept. */
export function useDisconnect() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (realm: string) =>
      request(DisconnectResponse, 'POST', `${QB}/disconnect`, { query: realmQuery(realm) }),
    onSuccess: async (_r, realm) => {
      await Promise.all([
        invalidate(qc, ['status'], null),
        invalidate(qc, ['metrics', 'request-log'], realm),
      ]);
    },
  });
}

/** POST /refresh: a token refresh now. */
export function useRefreshToken() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (realm: string) =>
      request(RefreshResponse, 'POST', `${QB}/refresh`, { query: realmQuery(realm) }),
    // A refused refresh (needs_reauth) changes the connection too.
    onSettled: (_r, _e, realm) => invalidate(qc, ['status', 'metrics', 'request-log'], realm),
  });
}

/** GET /test-connection: one CompanyInfo read, timed. ok:false is an answer, not an error. */
export function useTestConnection() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (realm: string) =>
      request(TestConnectionResponse, 'GET', `${QB}/test-connection`, {
        query: realmQuery(realm),
      }),
    onSettled: (_r, _e, realm) => invalidate(qc, ['status', 'metrics', 'request-log'], realm),
  });
}

/** GET /invoices/sync-status: campaign invoices per sync status, the latest push-all run. */
export function useInvoiceSyncStatus(realm: Realm) {
  return useQuery({
    queryKey: qboKeys.invoiceSyncStatus(realm),
    queryFn: ({ signal }) =>
      request(InvoiceSyncStatusResponse, 'GET', `${QB}/invoices/sync-status`, {
        query: realmQuery(realm),
        signal,
      }),
    refetchInterval: (q) => {
      const run = q.state.data?.latest_run;
      return run && (run.status === 'queued' || run.status === 'running')
        ? PUSH_ALL_POLL_MS
        : HEALTH_POLL_MS;
    },
  });
}

const PUSHED = ['invoice-sync-status', 'campaign-invoices', 'request-log'];

/** POST /invoices/push-all: queue a run (or join the unfinished one). */
export function usePushAll() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (realm: string) =>
      request(PushAllResponse, 'POST', `${QB}/invoices/push-all`, { query: realmQuery(realm) }),
    onSettled: (_r, _e, realm) => invalidate(qc, PUSHED, realm),
  });
}

export const CAMPAIGN_INVOICES_SHOWN = 50;

/** GET /campaign-invoices: the newest, with what QBO holds of each; polled while `polling`. */
export function useCampaignInvoices(opts: { polling?: boolean } = {}) {
  return useQuery({
    queryKey: qboKeys.campaignInvoices(),
    queryFn: ({ signal }) =>
      request(CampaignInvoiceList, 'GET', `${QB}/campaign-invoices`, {
        query: { limit: CAMPAIGN_INVOICES_SHOWN },
        signal,
      }),
    refetchInterval: opts.polling ? PUSH_ALL_POLL_MS : HEALTH_POLL_MS,
  });
}

/** POST /invoices/push: one invoice now. outcome 'failed' is an answer with QBO's reason. */
export function usePushInvoice() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ realm, invoiceId }: { realm: string; invoiceId: string }) =>
      request(PushInvoiceResponse, 'POST', `${QB}/invoices/push`, {
        query: realmQuery(realm),
        body: { invoice_id: invoiceId },
      }),
    onSettled: (_r, _e, v) => invalidate(qc, PUSHED, v.realm),
  });
}

/** POST /sync/incremental, /sync/full or /sync/reconcile: 202 with the job (or the one it joins). */
export function useStartSync() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ kind, ...body }: SyncRequest & { kind: SyncKind }) =>
      request(SyncAccepted, 'POST', `${QB}/sync/${kind}`, { body }),
    onSettled: (_r, _e, v) => invalidate(qc, ['sync-status'], v.realm_id ?? null),
  });
}

/** Retry what may pass on a second try (5xx, network); never a 4xx. */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
  if (error instanceof ApiError && error.code === 'bad_response') return false;
  return failureCount < 2;
}
