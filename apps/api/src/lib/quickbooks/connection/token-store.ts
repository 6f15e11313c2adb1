// Each realm's OAuth tokens: encrypted at rest, refreshed ahead of expiry, one refresh at a
// time per realm across every process. Why each rule exists: docs/oauth-and-tokens.md.
//
//  * Encryption: TokenCipher (AES-256-GCM) with `<realmId>:access_token` /
//    `<realmId>:refresh_token` as authenticated context, so a value moved to another realm
//    or column fails to decrypt. Plaintext tokens exist only in memory.
//  * Single-flight: callers in this process share one refresh promise; across processes
//    the `Lock` port serialises, and the holder re-reads the row after taking the lock,
//    because the previous holder has usually refreshed already. Two refreshes with the
//    same refresh token are what turns into invalid_grant on a busy connection.
//  * Persist first: the rotated refresh token (and the new access token) are committed
//    before the new access token is handed to anyone. If the write fails, nothing uses the
//    new pair and the old refresh token still works for 24 h at Intuit.
//  * Failures: only invalid_grant marks the connection needs_reauth (and raises the alert);
//    network errors, 5xx, 429 and lost answers keep the old tokens.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type {
  Database,
  QboConnectionStatus,
  QboEnvironment,
  QboRefreshStatus,
  QboTokens,
} from '../../../db/schema.ts';
import {
  deleteTokens,
  markDisconnected,
  markNeedsReauth,
  putTokens,
  readConnectionTokens,
  recordRefreshOutcome,
  updateTokensIfVersion,
  upsertConnection,
  type ConnectionTokens,
  type EncryptedTokenValues,
} from './connections.repo.ts';
import {
  OAuthClientError,
  OAuthError,
  OAuthGrantError,
  OAuthTransientError,
  type QboOAuth,
  type TokenSet,
} from './oauth.ts';
import { QuickBooksError, type QuickBooksErrorKind } from '../errors.ts';
import { LockTimeoutError, MINUTE_MS, SECOND_MS, type Clock, type Lock } from '../ports.ts';
import type { TokenCipher } from './token-cipher.ts';

export type ReauthReason =
  'not_connected' | 'no_tokens' | 'needs_reauth' | 'disconnected' | 'invalid_grant';

/** The realm cannot call QBO until a person reconnects it (or it was never connected). */
export class ReauthRequiredError extends QuickBooksError {
  override readonly name = 'ReauthRequiredError';
  override readonly kind: QuickBooksErrorKind = 'reauth_required';
  constructor(
    readonly realmId: string,
    readonly reason: ReauthReason,
  ) {
    super(
      reason === 'not_connected'
        ? `QuickBooks company ${realmId} is not connected`
        : reason === 'disconnected'
          ? `QuickBooks company ${realmId} was disconnected; connect it again`
          : `QuickBooks company ${realmId} needs to be reconnected (${reason})`,
    );
  }
}

export interface TokenStatus {
  accessTokenExpiresAt: Date;
  /** Rolling (100 days at Intuit), renewed by each refresh. */
  refreshTokenExpiresAt: Date;
  /** The grant's absolute end (5 years), null when Intuit did not say. */
  refreshTokenHardExpiresAt: Date | null;
  lastRefreshAt: Date | null;
  needsReauth: boolean;
  // Extensions of the contract, for /status:
  status: QboConnectionStatus;
  lastRefreshStatus: QboRefreshStatus | null;
  lastRefreshError: string | null;
  needsReauthSince: Date | null;
}

/**
 * The `alert` field of the one error line written per invalid_grant; the durable copy is
 * qbo_connections.status = needs_reauth, which GET /metrics reports as an alert.
 */
export const REAUTH_ALERT = 'qbo_reauth_required';

export interface TokenStoreDeps {
  db: Kysely<Database>;
  cipher: TokenCipher;
  lock: Lock;
  oauth: Pick<QboOAuth, 'refresh' | 'revoke'>;
  clock: Clock;
  logger: Logger;
  /** Refresh when the access token has less than this left (default 5 min). */
  refreshAheadMs?: number;
  /** Lock TTL for one refresh; longer than the OAuth timeout (default 60 s). */
  lockTtlMs?: number;
}

