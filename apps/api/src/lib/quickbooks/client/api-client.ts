// The one way this service talks to the QBO Accounting API. Every call: a fresh access token,
// then a slot from the per-realm RateLimiter (10/s, 500/min, <= 10 in flight — shared by every
// caller holding the same limiter, across processes with the Redis adapter), then fetch with
// `minorversion` (and the caller's `requestid` on writes), one qbo_request_log row per HTTP
// attempt, and retries in exactly one place. Retry policy (docs/qbo-api-client.md):
//   - 429 / throttle fault 3001, 5xx, network errors: backoff with full jitter, but only when
//     repeating is safe — a GET, a POST carrying a requestid (QBO replays the first answer:
//     blog 2015-04-06), or a request that provably never left (connection refused);
//   - 401: invalidate the access token and try once more with a fresh one (QBO checks the
//     token before doing any work, so this is safe for every request);
//   - anything else (validation faults 6240, 5010, 610…) surfaces at once: retrying cannot help.
import type pino from 'pino';
import { sleep } from '../../sleep.ts';
import {
  SECOND_MS,
  type Clock,
  type RateLimitReleaseOptions,
  type RateLimiter,
  type RequestLogSink,
} from '../ports.ts';
import {
  QboAuthError,
  QboError,
  QboFault,
  QboNetworkError,
  QboThrottledError,
  errorFromResponse,
  faultFromJson,
} from './errors.ts';
import { scrubSecrets } from './request-log.ts';
import { probeSend, type SendProbe } from './send-probe.ts';
import { LARGE_ANSWER_CHARS, takeTurn } from './turns.ts';

/** What the client needs from the TokenStore (connection/token-store.ts). */
export interface AccessTokenSource {
  getAccessToken(realmId: string): Promise<string>;
  invalidateAccessToken(realmId: string, accessToken: string): Promise<void>;
}

export interface QboRequest {
  method: 'GET' | 'POST';
  /** After `/v3/company/{realmId}`, e.g. `/customer/42` or `/query`. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  contentType?: string;
  /** QBO's idempotency key (<= 50 chars); the caller reuses it when it retries an operation. */
  requestId?: string;
  /** A POST that only reads (POST /query): safe to repeat without a requestid. */
  readOnly?: boolean;
  /**
   * Applied to a successful body as soon as it is parsed (so at most once per call: a
   * successful attempt is never retried), before the limiter slot is released
   * and the call logged; the response carries what it returns. A caller that keeps only part
   * of a large body (a 1,000-row page mapped for the mirror) lets the parsed objects die young
   * instead of outliving those awaits. An error it throws surfaces after the call is logged.
   */
  reduce?: (body: unknown) => unknown;
  signal?: AbortSignal;
}

export interface QboResponse<T> {
  status: number;
  body: T;
  intuitTid: string | null;
}

export interface RetryPolicy {
  /** First backoff ceiling for 5xx/network errors (doubles per retry). */
  baseDelayMs: number;
  /** First backoff ceiling after a throttle: longer, since the quota needs time to refill. */
  throttleBaseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  baseDelayMs: 500,
  throttleBaseDelayMs: 2_000,
  maxDelayMs: 30_000,
});

export interface QboApiClientDeps {
  /** Receives one record per HTTP attempt (qbo_request_log). */
  requestLog: RequestLogSink;
  tokens: AccessTokenSource;
  limiter: RateLimiter;
  clock: Clock;
  logger: pino.Logger;
  /** `…/v3/company` (config: `${intuitUrls(...).apiBase}/v3/company`). */
  apiBaseUrl: string;
  minorVersion: number;
  /** Per attempt, headers and body included. Default 60 s (QBO itself gives up at 120 s). */
  timeoutMs?: number;
  /** Attempts for transient failures, first included. Default 4. */
  maxAttempts?: number;
  /** Waits between attempts; an abort of the caller's signal ends the wait. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  retry?: Partial<RetryPolicy>;
  /**
   * The longest one-way transit assumed from this process to QBO (QBO_RATE_TRANSIT_MS;
   * default 100 ms). A call's rate-limit window entry is anchored at the socket write of its
   * request plus this, when that is before its response ended (docs/qbo-api-client.md).
   */
  rateTransitMs?: number;
  /** Swappable transport (default: Node's fetch). */
  fetch?: typeof fetch;
  random?: () => number;
}

