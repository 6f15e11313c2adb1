// qbo_request_log: one row per HTTP attempt to Intuit (API client and OAuth alike, both
// through the RequestLogSink port), so the admin page can answer "what happened?" without
// reading logs. Rows never hold a token or secret: paths are sanitised here as well as by the
// callers (defence in depth — a caller's mistake must not put a refresh token into a table
// the UI lists).
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database, QboRequestLogKind } from '../../../db/schema.ts';
import { beforeCursor, decodeCursor, exactTime, pageOf } from '../keyset-cursor.ts';
export { InvalidCursorError } from '../keyset-cursor.ts';
import { DAY_MS, type RequestLogRecord, type RequestLogSink } from '../ports.ts';
import { METERED_CALL } from './metering.ts';

/** A stored record: its id, the time it was stored under, and the column's name for the code. */
export interface RequestLogEntry extends Omit<RequestLogRecord, 'errorCode' | 'createdAt'> {
  id: string;
  qboErrorCode: string | null;
  createdAt: Date;
}

/**
 * `status`: an exact code (429), a class ("4xx", "5xx"), "error" (>= 400 or no response) or
 * "network" (no response). `path`: a prefix (matched literally). `from` inclusive, `to` exclusive.
 */
export interface RequestLogFilter {
  realmId?: string;
  kind?: QboRequestLogKind;
  status?: number | `${1 | 2 | 3 | 4 | 5}xx` | 'error' | 'network';
  method?: string;
  path?: string;
  errorCode?: string;
  from?: Date;
  to?: Date;
  /** `nextCursor` of the previous page. */
  cursor?: string | null;
  /** Default 50, at most 500. */
  limit?: number;
}

const MAX_PATH = 2000;
const MAX_MESSAGE = 1000;
/** Query parameters that may carry a credential; dropped from any logged path. */
const SECRET_PARAM =
  /^(access_token|refresh_token|id_token|token|code|client_secret|client_id|secret|password|assertion|state|authorization|key|api_key|signature)$/i;

/** `path` with every credential-like query parameter removed, and bounded in length. */
export function sanitizeLogPath(path: string): string {
  const q = path.indexOf('?');
  if (q === -1) return path.slice(0, MAX_PATH);
  const params = new URLSearchParams(path.slice(q + 1));
  for (const name of [...params.keys()]) if (SECRET_PARAM.test(name)) params.delete(name);
  const query = [...params].map(([k, v]) => `${k}=${v}`).join('&');
  return (query ? `${path.slice(0, q)}?${query}` : path.slice(0, q)).slice(0, MAX_PATH);
}

/** Removes bearer tokens and JWT-looking strings from a free-text message. */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join('[redacted]');
  return out
    .replace(/(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]')
    .replace(/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]*)?/g, '[redacted]')
    .slice(0, MAX_MESSAGE);
}

export async function writeRequestLog(
  db: Kysely<Database>,
  record: RequestLogRecord,
): Promise<void> {
  await db
    .insertInto('qbo_request_log')
    .values({
      kind: record.kind,
      realm_id: record.realmId,
      method: record.method.toUpperCase(),
      path: sanitizeLogPath(record.path),
      status: record.status,
      duration_ms: Math.max(0, Math.round(record.durationMs)),
      intuit_tid: record.intuitTid,
      qbo_error_code: record.errorCode || null,
      request_id: record.requestId,
      attempt: Math.max(1, record.attempt),
      error_message: record.errorMessage === null ? null : scrubSecrets(record.errorMessage),
      ...(record.createdAt ? { created_at: record.createdAt } : {}),
    })
    .execute();
}

/** The RequestLogSink on qbo_request_log: a row that cannot be written becomes a log line. */
export class DbRequestLogSink implements RequestLogSink {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
  ) {}

  async write(record: RequestLogRecord): Promise<void> {
    try {
      await writeRequestLog(this.db, record);
    } catch (err) {
      this.logger.error(
        { err, realmId: record.realmId, kind: record.kind },
        'could not write qbo_request_log row',
      );
    }
  }
}

