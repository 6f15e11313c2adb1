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
  /** The refresh token being rotated out, if any. */
  previous?: RefreshTokenRecord;
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
  const refresh: RefreshTokenRecord = {
    token: tokenString('RT1-', 36),
    clientId: input.clientId,
    realmId: input.realmId,
    scopes: input.scopes,
    grantId: input.grantId ?? randomUUID(),
    issuedAt: now,
    expiresAt: now + config.refreshTokenTtlSec * 1000,
    hardExpiresAt: input.hardExpiresAt ?? now + config.refreshTokenHardTtlSec * 1000,
    revoked: false,
    userSub: input.userSub ?? randomUUID(),
  };
  refresh.expiresAt = Math.min(refresh.expiresAt, refresh.hardExpiresAt);
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
  state.refreshTokens.set(refresh.token, refresh);
  state.accessTokens.set(access.token, access);
  return { access, refresh };
}