/** QBO rejects a requestid longer than 50 characters with fault 6000 (sandbox docs). */
export const MAX_REQUEST_ID_LENGTH = 50;
export const DEFAULT_TIMEOUT_MS = 60 * SECOND_MS;
export const DEFAULT_MAX_ATTEMPTS = 4;
export const DEFAULT_RATE_TRANSIT_MS = 100;
/**
 * A 429 says a request reached QBO later than the transit allowance assumed, and the next
 * ones may too: a 429 widens the realm's allowance by QBO_RATE_TRANSIT_MS (at most
 * `MAX_WIDENED_TRANSIT_MS`, past which a call's response has usually ended anyway), once per
 * `WIDEN_AT_MOST_EVERY_MS` (the calls in flight when QBO throttled one meet the same, and are
 * one piece of evidence), and the realm goes back to the configured allowance after
 * `WIDENED_TRANSIT_HOLD_MS` without another 429.
 */
export const WIDENED_TRANSIT_HOLD_MS = 60_000;
export const WIDEN_AT_MOST_EVERY_MS = 2_000;
export const MAX_WIDENED_TRANSIT_MS = 1_600;

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in [0, cap). */
export function backoffDelayMs(
  retry: number,
  err: unknown,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  random: () => number = Math.random,
): number {
  const base = err instanceof QboThrottledError ? policy.throttleBaseDelayMs : policy.baseDelayMs;
  const cap = Math.min(policy.maxDelayMs, base * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * cap);
}

/** Transient: worth another attempt if repeating the request is safe. */
export function isTransient(err: unknown): boolean {
  if (err instanceof QboThrottledError || err instanceof QboNetworkError) return true;
  return err instanceof QboFault && err.status !== null && err.status >= 500 && err.status !== 501;
}

/** Whether sending `req` again cannot do its work twice. */
export function isSafeToRepeat(
  req: Pick<QboRequest, 'method' | 'requestId' | 'readOnly'>,
  err: unknown,
): boolean {
  if (req.method === 'GET' || req.readOnly || req.requestId) return true;
  return err instanceof QboNetworkError && !err.requestSent;
}

export class QboApiClient {
  readonly #d: QboApiClientDeps;
  readonly #base: string;
  readonly #retry: RetryPolicy;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #fetch: typeof fetch;
  /** Per realm, after a 429: the widened transit allowance and when it was last widened. */
  readonly #widened = new Map<string, { transitMs: number; at: number }>();

