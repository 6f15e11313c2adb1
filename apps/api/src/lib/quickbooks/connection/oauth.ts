// Intuit OAuth 2.0 through the official client, intuit-oauth 4.2.5, made safe to use with
// more than one configuration per process (two apps, or the embedded sandbox next to a
// test's sandbox) and with our own retry policy. How it fits with the token store:
// docs/oauth-and-tokens.md.
//
// intuit-oauth's endpoints are static fields shared by the whole process
// (OAuthClient.tokenEndpoint, …). Each call below first writes this instance's URLs into
// them and then calls the library in the same synchronous stretch: the library reads the
// URL while building the request, before its first `await`, so no other instance can run
// in between. As a second line of defence every outgoing request passes through a
// per-call hook that refuses to send (and so to send our client secret) anywhere but the
// URL this instance expects. Each call gets its own OAuthClient, so the library's mutable
// per-client token never mixes realms.
import OAuthClient from 'intuit-oauth';
import type { IntuitUrls } from '../../../config.ts';
import { QuickBooksError, type QuickBooksErrorKind } from '../errors.ts';
import type { QboRequestLogKind } from '../../../db/schema.ts';
import {
  SECOND_MS,
  systemClock,
  type Clock,
  type RequestLogRecord,
  type RequestLogSink,
} from '../ports.ts';

export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: Date;
  /** Rolling expiry (100 days at Intuit), renewed by each refresh. */
  refreshTokenExpiresAt: Date;
  /** Absolute expiry of the grant (5 years), when Intuit sends it. */
  refreshTokenHardExpiresAt: Date | null;
  idToken?: string;
}

/** Base of the OAuth errors; `intuitTid` is what Intuit support asks for. Never carries a token. */
export abstract class OAuthError extends QuickBooksError {
  constructor(
    message: string,
    readonly status: number | null = null,
    readonly errorCode: string | null = null,
    readonly intuitTid: string | null = null,
  ) {
    super(message);
  }
}
/** invalid_grant: the refresh token or code is dead; the connection needs re-auth. */
export class OAuthGrantError extends OAuthError {
  override readonly name = 'OAuthGrantError';
  override readonly kind: QuickBooksErrorKind = 'oauth_grant';
}
/** Network, timeout, 408/429/5xx, a lost or unreadable answer: keep the old tokens, retry later. */
export class OAuthTransientError extends OAuthError {
  override readonly name = 'OAuthTransientError';
  override readonly kind: QuickBooksErrorKind = 'oauth_transient';
}
/** invalid_client, other 4xx, misconfiguration: retrying will not help; an operator must act. */
export class OAuthClientError extends OAuthError {
  override readonly name = 'OAuthClientError';
  override readonly kind: QuickBooksErrorKind = 'oauth_client';
}

export interface QboOAuthOptions {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  environment: 'sandbox' | 'production';
  urls: IntuitUrls;
  /** Default: `com.intuit.quickbooks.accounting`. */
  scopes?: string[];
  /** Receives one record per HTTP attempt (qbo_request_log), kind saying which call it was. */
  requestLog?: RequestLogSink;
  /** Per-request timeout (default 20 s): a hung token call must end well inside the refresh lock's TTL. */
  timeoutMs?: number;
  /** Expiry times are computed from when the request was sent (default: the system clock). */
  clock?: Clock;
}

export const ACCOUNTING_SCOPE = 'com.intuit.quickbooks.accounting';
/** A hung token call must end well inside the refresh lock's TTL (token-store.ts). */
export const DEFAULT_OAUTH_TIMEOUT_MS = 20 * SECOND_MS;

interface RawResponse {
  status: number;
  data: unknown;
  headers: Record<string, unknown>;
}

/** What the request hook saw; the library's own error objects embed the request body (tokens). */
interface Exchange {
  response: RawResponse | null;
  networkError: string | null;
}

/** The calls this class makes, by the request-log kind that records them. */
type Operation = Extract<
  QboRequestLogKind,
  'oauth_token_exchange' | 'oauth_token_refresh' | 'oauth_revoke'
>;

export class QboOAuth {
  readonly #opts: QboOAuthOptions;
  readonly #scopes: string[];
  readonly #timeoutMs: number;
  readonly #clock: Clock;

  constructor(opts: QboOAuthOptions) {
    for (const k of ['clientId', 'clientSecret', 'redirectUri'] as const) {
      if (!opts[k]) throw new OAuthClientError(`QboOAuth: ${k} is required`);
    }
    this.#opts = { ...opts, urls: { ...opts.urls } };
    this.#scopes = opts.scopes?.length ? [...opts.scopes] : [ACCOUNTING_SCOPE];
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_OAUTH_TIMEOUT_MS;
    this.#clock = opts.clock ?? systemClock;
  }

  get urls(): Readonly<IntuitUrls> {
    return this.#opts.urls;
  }

