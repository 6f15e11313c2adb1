// Connecting a company and living with the connection, as the routes (and later the jobs)
// ask for it: which company a request means, the OAuth round trip, disconnect, a manual
// refresh and the connection probe. The rules themselves live in the modules this calls:
// state in oauth-state.ts, tokens in token-store.ts, QBO calls in client/api-client.ts.
//
// The callback writes the connection once. The code is exchanged first, then CompanyInfo is
// read for the callback's realmId with the new access token (nothing is stored yet): the
// realmId arrives in the browser's query string, where anyone can change it, and only QBO
// answering for that realm proves the token belongs to it (a token for another company gets
// 401, docs/qbo-facts.md). When the read fails nothing is stored, so a working connection is
// never replaced by tokens that do not work. Then the connection row and the encrypted
// tokens are written in one transaction, and the grant they replace is revoked.
//
// A refused grant is not revoked: its company is unknown (the realmId is what failed) and,
// if it is a company already connected here, revoking could end that working connection.
// Its access token lapses within the hour and nothing keeps its refresh token.
import {
  DEFAULT_METERING,
  meteredUsage,
  type MeteredUsage,
  type MeteringPolicy,
} from '../client/metering.ts';
import type { Kysely } from 'kysely';
import type { Database, QboConnection, QboEnvironment } from '../../../db/schema.ts';
import type { QboApiClient } from '../client/api-client.ts';
import { QboAuthError } from '../client/errors.ts';
import { countRequestLog } from '../client/request-log.ts';
import { QuickBooksError, type QuickBooksErrorKind } from '../errors.ts';
import type { Clock } from '../ports.ts';
import { connectionStatus, mirrorRowCount, type ConnectionStatus } from '../status.ts';
import { findConnection, listConnections } from './connections.repo.ts';
import type { QboOAuth, TokenSet } from './oauth.ts';
import {
  OAUTH_STATE_TTL_MS,
  consumeOAuthState,
  createOAuthState,
  type OAuthStateResult,
} from './oauth-state.ts';
import type { RefreshOutcome, TokenStatus, TokenStore } from './token-store.ts';

/** A realm id this service has never connected. */
export class RealmNotFoundError extends QuickBooksError {
  override readonly name = 'RealmNotFoundError';
  override readonly kind: QuickBooksErrorKind = 'realm_not_found';
  constructor(readonly realmId: string) {
    super(`no QuickBooks company with realmId ${realmId} is known to this service`);
  }
}

export type NotConnectedReason = 'none' | 'disconnected' | 'no_tokens';

/** The operation needs a connected company: none is, or the one named was disconnected. */
export class NotConnectedError extends QuickBooksError {
  override readonly name = 'NotConnectedError';
  override readonly kind: QuickBooksErrorKind = 'not_connected';
  constructor(
    readonly realmId: string | null,
    readonly reason: NotConnectedReason,
  ) {
    super(
      reason === 'none'
        ? 'no QuickBooks company is connected'
        : `QuickBooks company ${realmId} is not connected (${reason})`,
    );
  }
}

export interface ConnectionServiceDeps {
  db: Kysely<Database>;
  clock: Clock;
  oauth: Pick<QboOAuth, 'authorizeUrl' | 'exchangeCode'>;
  tokens: Pick<TokenStore, 'saveTokens' | 'refresh' | 'revokeAndWipe' | 'status'>;
  api: Pick<QboApiClient, 'companyInfo' | 'withAccessToken'>;
  /** HMAC key for OAuth states (deriveOAuthStateSecret). */
  stateSecret: Buffer;
  environment: QboEnvironment;
  scopes: string[];
  /** Intuit's monthly read-call allowance and what to do near it. Default: not metered. */
  metering?: MeteringPolicy;
}

export type CompleteConnectResult =
  | { ok: true; realmId: string; companyName: string | null }
  /**
   * token_exchange_failed: Intuit refused the code (expired, used, another app's) or could
   * not be reached. realm_not_verified: QBO refused the new token for the callback's realm
   * (a changed realmId, or a company that does not exist). company_check_failed: QBO could
   * not be asked (outage, throttle): nothing is stored, try again.
   */
  | {
      ok: false;
      reason: 'token_exchange_failed' | 'realm_not_verified' | 'company_check_failed';
      error: unknown;
    };

export interface Disconnected {
  realmId: string;
  disconnectedAt: Date;
  /** Mirrored rows and the request log are kept; only the tokens are gone. */
  kept: { mirrorRows: number; requestLogRows: number };
}

export interface Refreshed {
  realmId: string;
  result: RefreshOutcome;
  tokens: TokenStatus;
}

/** One CompanyInfo read, timed: QBO's answer either way (`error` when it said no). */
export interface Probe {
  connection: QboConnection;
  companyName: string | null;
  latencyMs: number;
  checkedAt: Date;
  error: QuickBooksError | null;
}

export class ConnectionService {
  readonly #d: ConnectionServiceDeps;

  constructor(deps: ConnectionServiceDeps) {
    this.#d = deps;
  }

