import { randomBytes, randomUUID } from 'node:crypto';
import type { SandboxContext } from '../core/context.ts';
import type { AccessTokenRecord, RefreshTokenRecord } from '../core/state.ts';

export interface IssueTokensInput {
  clientId: string;
  realmId: string;
  scopes: string[];
  userSub?: string;
  /** Continue an existing grant (refresh); omitted for a new consent. */
  grantId?: string;
  hardExpiresAt?: number;
  /** The refresh token being rotated out, if any: it gets its 24-hour grace from now. */
  previous?: RefreshTokenRecord;
  /**
   * Hand this refresh token back (its rolling expiry renewed) instead of minting a new one:
   * the `daily` rotation policy while the token is younger than a day.
   */
  keepRefresh?: RefreshTokenRecord;
}

export interface IssuedTokens {
  access: AccessTokenRecord;
  refresh: RefreshTokenRecord;
}

/** Opaque token strings, the length of Intuit's (their format is not documented). */
const tokenString = (prefix: string, bytes: number): string =>
  `${prefix}${randomBytes(bytes).toString('base64url')}`;

/**
 * Issues an access token and a refresh token for an app's connection to a company.
 * Used by the token endpoint and by the control API's shortcut for tests.
 */
export function issueTokens(ctx: SandboxContext, input: IssueTokensInput): IssuedTokens {
  const { state, config } = ctx;
  const now = state.clock.now();
  let refresh: RefreshTokenRecord;
  if (input.keepRefresh) {
    refresh = input.keepRefresh;
    // blog 2024-06-03: the 100 days are "a rolling expiry date that is extended each time the
    // token is used"; the 5-year hard expiry of the grant never moves.
    refresh.expiresAt = Math.min(now + config.refreshTokenTtlSec * 1000, refresh.hardExpiresAt);
  } else {
    const prev = input.previous;
    refresh = {
      token: tokenString('RT1-', 36),
      clientId: input.clientId,
      realmId: input.realmId,
      scopes: input.scopes,
      grantId: input.grantId ?? prev?.grantId ?? randomUUID(),
      issuedAt: now,
      expiresAt: now + config.refreshTokenTtlSec * 1000,
      hardExpiresAt:
        input.hardExpiresAt ?? prev?.hardExpiresAt ?? now + config.refreshTokenHardTtlSec * 1000,
      revoked: false,
      userSub: input.userSub ?? prev?.userSub ?? randomUUID(),
    };
    refresh.expiresAt = Math.min(refresh.expiresAt, refresh.hardExpiresAt);
    // intuit-oauth README: the previous refresh token stays valid 24 hours after a new one is
    // issued. A token already superseded keeps its original deadline.
    if (prev) prev.supersededAt ??= now;
    state.refreshTokens.set(refresh.token, refresh);
  }
  const access: AccessTokenRecord = {
    token: tokenString('eyJ', 96),
    clientId: input.clientId,
    realmId: input.realmId,
    scopes: input.scopes,
    issuedAt: now,
    expiresAt: now + config.accessTokenTtlSec * 1000,
    refreshToken: refresh.token,
    revoked: false,
  };
  state.accessTokens.set(access.token, access);
  return { access, refresh };
}

/** Why a refresh token cannot be used now, or null when it can. */
export function refreshTokenProblem(ctx: SandboxContext, rt: RefreshTokenRecord): string | null {
  const now = ctx.state.clock.now();
  if (rt.revoked) return 'revoked';
  if (now >= rt.hardExpiresAt) return 'past the grant hard expiry';
  if (now >= rt.expiresAt) return 'expired';
  if (
    rt.supersededAt !== undefined &&
    now >= rt.supersededAt + ctx.config.refreshTokenGraceSec * 1000
  )
    return 'superseded more than the grace period ago';
  return null;
}

/** Disconnects a grant: every refresh token of it and every access token issued with them. */
export function revokeGrant(ctx: SandboxContext, grantId: string): void {
  const { state } = ctx;
  const tokens = new Set<string>();
  for (const rt of state.refreshTokens.values()) {
    if (rt.grantId !== grantId) continue;
    rt.revoked = true;
    tokens.add(rt.token);
  }
  for (const at of state.accessTokens.values()) if (tokens.has(at.refreshToken)) at.revoked = true;
}

export interface TokenBodyOptions {
  /** Header `x-include-refresh-token-hard-expires-in: true` (intuit-oauth CHANGELOG 4.2.4). */
  includeHardExpiry: boolean;
  idToken?: string;
}

/**
 * The token endpoint's success body, keys in Intuit's order (qbo-facts, intuit-oauth mocks):
 * `x_refresh_token_expires_in` counts the seconds left on the rolling expiry, which the hard
 * expiry caps.
 */
export function tokenResponseBody(
  { access, refresh }: IssuedTokens,
  opts: TokenBodyOptions,
): Record<string, string | number> {
  // Counted from the instant of issue, so a fresh pair reads exactly 3600 and 8640000.
  const now = access.issuedAt;
  const secondsUntil = (t: number): number => Math.max(0, Math.floor((t - now) / 1000));
  return {
    token_type: 'bearer',
    expires_in: secondsUntil(access.expiresAt),
    refresh_token: refresh.token,
    x_refresh_token_expires_in: secondsUntil(Math.min(refresh.expiresAt, refresh.hardExpiresAt)),
    ...(opts.includeHardExpiry
      ? { x_refresh_token_hard_expires_in: secondsUntil(refresh.hardExpiresAt) }
      : {}),
    access_token: access.token,
    ...(opts.idToken ? { id_token: opts.idToken } : {}),
  };
}