export type RefreshOutcome = 'refreshed' | 'already_fresh';

/** What the callback learned about a newly granted company; omitted fields keep stored values. */
export interface NewGrantDetails {
  companyName?: string | null;
  environment?: QboEnvironment;
  scopes?: string[];
}

/** The old access token is still served after a failed refresh-ahead while this much of it is left. */
const STALE_GRACE_MS = 30 * SECOND_MS;
/** Refresh ahead of expiry when less than this is left: a call in flight never holds a dead token. */
export const DEFAULT_REFRESH_AHEAD_MS = 5 * MINUTE_MS;
/** One refresh holds the lock at most this long; longer than the OAuth timeout. */
export const DEFAULT_REFRESH_LOCK_TTL_MS = MINUTE_MS;

export class TokenStore {
  readonly #d: TokenStoreDeps & { refreshAheadMs: number; lockTtlMs: number };
  readonly #inflight = new Map<string, Promise<RefreshOutcome>>();
  /** Per realm: the token read in flight, which calls asking meanwhile share. */
  readonly #reading = new Map<string, Promise<ConnectionTokens & { tokens: QboTokens }>>();

  constructor(deps: TokenStoreDeps) {
    this.#d = {
      ...deps,
      refreshAheadMs: deps.refreshAheadMs ?? DEFAULT_REFRESH_AHEAD_MS,
      lockTtlMs: deps.lockTtlMs ?? DEFAULT_REFRESH_LOCK_TTL_MS,
    };
  }

  /**
   * Stores a new grant (after /callback): the connection row is written once, with what the
   * callback learned about the company, and becomes `connected` together with its tokens.
   * The grant it replaces is then revoked at Intuit (best effort): a reconnect must not
   * leave a second live grant for the company that nothing here would ever use or revoke.
   */
  async saveTokens(
    realmId: string,
    tokens: TokenSet,
    company: NewGrantDetails = {},
  ): Promise<void> {
    await this.#withLock(realmId, async () => {
      const now = new Date(this.#d.clock.now());
      const replaced = await this.#d.db.transaction().execute(async (trx) => {
        const before = await readConnectionTokens(trx, realmId);
        await upsertConnection(trx, { ...company, realmId, now });
        await putTokens(trx, realmId, this.#encrypt(realmId, tokens, null), now);
        return before?.tokens ? this.#refreshTokenOf(realmId, before.tokens) : null;
      });
      if (replaced && replaced !== tokens.refreshToken)
        await this.#revokeQuietly(realmId, replaced);
    });
    this.#log(realmId).info(
      {
        accessTokenExpiresAt: tokens.accessTokenExpiresAt,
        refreshTokenExpiresAt: tokens.refreshTokenExpiresAt,
      },
      'QuickBooks tokens stored for a new grant',
    );
  }

  /** A usable access token, refreshed first when it is within `refreshAheadMs` of expiry. */
  async getAccessToken(realmId: string): Promise<string> {
    const first = await this.#readShared(realmId);
    if (this.#fresh(first.tokens)) return this.#accessTokenOf(first);
    try {
      await this.#singleFlight(realmId, {});
    } catch (err) {
      // A refresh *ahead* of expiry that failed transiently must not stop calls the
      // current token can still make.
      const left = first.tokens.access_token_expires_at.getTime() - this.#d.clock.now();
      if (
        (err instanceof OAuthTransientError || err instanceof LockTimeoutError) &&
        left > STALE_GRACE_MS
      ) {
        this.#log(realmId).warn(
          { err: describe(err) },
          'token refresh failed; the current access token is still valid',
        );
        return this.#accessTokenOf(first);
      }
      throw err;
    }
    const after = await this.#readUsable(realmId);
    if (after.tokens.access_token_expires_at.getTime() > this.#d.clock.now()) {
      return this.#accessTokenOf(after);
    }
    throw new OAuthTransientError(
      'the refreshed access token is already expired (check the clocks)',
    );
  }

  async refresh(
    realmId: string,
    opts: { force?: boolean; reason?: string } = {},
  ): Promise<RefreshOutcome> {
    return this.#singleFlight(realmId, opts);
  }

  /** After QBO answered 401 to `accessToken`: forget it unless it was already replaced. */
  async invalidateAccessToken(realmId: string, accessToken: string): Promise<void> {
    const row = await readConnectionTokens(this.#d.db, realmId);
    if (!row?.tokens) return;
    let current: string;
    try {
      current = this.#d.cipher.decrypt(
        row.tokens.access_token_ciphertext,
        ctx(realmId, 'access_token'),
      );
    } catch {
      return;
    }
    if (current !== accessToken) return;
    const now = new Date(this.#d.clock.now());
    await updateTokensIfVersion(
      this.#d.db,
      realmId,
      row.tokens.version,
      { accessTokenExpiresAt: now },
      now,
    );
    this.#log(realmId).info(
      'access token refused by QBO; it will be refreshed before the next call',
    );
  }

  /**
   * Disconnect: revoke the grant at Intuit (best effort), then wipe the tokens and mark the
   * connection disconnected. Returns when it was marked.
   */
  async revokeAndWipe(realmId: string): Promise<Date> {
    const at = await this.#withLock(realmId, async () => {
      const row = await readConnectionTokens(this.#d.db, realmId);
      if (!row) return new Date(this.#d.clock.now());
      const refreshToken = row.tokens ? this.#refreshTokenOf(realmId, row.tokens) : null;
      if (refreshToken) await this.#revokeQuietly(realmId, refreshToken);
      const now = new Date(this.#d.clock.now());
      await this.#d.db.transaction().execute(async (trx) => {
        await deleteTokens(trx, realmId);
        await markDisconnected(trx, realmId, now);
      });
      return now;
    });
    this.#log(realmId).info('QuickBooks connection disconnected and its tokens wiped');
    return at;
  }

  async status(realmId: string): Promise<TokenStatus | null> {
    const row = await readConnectionTokens(this.#d.db, realmId);
    if (!row?.tokens) return null;
    return {
      accessTokenExpiresAt: row.tokens.access_token_expires_at,
      refreshTokenExpiresAt: row.tokens.refresh_token_expires_at,
      refreshTokenHardExpiresAt: row.tokens.refresh_token_hard_expires_at,
      lastRefreshAt: row.lastRefreshAt ?? row.tokens.refreshed_at,
      needsReauth: row.status === 'needs_reauth',
      status: row.status,
      lastRefreshStatus: row.lastRefreshStatus,
      lastRefreshError: row.lastRefreshError,
      needsReauthSince: row.needsReauthSince,
    };
  }

  // -------------------------------------------------------------------------------------

  #singleFlight(
    realmId: string,
    opts: { force?: boolean; reason?: string },
  ): Promise<RefreshOutcome> {
    // A forced refresh (the admin's button) never rides on an ordinary one already running.
    const key = opts.force ? `${realmId}\0force` : realmId;
    const running = this.#inflight.get(key);
    if (running) return running;
    const p = this.#withLock(realmId, () => this.#refreshHoldingLock(realmId, opts)).finally(() => {
      if (this.#inflight.get(key) === p) this.#inflight.delete(key);
    });
    this.#inflight.set(key, p);
    return p;
  }

  async #refreshHoldingLock(
    realmId: string,
    opts: { force?: boolean; reason?: string },
  ): Promise<RefreshOutcome> {
    // Re-read under the lock: whoever held it before us has usually just refreshed.
    const row = await this.#readUsable(realmId);
    if (!opts.force && this.#fresh(row.tokens)) return 'already_fresh';
    const refreshToken = this.#d.cipher.decrypt(
      row.tokens.refresh_token_ciphertext,
      ctx(realmId, 'refresh_token'),
    );
    const log = this.#log(realmId);
    let fresh: TokenSet;
    try {
      fresh = await this.#d.oauth.refresh(refreshToken, { realmId });
    } catch (err) {
      return this.#refreshFailed(realmId, row.tokens, err);
    }
    const now = new Date(this.#d.clock.now());
    const values = this.#encrypt(realmId, fresh, row.tokens.refresh_token_hard_expires_at);
    const stored = await this.#d.db.transaction().execute(async (trx) => {
      const ok = await updateTokensIfVersion(
        trx,
        realmId,
        row.tokens.version,
        { ...values, refreshedAt: now },
        now,
      );
      if (ok) await recordRefreshOutcome(trx, realmId, { status: 'success', error: null, at: now });
      return ok;
    });
    if (!stored) {
      // Only possible if our lease expired mid-refresh. The other writer's pair is as valid
      // as ours (Intuit keeps a superseded refresh token for 24 h); keep theirs.
      log.warn('another process stored tokens during this refresh; keeping its tokens');
      return 'already_fresh';
    }
    log.info(
      {
        reason: opts.reason ?? 'expiring',
        accessTokenExpiresAt: values.accessTokenExpiresAt,
        refreshTokenExpiresAt: values.refreshTokenExpiresAt,
        refreshTokenHardExpiresAt: values.refreshTokenHardExpiresAt,
      },
      'QuickBooks access token refreshed',
    );
    return 'refreshed';
  }

  async #refreshFailed(realmId: string, read: QboTokens, err: unknown): Promise<never> {
    const log = this.#log(realmId);
    const db = this.#d.db;
    const now = new Date(this.#d.clock.now());
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof OAuthGrantError) {
      const again = await readConnectionTokens(db, realmId);
      if (again?.tokens && again.tokens.version !== read.version) {
        // A new grant was stored meanwhile (a reconnect): the refused token is history.
        log.warn(
          { err: describe(err) },
          'invalid_grant for a refresh token that was already replaced',
        );
        throw new OAuthTransientError('tokens changed during the refresh; try again');
      }
      await markNeedsReauth(db, realmId, { error: `invalid_grant: ${message}`, at: now });
      log.error(
        { alert: REAUTH_ALERT, intuitTid: err.intuitTid },
        'QuickBooks connection needs re-authorization: Intuit refused the refresh token (invalid_grant)',
      );
      throw new ReauthRequiredError(realmId, 'invalid_grant');
    }
    const status: QboRefreshStatus = 'error';
    try {
      await recordRefreshOutcome(db, realmId, { status, error: message.slice(0, 500), at: now });
    } catch (recordErr) {
      log.warn({ err: describe(recordErr) }, 'could not record the refresh failure');
    }
    if (err instanceof OAuthTransientError) {
      log.warn(
        { err: describe(err) },
        'QuickBooks token refresh failed; keeping the current tokens',
      );
    } else if (err instanceof OAuthClientError) {
      log.error(
        { err: describe(err) },
        'QuickBooks token refresh refused: check INTUIT_CLIENT_ID/SECRET',
      );
    } else {
      log.error({ err: describe(err) }, 'QuickBooks token refresh failed');
    }
    throw err;
  }

  /** The stored refresh token in plaintext; null when it no longer decrypts (a lost key). */
  #refreshTokenOf(realmId: string, t: QboTokens): string | null {
    try {
      return this.#d.cipher.decrypt(t.refresh_token_ciphertext, ctx(realmId, 'refresh_token'));
    } catch (err) {
      this.#log(realmId).warn({ err: describe(err) }, 'the stored refresh token does not decrypt');
      return null;
    }
  }

  /** Revoking a refresh token ends its whole grant, access tokens included. Never throws. */
  async #revokeQuietly(realmId: string, refreshToken: string): Promise<void> {
    try {
      await this.#d.oauth.revoke(refreshToken, { realmId });
    } catch (err) {
      this.#log(realmId).warn(
        { err: describe(err) },
        'revoking a grant at Intuit failed; its tokens are no longer kept here',
      );
    }
  }

  async #withLock<T>(realmId: string, fn: () => Promise<T>): Promise<T> {
    return this.#d.lock.withLock(`qbo-token-refresh:${realmId}`, this.#d.lockTtlMs, fn);
  }

  async #readUsable(realmId: string): Promise<ConnectionTokens & { tokens: QboTokens }> {
    const row = await readConnectionTokens(this.#d.db, realmId);
    if (!row) throw new ReauthRequiredError(realmId, 'not_connected');
    if (row.status === 'needs_reauth') throw new ReauthRequiredError(realmId, 'needs_reauth');
    if (row.status === 'disconnected') throw new ReauthRequiredError(realmId, 'disconnected');
    if (!row.tokens) throw new ReauthRequiredError(realmId, 'no_tokens');
    return row as ConnectionTokens & { tokens: QboTokens };
  }

  /**
   * The row as a read already in flight for the realm returns it, or a new read: a burst of
   * calls (a sync's first ten) costs one query, not one each. Only for a first look: a read
   * that must follow a refresh (`after` above) starts its own.
   */
  #readShared(realmId: string): Promise<ConnectionTokens & { tokens: QboTokens }> {
    let read = this.#reading.get(realmId);
    if (!read) {
      read = this.#readUsable(realmId).finally(() => this.#reading.delete(realmId));
      this.#reading.set(realmId, read);
    }
    return read;
  }

  #fresh(t: QboTokens): boolean {
    return t.access_token_expires_at.getTime() - this.#d.clock.now() > this.#d.refreshAheadMs;
  }

  async #accessTokenOf(row: ConnectionTokens & { tokens: QboTokens }): Promise<string> {
    const { realmId, tokens } = row;
    const { cipher } = this.#d;
    const access = cipher.decrypt(tokens.access_token_ciphertext, ctx(realmId, 'access_token'));
    if (
      cipher.needsReEncrypt(tokens.access_token_ciphertext) ||
      cipher.needsReEncrypt(tokens.refresh_token_ciphertext)
    ) {
      // Key rotation (docs/decisions/0002): move values to the current key as they are read.
      const refresh = cipher.decrypt(
        tokens.refresh_token_ciphertext,
        ctx(realmId, 'refresh_token'),
      );
      const now = new Date(this.#d.clock.now());
      await updateTokensIfVersion(
        this.#d.db,
        realmId,
        tokens.version,
        {
          accessTokenCiphertext: cipher.encrypt(access, ctx(realmId, 'access_token')),
          refreshTokenCiphertext: cipher.encrypt(refresh, ctx(realmId, 'refresh_token')),
          keyId: cipher.currentKeyId,
        },
        now,
      ).catch((err: unknown) =>
        this.#log(realmId).warn({ err: describe(err) }, 'token re-encryption failed'),
      );
    }
    return access;
  }

  #encrypt(realmId: string, t: TokenSet, storedHard: Date | null): EncryptedTokenValues {
    // The hard expiry is fixed at consent: once stored it is kept, whatever a refresh says.
    // Intuit sends it as seconds from now, so recomputing it on each refresh moved it by the
    // request's latency and rounding (about a second a refresh) while the grant's end had
    // not moved. Never let the rolling expiry claim more than the grant has left.
    const hard = storedHard ?? t.refreshTokenHardExpiresAt;
    const rolling = hard && hard < t.refreshTokenExpiresAt ? hard : t.refreshTokenExpiresAt;
    return {
      accessTokenCiphertext: this.#d.cipher.encrypt(t.accessToken, ctx(realmId, 'access_token')),
      refreshTokenCiphertext: this.#d.cipher.encrypt(t.refreshToken, ctx(realmId, 'refresh_token')),
      keyId: this.#d.cipher.currentKeyId,
      accessTokenExpiresAt: t.accessTokenExpiresAt,
      refreshTokenExpiresAt: rolling,
      refreshTokenHardExpiresAt: hard,
    };
  }

  #log(realmId: string): Logger {
    return this.#d.logger.child({ realmId });
  }
}

function ctx(realmId: string, field: 'access_token' | 'refresh_token'): string {
  return `${realmId}:${field}`;
}

/** What goes into a log line about an error: never the error object itself (causes, configs). */
function describe(err: unknown): Record<string, unknown> {
  if (err instanceof OAuthError) {
    return {
      type: err.name,
      message: err.message,
      status: err.status,
      code: err.errorCode,
      intuitTid: err.intuitTid,
    };
  }
  if (err instanceof Error) return { type: err.name, message: err.message };
  return { message: String(err) };
}

/** The associated data each token value is encrypted with (key rotation re-encrypts with it). */
export { ctx as tokenCipherContext };
