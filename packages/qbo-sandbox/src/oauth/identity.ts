import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { SandboxContext } from '../core/context.ts';
import type { RefreshTokenRecord } from '../core/state.ts';

/**
 * intuit-oauth's validateIdToken compares `iss` with this exact string, so the sandbox signs
 * with Intuit's issuer while every endpoint URL points at the sandbox.
 */
export const INTUIT_ISSUER = 'https://oauth.platform.intuit.com/op/v1';

/** What the OAuth server keeps beside the shared token maps. */
export interface OAuthRuntime {
  /** RS256 key made at start; the JWKS publishes its public half. */
  privateKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
  /** The one signed-in sandbox user (Intuit's `sub` is stable per user). */
  userSub: string;
  /** When the user consented to each grant: the id_token's `auth_time`. */
  authTimes: Map<string, number>;
  /** When the consent behind each authorization code was given. */
  consentedAt: Map<string, number>;
}

export async function createOAuthRuntime(ctx: SandboxContext): Promise<OAuthRuntime> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  // Intuit's kids are 20 base64url characters (dotnet-sdk discovery_jwks.json: r4p5SbL2qaFehFzhj8gI).
  const kid = randomBytes(15).toString('base64url');
  const jwk = await exportJWK(publicKey);
  return {
    privateKey,
    // intuit-oauth mocks/jwkResponse.json: kty, e, use, kid, alg, n.
    publicJwk: { kty: jwk.kty, e: jwk.e, use: 'sig', kid, alg: 'RS256', n: jwk.n },
    kid,
    userSub: ctx.config.oauth.user.sub ?? randomUUID(),
    authTimes: new Map(),
    consentedAt: new Map(),
  };
}

/**
 * Signs the id_token Intuit returns with the openid scope. Claims and their order follow
 * intuit-oauth mocks/validateIdToken.json: sub, aud (an array), realmid, auth_time, iss, exp, iat.
 */
export async function signIdToken(
  ctx: SandboxContext,
  rt: OAuthRuntime,
  refresh: RefreshTokenRecord,
): Promise<string> {
  const now = Math.floor(ctx.state.clock.now() / 1000);
  const authTime = rt.authTimes.get(refresh.grantId) ?? refresh.issuedAt;
  return new SignJWT({
    sub: refresh.userSub,
    aud: [refresh.clientId],
    ...(refresh.realmId ? { realmid: refresh.realmId } : {}),
    auth_time: Math.floor(authTime / 1000),
    iss: INTUIT_ISSUER,
    exp: now + ctx.config.accessTokenTtlSec,
    iat: now,
  })
    .setProtectedHeader({ kid: rt.kid, alg: 'RS256' })
    .sign(rt.privateKey);
}

/** OpenID Connect discovery (dotnet-sdk oauth/discovery.json), endpoints on the sandbox's host. */
export function discoveryDocument(ctx: SandboxContext): Record<string, unknown> {
  const base = ctx.config.baseUrl.replace(/\/+$/, '');
  return {
    issuer: INTUIT_ISSUER,
    authorization_endpoint: `${base}/connect/oauth2`,
    token_endpoint: `${base}/oauth2/v1/tokens/bearer`,
    userinfo_endpoint: `${base}/v1/openid_connect/userinfo`,
    revocation_endpoint: `${base}/v2/oauth2/tokens/revoke`,
    jwks_uri: `${base}/op/v1/jwks`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', 'email', 'profile', 'address', 'phone'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    claims_supported: ['aud', 'exp', 'iat', 'iss', 'realmid', 'sub'],
  };
}

/**
 * Userinfo body (dotnet-sdk oauth/success_userinfo_response.json). Fields follow the scopes
 * granted, as OpenID Connect Core §5.4 ties claims to profile/email/phone/address.
 */
export function userInfoBody(ctx: SandboxContext, sub: string, scopes: string[]) {
  const u = ctx.config.oauth.user;
  const has = (s: string): boolean => scopes.includes(s);
  return {
    sub,
    ...(has('email') ? { email: u.email, emailVerified: u.emailVerified } : {}),
    ...(has('profile') ? { givenName: u.givenName, familyName: u.familyName } : {}),
    ...(has('phone')
      ? { phoneNumber: u.phoneNumber, phoneNumberVerified: u.phoneNumberVerified }
      : {}),
    ...(has('address') ? { address: { ...u.address } } : {}),
  };
}