  /** Intuit's consent page for this app, carrying `state` (see oauth-state.ts). */
  authorizeUrl(state: string): string {
    const client = this.#client();
    this.#pinStatics();
    const url = client.authorizeUri({ scope: this.#scopes, state });
    if (!url.startsWith(`${this.#opts.urls.authorize}?`)) {
      throw new OAuthClientError('intuit-oauth built an authorize URL for another configuration');
    }
    return url;
  }

  /** Exchanges the code from /callback for the first token pair. */
  async exchangeCode(input: { code: string; realmId: string }): Promise<TokenSet> {
    if (!input.code) throw new OAuthGrantError('no authorization code was given');
    const query = new URLSearchParams({ code: input.code, realmId: input.realmId });
    return this.#tokenCall('oauth_token_exchange', input.realmId, (client) =>
      client.createToken(`${this.#opts.redirectUri}?${query.toString()}`),
    );
  }

  /** Uses a refresh token once. The answer carries a new refresh token: store it before use. */
  async refresh(refreshToken: string, ctx: { realmId?: string } = {}): Promise<TokenSet> {
    if (!refreshToken) throw new OAuthGrantError('no refresh token is stored');
    return this.#tokenCall('oauth_token_refresh', ctx.realmId ?? null, (client) =>
      client.refreshUsingToken(refreshToken),
    );
  }

  /**
   * Revokes a refresh token (its whole grant) or an access token. A 400 means Intuit no
   * longer knows the token (already revoked or expired; it answers 400 with an empty body,
   * intuit/oauth-jsclient #18): the goal is reached, so that resolves too.
   */
  async revoke(token: string, ctx: { realmId?: string } = {}): Promise<void> {
    const exchange: Exchange = { response: null, networkError: null };
    try {
      await this.#call('oauth_revoke', ctx.realmId ?? null, exchange, (client) =>
        client.revoke({ refresh_token: token }),
      );
    } catch (err) {
      if (exchange.response?.status === 400) return;
      throw classify(err, exchange);
    }
  }

  async #tokenCall(
    op: Exclude<Operation, 'oauth_revoke'>,
    realmId: string | null,
    run: (client: OAuthClient) => Promise<unknown>,
  ): Promise<TokenSet> {
    const exchange: Exchange = { response: null, networkError: null };
    const sentAt = this.#clock.now();
    try {
      await this.#call(op, realmId, exchange, run);
    } catch (err) {
      throw classify(err, exchange);
    }
    return parseTokenResponse(exchange.response, sentAt);
  }

  /**
   * Pins the statics, then calls the library synchronously up to its first await; the
   * per-client hook checks the URL, adds our timeout, and records the attempt.
   */
  async #call(
    op: Operation,
    realmId: string | null,
    exchange: Exchange,
    run: (client: OAuthClient) => Promise<unknown>,
  ): Promise<unknown> {
    const client = this.#client();
    const expected = this.#urlOf(op);
    const send = OAuthClient.prototype.loadResponse.bind(client) as (
      r: unknown,
    ) => Promise<RawResponse>;
    client.loadResponse = (request: { url?: string; method?: string }) => {
      if (request.url !== expected) {
        // Unreachable while the statics are pinned in the same tick; fail closed regardless.
        return Promise.reject(
          new OAuthClientError('intuit-oauth addressed another configuration; request not sent'),
        );
      }
      const started = performance.now();
      const startedAt = this.#clock.now();
      // maxRedirects 0: a redirect would carry our Basic credentials to another host.
      const sent = send({ ...request, timeout: this.#timeoutMs, maxRedirects: 0 });
      return sent.then(
        (res) => {
          exchange.response = pickResponse(res);
          this.#report(op, request, realmId, { started, startedAt }, exchange);
          return res;
        },
        (err: unknown) => {
          const res = (err as { response?: RawResponse }).response;
          if (res) exchange.response = pickResponse(res);
          else exchange.networkError = networkReason(err);
          this.#report(op, request, realmId, { started, startedAt }, exchange);
          throw err;
        },
      );
    };
    this.#pinStatics();
    return run(client);
  }

  #urlOf(op: Operation): string {
    return op === 'oauth_revoke' ? this.#opts.urls.revoke : this.#opts.urls.token;
  }

  #client(): OAuthClient {
    return new OAuthClient({
      clientId: this.#opts.clientId,
      clientSecret: this.#opts.clientSecret,
      redirectUri: this.#opts.redirectUri,
      environment: this.#opts.environment,
      // Never `logging: true`: it writes request headers (Basic credentials) to ./logs.
      logging: false,
      includeRefreshTokenHardExpiresIn: true,
    });
  }

  #pinStatics(): void {
    const u = this.#opts.urls;
    OAuthClient.authorizeEndpoint = u.authorize;
    OAuthClient.tokenEndpoint = u.token;
    OAuthClient.revokeEndpoint = u.revoke;
    OAuthClient.userinfo_endpoint_sandbox = u.userinfo;
    OAuthClient.userinfo_endpoint_production = u.userinfo;
    OAuthClient.jwks_uri = u.jwks;
    OAuthClient.environment = { sandbox: `${u.apiBase}/`, production: `${u.apiBase}/` };
    // Its own retries (1, 2, 4 s on 408/429/5xx) would hide failures from our policy and
    // could replay a refresh whose first answer was merely slow.
    OAuthClient.retryConfig = { ...OAuthClient.retryConfig, maxRetries: 0 };
  }

  #report(
    op: Operation,
    request: { url?: string; method?: string },
    realmId: string | null,
    at: { started: number; startedAt: number },
    exchange: Exchange,
  ): void {
    const sink = this.#opts.requestLog;
    if (!sink) return;
    const res = exchange.response;
    const body = res && isRecord(res.data) ? res.data : {};
    const failed = !res || res.status >= 300;
    const record: RequestLogRecord = {
      kind: op,
      realmId,
      method: (request.method ?? 'POST').toUpperCase(),
      path: safePath(request.url ?? this.#urlOf(op)),
      status: res?.status ?? null,
      durationMs: Math.max(0, Math.round(performance.now() - at.started)),
      intuitTid: res ? header(res.headers, 'intuit_tid') : null,
      errorCode: failed ? (str(body.error) ?? (res ? String(res.status) : 'network_error')) : null,
      // error_description is Intuit's fixed text ("Token invalid"); never a token.
      errorMessage: failed ? (str(body.error_description) ?? exchange.networkError) : null,
      requestId: null,
      attempt: 1,
      createdAt: new Date(at.startedAt),
    };
    // Not awaited: the answer goes back to intuit-oauth at once. The sink never rejects; the
    // guard is for one that breaks that promise: the request log must never decide the
    // outcome of a token call.
    try {
      sink.write(record).catch(() => {});
    } catch {
      // as above
    }
  }
}

