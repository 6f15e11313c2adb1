// /request-log: the query string -> the domain's filter, and its rows -> the wire.
import type { RequestLogEntry, RequestLogQuery } from '@qbo-sync/contract';
import type {
  RequestLogEntry as LoggedAttempt,
  RequestLogFilter,
} from '../../lib/quickbooks/client/request-log.ts';

/** The filter a query asks for, within `realmId` (the resolved company) when there is one. */
export function toRequestLogFilter(q: RequestLogQuery, realmId: string | null): RequestLogFilter {
  return {
    ...(realmId !== null ? { realmId } : {}),
    ...(q.kind ? { kind: q.kind } : {}),
    ...(q.status !== undefined ? { status: statusFilter(q.status) } : {}),
    ...(q.method ? { method: q.method } : {}),
    ...(q.path ? { path: q.path } : {}),
    ...(q.error_code ? { errorCode: q.error_code } : {}),
    ...(q.from ? { from: new Date(q.from) } : {}),
    ...(q.to ? { to: new Date(q.to) } : {}),
    ...(q.cursor ? { cursor: q.cursor } : {}),
    ...(q.limit ? { limit: q.limit } : {}),
  };
}

/** `429` is an exact status; `5xx`, `error` and `network` pass through (the contract checked them). */
function statusFilter(status: string): NonNullable<RequestLogFilter['status']> {
  return /^\d+$/.test(status)
    ? Number(status)
    : (status as NonNullable<RequestLogFilter['status']>);
}

export function toRequestLogEntry(r: LoggedAttempt): RequestLogEntry {
  return {
    id: r.id,
    kind: r.kind,
    realm_id: r.realmId,
    method: r.method,
    path: r.path,
    status: r.status,
    duration_ms: r.durationMs,
    intuit_tid: r.intuitTid,
    qbo_error_code: r.qboErrorCode,
    request_id: r.requestId,
    attempt: r.attempt,
    error_message: r.errorMessage,
    created_at: r.createdAt.toISOString(),
  };
}