/** How many rows a realm has in the log (what a disconnect keeps). */
export async function countRequestLog(db: Kysely<Database>, realmId: string): Promise<number> {
  const row = await db
    .selectFrom('qbo_request_log')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('realm_id', '=', realmId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

const PRUNE_BATCH = 5_000;
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/**
 * Deletes rows created before `olderThan`; returns how many. Deletes in batches so a
 * first prune of a large table never holds one huge transaction (locks, WAL, bloat). The
 * metered reads among them move to qbo_api_usage_daily in the same statement, so the month's
 * metered count (client/metering.ts) survives any retention.
 */
export async function pruneRequestLog(db: Kysely<Database>, olderThan: Date): Promise<number> {
  let total = 0;
  for (;;) {
    const { rows } = await sql<{ n: number }>`
      with gone as (
        delete from qbo_request_log
        where id in (
          select id from qbo_request_log where created_at < ${olderThan} limit ${PRUNE_BATCH}
        )
        returning realm_id, created_at, kind, status, method, path
      ), rolled_up as (
        insert into qbo_api_usage_daily (day, realm_id, coreplus_calls)
        select (created_at at time zone 'UTC')::date, coalesce(realm_id, ''), count(*)
        from gone
        where ${METERED_CALL}
        group by 1, 2
        on conflict (day, realm_id) do update
          set coreplus_calls = qbo_api_usage_daily.coreplus_calls + excluded.coreplus_calls
        returning 1
      )
      select count(*)::int as n from gone`.execute(db);
    const n = rows[0]?.n ?? 0;
    total += n;
    if (n < PRUNE_BATCH) return total;
  }
}

/** The cut-off for QBO_REQUEST_LOG_RETENTION_DAYS (config.qbo.requestLogRetentionDays). */
export function requestLogCutoff(nowMs: number, retentionDays: number): Date {
  return new Date(nowMs - retentionDays * DAY_MS);
}

/** What the scheduled job runs: prune everything older than the retention period. */
export function pruneExpiredRequestLog(
  db: Kysely<Database>,
  opts: { retentionDays: number; nowMs: number },
): Promise<number> {
  return pruneRequestLog(db, requestLogCutoff(opts.nowMs, opts.retentionDays));
}

/** Newest first; keyset pagination on (created_at, id), so pages never skip or repeat rows. */
export async function listRequestLog(
  db: Kysely<Database>,
  f: RequestLogFilter = {},
): Promise<{ logs: RequestLogEntry[]; nextCursor: string | null }> {
  const limit = Math.min(Math.max(Math.trunc(f.limit ?? DEFAULT_PAGE_SIZE), 1), MAX_PAGE_SIZE);
  const cursor = f.cursor ? decodeCursor(f.cursor, /^\d{1,19}$/, 'request-log') : null;
  let q = db
    .selectFrom('qbo_request_log')
    .selectAll()
    // Microsecond precision: a JS Date would round, and the next page could skip a row.
    .select(exactTime('created_at').as('created_at_exact'))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (f.realmId !== undefined) q = q.where('realm_id', '=', f.realmId);
  if (f.kind) q = q.where('kind', '=', f.kind);
  if (f.method) q = q.where('method', '=', f.method.toUpperCase());
  if (f.errorCode) q = q.where('qbo_error_code', '=', f.errorCode);
  if (f.path) q = q.where('path', 'like', `${f.path.replace(/[\\%_]/g, '\\$&')}%`);
  if (f.from) q = q.where('created_at', '>=', f.from);
  if (f.to) q = q.where('created_at', '<', f.to);
  const s = f.status;
  if (typeof s === 'number') q = q.where('status', '=', s);
  else if (s === 'network') q = q.where('status', 'is', null);
  else if (s === 'error')
    q = q.where((eb) => eb.or([eb('status', 'is', null), eb('status', '>=', 400)]));
  else if (s) {
    const base = Number(s[0]) * 100;
    q = q.where('status', '>=', base).where('status', '<', base + 100);
  }
  if (cursor) q = q.where(beforeCursor('created_at', 'id', cursor, 'bigint'));
  const { page, nextCursor } = pageOf(await q.execute(), limit, (r) => r.created_at_exact);
  return {
    logs: page.map((r) => ({
      id: r.id,
      kind: r.kind,
      realmId: r.realm_id,
      method: r.method,
      path: r.path,
      status: r.status,
      durationMs: r.duration_ms,
      intuitTid: r.intuit_tid,
      qboErrorCode: r.qbo_error_code,
      requestId: r.request_id,
      attempt: r.attempt,
      errorMessage: r.error_message,
      createdAt: r.created_at,
    })),
    nextCursor,
  };
}