  constructor(deps: QboApiClientDeps) {
    this.#d = deps;
    this.#base = deps.apiBaseUrl.replace(/\/+$/, '');
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...deps.retry };
    this.#sleep = deps.sleep ?? sleep;
    this.#fetch = deps.fetch ?? ((input, init) => fetch(input, init));
  }

  async request<T = unknown>(realmId: string, req: QboRequest): Promise<QboResponse<T>> {
    if (
      req.requestId !== undefined &&
      (req.requestId.length === 0 || req.requestId.length > MAX_REQUEST_ID_LENGTH)
    ) {
      throw new RangeError(`requestid must be 1-${MAX_REQUEST_ID_LENGTH} characters`);
    }
    const maxAttempts = Math.max(1, this.#d.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    const log = this.#d.logger.child({ realmId, requestId: req.requestId });
    let attempt = 0;
    let transientFailures = 0;
    let reauthorised = false;
    for (;;) {
      attempt += 1;
      let token: string | null = null;
      let tokenFailed = false;
      try {
        return await this.#attempt<T>(realmId, req, attempt, async () => {
          try {
            token = await this.#d.tokens.getAccessToken(realmId);
          } catch (err) {
            tokenFailed = true; // the token store's own errors are not QBO's to retry
            throw err;
          }
          return token;
        });
      } catch (err) {
        if (tokenFailed) throw err;
        if (err instanceof QboAuthError && err.status === 401 && !reauthorised && token) {
          reauthorised = true;
          log.warn(
            { intuit_tid: err.intuitTid, attempt },
            'QBO answered 401: fetching a new access token',
          );
          await this.#d.tokens.invalidateAccessToken(realmId, token);
          continue;
        }
        if (
          !isTransient(err) ||
          !isSafeToRepeat(req, err) ||
          transientFailures + 1 >= maxAttempts
        ) {
          throw err;
        }
        transientFailures += 1;
        const delay = backoffDelayMs(transientFailures, err, this.#retry, this.#d.random);
        log.warn(
          {
            attempt,
            delayMs: delay,
            status: (err as QboError).status,
            code: (err as QboError).code,
          },
          'QBO call failed transiently; retrying',
        );
        req.signal?.throwIfAborted();
        await this.#sleep(delay, req.signal);
      }
    }
  }

  /**
   * This client, calling with `accessToken` instead of asking the token store: for the calls
   * made while a new grant is checked, before anything of it is stored.
   */
  withAccessToken(accessToken: string): QboApiClient {
    return new QboApiClient({
      ...this.#d,
      tokens: { getAccessToken: async () => accessToken, invalidateAccessToken: async () => {} },
    });
  }

  /** GET /companyinfo/{realmId} → the CompanyInfo object. */
  async companyInfo(realmId: string): Promise<Record<string, unknown>> {
    const res = await this.request<Record<string, unknown>>(realmId, {
      method: 'GET',
      path: `/companyinfo/${encodeURIComponent(realmId)}`,
    });
    return entityOf(res.body, 'CompanyInfo');
  }

  /**
   * Runs a QBO query; returns the `QueryResponse` object, or what `reduce` makes of it (see
   * `QboRequest.reduce`). Long queries go by POST (read-only).
   */
  async query<T = Record<string, unknown>>(
    realmId: string,
    q: string,
    reduce?: (queryResponse: Record<string, unknown>) => T,
  ): Promise<T> {
    const queryResponse = (body: unknown) =>
      ((body as Record<string, unknown>).QueryResponse ?? {}) as Record<string, unknown>;
    const shaped = reduce ? { reduce: (body: unknown) => reduce(queryResponse(body)) } : {};
    // URLs beyond a few KB are refused by proxies; QBO also accepts the query as a POST body.
    const res =
      q.length > 2000
        ? await this.request<unknown>(realmId, {
            method: 'POST',
            path: '/query',
            body: q,
            contentType: 'application/text',
            readOnly: true,
            ...shaped,
          })
        : await this.request<unknown>(realmId, {
            method: 'GET',
            path: '/query',
            query: { query: q },
            ...shaped,
          });
    return (reduce ? res.body : queryResponse(res.body)) as T;
  }

  /** GET /{entity}/{id} → the entity object. */
  async read(realmId: string, entity: string, id: string): Promise<Record<string, unknown>> {
    const res = await this.request<Record<string, unknown>>(realmId, {
      method: 'GET',
      path: `/${entityPath(entity)}/${encodeURIComponent(id)}`,
    });
    return entityOf(res.body, entity);
  }

  /** POST /{entity} with the caller's requestid → the created object. */
  async create(
    realmId: string,
    entity: string,
    body: unknown,
    requestId: string,
  ): Promise<Record<string, unknown>> {
    const res = await this.request<Record<string, unknown>>(realmId, {
      method: 'POST',
      path: `/${entityPath(entity)}`,
      body,
      requestId,
    });
    return entityOf(res.body, entity);
  }

  /** POST /{entity}?operation=update (full, or sparse when `body.sparse`) → the updated object. */
  async update(
    realmId: string,
    entity: string,
    body: unknown,
    requestId: string,
  ): Promise<Record<string, unknown>> {
    const res = await this.request<Record<string, unknown>>(realmId, {
      method: 'POST',
      path: `/${entityPath(entity)}`,
      query: { operation: 'update' },
      body,
      requestId,
    });
    return entityOf(res.body, entity);
  }

  /** GET /cdc → the whole body (`{CDCResponse:[…], time}`). */
  async cdc(
    realmId: string,
    entities: string[],
    changedSince: Date,
  ): Promise<Record<string, unknown>> {
    const res = await this.request<Record<string, unknown>>(realmId, {
      method: 'GET',
      path: '/cdc',
      query: { entities: entities.join(','), changedSince: changedSince.toISOString() },
    });
    return res.body;
  }

  /**
   * POST /batch → the whole body (`{BatchItemResponse:[…]}`; faults are per item, HTTP 200).
   * QBO keys each item by requestid + bId, so keep `requestId.length + bId.length <= 50`.
   */
  async batch(
    realmId: string,
    items: unknown[],
    requestId: string,
  ): Promise<Record<string, unknown>> {
    const res = await this.request<Record<string, unknown>>(realmId, {
      method: 'POST',
      path: '/batch',
      body: { BatchItemRequest: items },
      requestId,
    });
    return res.body;
  }

  /**
   * One HTTP attempt: limiter slot, access token, fetch, read, classify, log. Throws the QBO
   * error family. The token is read once the slot is held, not before: reads finish in any
   * order, and the limiter then admits calls in the order they were made.
   */
  async #attempt<T>(
    realmId: string,
    req: QboRequest,
    attempt: number,
    accessToken: () => Promise<string>,
  ): Promise<QboResponse<T>> {
    const params = new URLSearchParams(req.query);
    params.set('minorversion', String(this.#d.minorVersion));
    // requestid means something only on writes (QBO replays POSTs by it).
    if (req.requestId && req.method === 'POST') params.set('requestid', req.requestId);
    const companyPath = `/v3/company/${encodeURIComponent(realmId)}${req.path}`;
    const url = `${this.#base}/${encodeURIComponent(realmId)}${req.path}?${params.toString()}`;
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'qbo-sync',
    };
    let payload: string | undefined;
    if (req.body !== undefined) {
      payload = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
      headers['content-type'] = req.contentType ?? 'application/json';
    }

    const release = await this.#d.limiter.acquire(
      realmId,
      req.signal ? { signal: req.signal } : {},
    );
    const startedAt = this.#d.clock.now();
    const t0 = performance.now();
    let status: number | null = null;
    let intuitTid: string | null = null;
    let outcome: QboResponse<T> | QboError;
    let reduceFailure: { err: unknown } | null = null;
    let probe: SendProbe | null = null;
    let throttled = false;
    let token: string;
    try {
      token = await accessToken();
      headers.authorization = `Bearer ${token}`;
      const timeout = AbortSignal.timeout(this.#d.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
      try {
        const send = probeSend(() =>
          this.#fetch(url, { method: req.method, headers, body: payload ?? null, signal }),
        );
        probe = send.probe;
        const res = await send.sent;
        status = res.status;
        // Intuit sends `intuit_tid`; recordings also show `intuit-tid`.
        intuitTid = res.headers.get('intuit_tid') ?? res.headers.get('intuit-tid');
        const text = await res.text();
        // A large answer is parsed in an event-loop turn of its own (turns.ts): a burst of
        // pages parsed back to back would hold every other callback, the database's included.
        if (text.length >= LARGE_ANSWER_CHARS) await takeTurn();
        outcome = classify<T>(res.status, text, res.headers.get('content-type'), intuitTid);
        throttled = outcome instanceof QboThrottledError;
        if (req.reduce && !(outcome instanceof QboError)) {
          try {
            outcome = { ...outcome, body: req.reduce(outcome.body) as T };
          } catch (err) {
            reduceFailure = { err };
          }
        }
      } catch (err) {
        if (req.signal?.aborted) throw err; // the caller gave up: not QBO's failure
        outcome = networkError(err, status !== null);
      }
    } finally {
      await release(
        anchorFor(
          this.#widened,
          realmId,
          probe,
          throttled,
          this.#d.rateTransitMs ?? DEFAULT_RATE_TRANSIT_MS,
        ),
      );
    }

    const durationMs = performance.now() - t0;
    const failed = outcome instanceof QboError ? outcome : null;
    await this.#d.requestLog.write({
      kind: 'accounting',
      realmId,
      method: req.method,
      path: logPath(companyPath, req.query),
      status,
      durationMs,
      intuitTid,
      errorCode: failed?.code ?? null,
      requestId: req.requestId ?? null,
      attempt,
      errorMessage: failed ? scrubSecrets(failed.message, [token]) : null,
      createdAt: new Date(startedAt),
    });
    if (failed) throw failed;
    if (reduceFailure) throw reduceFailure.err;
    return outcome as QboResponse<T>;
  }
}