  /**
   * The company a request is about: the given realm (RealmNotFoundError when unknown), or
   * else the most recently connected one still connected (or needing re-auth), or else the
   * most recent of any; null when there is none at all.
   */
  async find(realmId?: string): Promise<QboConnection | null> {
    if (realmId !== undefined) {
      const connection = await findConnection(this.#d.db, realmId);
      if (!connection) throw new RealmNotFoundError(realmId);
      return connection;
    }
    const [first] = await listConnections(this.#d.db);
    return first ?? null;
  }

  /** Like `find`, for an operation that needs a connection that still has its grant. */
  async findConnected(realmId?: string): Promise<QboConnection> {
    const c = await this.find(realmId);
    if (!c) throw new NotConnectedError(null, 'none');
    if (c.status === 'disconnected') throw new NotConnectedError(c.realm_id, 'disconnected');
    return c;
  }

  /** Intuit's consent URL, with a signed single-use state bound to `sessionId`. */
  async startConnect(sessionId: string): Promise<{ authUrl: string; stateExpiresAt: Date }> {
    const now = this.#d.clock.now();
    const state = await createOAuthState(this.#d.db, {
      sessionId,
      now,
      secret: this.#d.stateSecret,
    });
    return {
      authUrl: this.#d.oauth.authorizeUrl(state),
      stateExpiresAt: new Date(now + OAUTH_STATE_TTL_MS),
    };
  }

  /** Checks and consumes the state a callback carries; each refusal names its reason. */
  checkCallbackState(
    state: string | undefined,
    sessionId: string | null,
  ): Promise<OAuthStateResult> {
    return consumeOAuthState(this.#d.db, state, {
      sessionId: sessionId ?? '',
      now: this.#d.clock.now(),
      secret: this.#d.stateSecret,
    });
  }

  /**
   * After Intuit's redirect with a code (the state already checked): exchange the code, prove
   * the realm with a CompanyInfo read using the new access token, then store the connection
   * and its tokens in one write (revoking the grant they replace). Throws only when storing
   * fails.
   */
  async completeConnect(input: { code: string; realmId: string }): Promise<CompleteConnectResult> {
    const { realmId } = input;
    let tokens: TokenSet;
    try {
      tokens = await this.#d.oauth.exchangeCode(input);
    } catch (error) {
      return { ok: false, reason: 'token_exchange_failed', error };
    }
    let info: Record<string, unknown>;
    try {
      info = await this.#d.api.withAccessToken(tokens.accessToken).companyInfo(realmId);
    } catch (error) {
      const reason = error instanceof QboAuthError ? 'realm_not_verified' : 'company_check_failed';
      return { ok: false, reason, error };
    }
    const companyName = nameOf(info);
    await this.#d.tokens.saveTokens(realmId, tokens, {
      environment: this.#d.environment,
      scopes: this.#d.scopes,
      companyName,
    });
    return { ok: true, realmId, companyName };
  }

  /** Revokes the grant at Intuit, wipes the tokens, marks the connection disconnected. */
  async disconnect(realmId?: string): Promise<Disconnected> {
    const c = await this.findConnected(realmId);
    const disconnectedAt = await this.#d.tokens.revokeAndWipe(c.realm_id);
    const [mirrorRows, requestLogRows] = await Promise.all([
      mirrorRowCount(this.#d.db, c.realm_id),
      countRequestLog(this.#d.db, c.realm_id),
    ]);
    return { realmId: c.realm_id, disconnectedAt, kept: { mirrorRows, requestLogRows } };
  }

  /** A refresh now, whatever the access token has left (the admin's button). */
  async refresh(realmId?: string): Promise<Refreshed> {
    const c = await this.findConnected(realmId);
    const result = await this.#d.tokens.refresh(c.realm_id, { force: true, reason: 'manual' });
    const tokens = await this.#d.tokens.status(c.realm_id);
    if (!tokens) throw new NotConnectedError(c.realm_id, 'no_tokens');
    return { realmId: c.realm_id, result, tokens };
  }

  /** One CompanyInfo read through the API client (rate-limited, logged, retried). */
  async probe(realmId?: string): Promise<Probe> {
    const connection = await this.findConnected(realmId);
    const started = performance.now();
    const checkedAt = new Date(this.#d.clock.now());
    const timed = (companyName: string | null, error: QuickBooksError | null): Probe => ({
      connection,
      companyName,
      latencyMs: Math.round(performance.now() - started),
      checkedAt,
      error,
    });
    try {
      const info = await this.#d.api.companyInfo(connection.realm_id);
      return timed(nameOf(info) ?? connection.company_name, null);
    } catch (err) {
      // QBO (or Intuit) said no: that is the probe's answer. Anything else is our failure.
      if (err instanceof QuickBooksError) return timed(connection.company_name, err);
      throw err;
    }
  }

  /** What GET /status shows about the company a request means. */
  async status(realmId?: string): Promise<ConnectionStatus & { coreplus: MeteredUsage }> {
    const c = await this.find(realmId);
    const [status, coreplus] = await Promise.all([
      connectionStatus(this.#d.db, c, { now: this.#d.clock.now() }),
      this.meteredUsage(),
    ]);
    return { ...status, coreplus };
  }

  /** This month's metered (CorePlus) read calls against the allowance. */
  meteredUsage(): Promise<MeteredUsage> {
    return meteredUsage(this.#d.db, this.#d.metering ?? DEFAULT_METERING, this.#d.clock.now());
  }
}

function nameOf(info: Record<string, unknown>): string | null {
  return typeof info.CompanyName === 'string' ? info.CompanyName : null;
}
