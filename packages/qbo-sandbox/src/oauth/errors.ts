import type { FastifyReply } from 'fastify';

/** An OAuth endpoint error, written as `{"error": …, "error_description"?: …}`. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error: string; error_description?: string },
    readonly headers: Record<string, string> = {},
  ) {
    super(`${body.error}${body.error_description ? `: ${body.error_description}` : ''}`);
  }
}

export const OAuthErrors = {
  /** docs + intuit-oauth mocks: 400 {"error_description":"Token invalid","error":"invalid_grant"} */
  invalidGrant: (description = 'Token invalid'): OAuthError =>
    new OAuthError(400, { error_description: description, error: 'invalid_grant' }),
  /** 401 {"error":"invalid_client"} */
  invalidClient: (): OAuthError => new OAuthError(401, { error: 'invalid_client' }),
  invalidRequest: (description: string): OAuthError =>
    new OAuthError(400, { error: 'invalid_request', error_description: description }),
  unsupportedGrantType: (): OAuthError => new OAuthError(400, { error: 'unsupported_grant_type' }),
  /** RFC 6750 §3.1: a missing, unknown, expired or revoked bearer token. */
  invalidToken: (description: string): OAuthError =>
    new OAuthError(
      401,
      { error: 'invalid_token', error_description: description },
      { 'www-authenticate': `Bearer realm="Intuit", error="invalid_token"` },
    ),
  /** RFC 6750 §3.1: the token lacks the scope the endpoint needs (userinfo needs openid). */
  insufficientScope: (scope: string): OAuthError =>
    new OAuthError(
      403,
      {
        error: 'insufficient_scope',
        error_description: `The access token lacks the ${scope} scope`,
      },
      { 'www-authenticate': `Bearer realm="Intuit", error="insufficient_scope", scope="${scope}"` },
    ),
} as const;

/**
 * Writes an OAuth error the way Intuit's token endpoint does (intuit-oauth mocks/errorResponse.json:
 * `application/json;charset=UTF-8`, `cache-control: no-cache, no-store`, `pragma: no-cache`).
 */
export function sendOAuthError(reply: FastifyReply, err: OAuthError): FastifyReply {
  return reply
    .status(err.status)
    .headers(noStoreHeaders)
    .headers(err.headers)
    .header('content-type', 'application/json;charset=UTF-8')
    .send(JSON.stringify(err.body));
}

/** RFC 6749 §5.1: token responses must not be cached. */
export const noStoreHeaders = {
  'cache-control': 'no-cache, no-store',
  pragma: 'no-cache',
} as const;