/**
 * Where the limiter anchors a call's window entry (arrivalBound), with the realm's transit
 * allowance widened after 429s (`WIDENED_TRANSIT_HOLD_MS`).
 */
function anchorFor(
  widened: Map<string, { transitMs: number; at: number }>,
  realmId: string,
  probe: SendProbe | null,
  throttled: boolean,
  transitMs: number,
): RateLimitReleaseOptions {
  const now = performance.now();
  let w = widened.get(realmId);
  if (w && now - w.at > WIDENED_TRANSIT_HOLD_MS) {
    widened.delete(realmId);
    w = undefined;
  }
  if (throttled && (!w || now - w.at > WIDEN_AT_MOST_EVERY_MS)) {
    const step = Math.max(transitMs, 50);
    w = {
      transitMs: Math.min(MAX_WIDENED_TRANSIT_MS, (w?.transitMs ?? transitMs) + step),
      at: now,
    };
    widened.set(realmId, w);
  }
  return arrivalBound(probe, Math.max(transitMs, w?.transitMs ?? 0));
}

/**
 * Where the limiter anchors the call's window entry: QBO counted the request by its socket
 * write plus the transit allowance, or by now (the response has ended), whichever is first.
 * A duration on the monotonic clock, so the Redis limiter can apply it on its own clock.
 */