function pickResponse(res: RawResponse): RawResponse {
  return { status: res.status, data: res.data, headers: { ...(res.headers ?? {}) } };
}

/** Maps what happened on the wire (not the library's wrapper, which embeds tokens) to our family. */
function classify(err: unknown, exchange: Exchange): OAuthError {
  if (err instanceof OAuthError) return err;
  const res = exchange.response;
  if (!res) {
    if (exchange.networkError) {
      return new OAuthTransientError(`Intuit OAuth request failed: ${exchange.networkError}`);
    }
    // The library refused before sending (e.g. a missing argument).
    return new OAuthClientError(`intuit-oauth refused the call: ${safeMessage(err)}`);
  }
  const body = isRecord(res.data) ? res.data : {};
  const code = str(body.error);
  const tid = header(res.headers, 'intuit_tid');
  const text = `Intuit OAuth answered ${res.status}${code ? ` ${code}` : ''}${
    str(body.error_description) ? `: ${str(body.error_description)}` : ''
  }${tid ? ` (intuit_tid ${tid})` : ''}`;
  if (code === 'invalid_grant') return new OAuthGrantError(text, res.status, code, tid);
  if (res.status === 408 || res.status === 429 || res.status >= 500) {
    return new OAuthTransientError(text, res.status, code, tid);
  }
  return new OAuthClientError(text, res.status, code, tid);
}

function parseTokenResponse(res: RawResponse | null, sentAt: number): TokenSet {
  const body = res && isRecord(res.data) ? res.data : null;
  const access = body && str(body.access_token);
  const refresh = body && str(body.refresh_token);
  const expiresIn = body ? num(body.expires_in) : null;
  const refreshIn = body ? num(body.x_refresh_token_expires_in) : null;
  if (!body || !access || !refresh || expiresIn === null || refreshIn === null) {
    // A 2xx we cannot read (a proxy page, a truncated body): the refresh may have happened
    // at Intuit, whose 24-hour grace keeps the old refresh token usable; try again later.
    throw new OAuthTransientError(
      `Intuit OAuth answered ${res?.status ?? 'nothing'} without a usable token response`,
      res?.status ?? null,
      null,
      res ? header(res.headers, 'intuit_tid') : null,
    );
  }
  const hardIn = num(body.x_refresh_token_hard_expires_in);
  const idToken = str(body.id_token);
  return {
    accessToken: access,
    refreshToken: refresh,
    // Counted from when the request left, so our view of expiry is early, never late.
    accessTokenExpiresAt: new Date(sentAt + expiresIn * 1000),
    refreshTokenExpiresAt: new Date(sentAt + refreshIn * 1000),
    refreshTokenHardExpiresAt:
      hardIn !== null && hardIn > 0 ? new Date(sentAt + hardIn * 1000) : null,
    ...(idToken ? { idToken } : {}),
  };
}

function networkReason(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (e?.code === 'ECONNABORTED' || e?.code === 'ETIMEDOUT') return 'timeout';
  if (typeof e?.code === 'string' && /^[A-Z_]+$/.test(e.code)) return e.code;
  return safeMessage(err);
}

// Library and axios messages are free text; keep them short and strip anything token-like.
function safeMessage(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.replace(/[A-Za-z0-9._~+/=-]{24,}/g, '[redacted]').slice(0, 200);
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '/';
  }
}

function header(headers: Record<string, unknown>, name: string): string | null {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return typeof v === 'string' && v ? v : null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v ? v : null;
}

function num(v: unknown): number | null {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}