function arrivalBound(probe: SendProbe | null, transitMs: number): RateLimitReleaseOptions {
  if (probe?.sentAt == null) return {};
  return { backdateMs: Math.max(0, performance.now() - (probe.sentAt + transitMs)) };
}

function classify<T>(
  status: number,
  text: string,
  contentType: string | null,
  intuitTid: string | null,
): QboResponse<T> | QboError {
  if (status < 200 || status >= 300)
    return errorFromResponse({ status, bodyText: text, contentType, intuitTid });
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    return new QboError(`QBO ${status}: response is not JSON`, { status, intuitTid });
  }
  // A 2xx carrying a Fault (not documented, but cheap to refuse to mistake for success).
  const fault = faultFromJson(body);
  if (fault) return errorFromResponse({ status, bodyText: text, contentType, intuitTid });
  return { status, body: body as T, intuitTid };
}

// Error codes meaning no connection to the server could be made at all.
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
// undici error codes meaning the request never reached the server.
const NOT_SENT = new Set([...UNREACHABLE, 'UND_ERR_CONNECT_TIMEOUT']);

function networkError(err: unknown, gotHeaders: boolean): QboNetworkError {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') {
    return new QboNetworkError('timeout: no complete answer from QBO in time', {
      requestSent: true,
      timedOut: true,
      cause: err,
    });
  }
  const code = e?.cause?.code ?? (e as { code?: string })?.code;
  const sent = gotHeaders || !(code && NOT_SENT.has(code));
  const detail = [code, e?.cause?.message ?? e?.message].filter(Boolean).join(' ');
  return new QboNetworkError(`network: ${detail || 'request failed'}`, {
    requestSent: sent,
    unreachable: !gotHeaders && code !== undefined && UNREACHABLE.has(code),
    cause: err,
  });
}

/** Path for the log: the query's own parameters, never requestid (own column) or minorversion. */
function logPath(companyPath: string, query: Record<string, string> | undefined): string {
  const params = Object.entries(query ?? {});
  return params.length
    ? `${companyPath}?${params.map(([k, v]) => `${k}=${v}`).join('&')}`
    : companyPath;
}

/** QBO accepts lowercase entity paths (node-quickbooks sends them). */
function entityPath(entity: string): string {
  return encodeURIComponent(entity.toLowerCase());
}

/** The wrapped object: `{"Customer":{…},"time":…}` → `{…}` (key matched case-insensitively). */
function entityOf(body: Record<string, unknown>, entity: string): Record<string, unknown> {
  const key = Object.keys(body).find((k) => k.toLowerCase() === entity.toLowerCase());
  const v = key ? body[key] : undefined;
  if (typeof v !== 'object' || v === null) {
    throw new QboError(`QBO response has no ${entity} object`, { status: 200 });
  }
  return v as Record<string, unknown>;
}
