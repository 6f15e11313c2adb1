import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { applyInjectedFaults } from '../control/faults.ts';
import type { SandboxContext } from '../core/context.ts';
import type { AppRecord } from '../core/state.ts';
import { parseForm, parseJsonOrForm, rawText } from './body.ts';
import { noStoreHeaders, OAuthErrors } from './errors.ts';
import { signIdToken, type OAuthRuntime } from './identity.ts';
import {
  issueTokens,
  refreshTokenProblem,
  revokeGrant,
  tokenResponseBody,
  type IssuedTokens,
} from './tokens.ts';

const sameSecret = (a: string, b: string): boolean =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

const decodeComponent = (s: string): string => {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
};

/**
 * Client authentication: HTTP Basic (what every Intuit SDK sends) or client_id +
 * client_secret in the body (discovery: token_endpoint_auth_methods_supported lists both).
 * Anything wrong is 401 {"error":"invalid_client"} (qbo-facts).
 */
export function authenticateClient(
  ctx: SandboxContext,
  req: FastifyRequest,
  params: Record<string, string>,
): AppRecord {
  let id: string | undefined;
  let secret: string | undefined;
  const header = req.headers.authorization;
  const basic = typeof header === 'string' ? /^Basic\s+(\S+)\s*$/i.exec(header) : null;
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw OAuthErrors.invalidClient();
    // RFC 6749 §2.3.1: both halves are form-encoded before base64.
    id = decodeComponent(decoded.slice(0, colon));
    secret = decodeComponent(decoded.slice(colon + 1));
  } else {
    id = params.client_id;
    secret = params.client_secret;
  }
  const app = id ? ctx.state.apps.get(id) : undefined;
  if (!app || secret === undefined || !sameSecret(secret, app.clientSecret))
    throw OAuthErrors.invalidClient();
  return app;
}

/** Answers with fault injection's reply when it already sent one. */
async function faulted(
  ctx: SandboxContext,
  req: FastifyRequest,
  reply: FastifyReply,
  surface: 'token' | 'revoke',
): Promise<boolean> {
  await applyInjectedFaults(ctx, req, reply, surface);
  return reply.sent;
}

function sendTokens(reply: FastifyReply, body: Record<string, string | number>): FastifyReply {
  return reply
    .status(200)
    .headers(noStoreHeaders)
    .header('content-type', 'application/json;charset=UTF-8')
    .send(JSON.stringify(body));
}

export function registerTokenEndpoints(
  app: FastifyInstance,
  ctx: SandboxContext,
  rt: OAuthRuntime,
) {
  const { state, config } = ctx;

  const respond = async (req: FastifyRequest, reply: FastifyReply, issued: IssuedTokens) => {
    req.qbo = { realmId: issued.refresh.realmId, clientId: issued.refresh.clientId };
    const idToken = issued.refresh.scopes.includes('openid')
      ? await signIdToken(ctx, rt, issued.refresh)
      : undefined;
    const includeHardExpiry =
      String(req.headers['x-include-refresh-token-hard-expires-in'] ?? '').toLowerCase() === 'true';
    return sendTokens(
      reply,
      tokenResponseBody(issued, { includeHardExpiry, ...(idToken ? { idToken } : {}) }),
    );
  };

  app.post('/oauth2/v1/tokens/bearer', async (req, reply) => {
    if (await faulted(ctx, req, reply, 'token')) return reply;
    const params = parseForm(rawText(req));
    const client = authenticateClient(ctx, req, params);
    const grantType = params.grant_type;
    if (!grantType) throw OAuthErrors.invalidRequest('grant_type is required');
    const now = state.clock.now();

    if (grantType === 'authorization_code') {
      if (!params.code) throw OAuthErrors.invalidRequest('code is required');
      if (!params.redirect_uri) throw OAuthErrors.invalidRequest('redirect_uri is required');
      const code = state.authCodes.get(params.code);
      if (!code || code.clientId !== client.clientId) throw OAuthErrors.invalidGrant();
      if (code.used) {
        // RFC 6749 §4.1.2: a code used twice "SHOULD revoke (when possible) all tokens
        // previously issued based on that authorization code".
        const first = code.issuedRefreshToken
          ? state.refreshTokens.get(code.issuedRefreshToken)
          : undefined;
        if (first) revokeGrant(ctx, first.grantId);
        throw OAuthErrors.invalidGrant();
      }
      if (now >= code.expiresAt) throw OAuthErrors.invalidGrant();
      // RFC 6749 §4.1.3: redirect_uri must be identical to the authorize request's.
      if (params.redirect_uri !== code.redirectUri) throw OAuthErrors.invalidGrant();
      code.used = true;
      const issued = issueTokens(ctx, {
        clientId: client.clientId,
        realmId: code.realmId,
        scopes: code.scopes,
        userSub: code.userSub,
      });
      code.issuedRefreshToken = issued.refresh.token;
      rt.authTimes.set(issued.refresh.grantId, rt.consentedAt.get(code.code) ?? now);
      rt.consentedAt.delete(code.code);
      return respond(req, reply, issued);
    }

    if (grantType === 'refresh_token') {
      if (!params.refresh_token) throw OAuthErrors.invalidRequest('refresh_token is required');
      const current = state.refreshTokens.get(params.refresh_token);
      if (!current || current.clientId !== client.clientId || refreshTokenProblem(ctx, current))
        throw OAuthErrors.invalidGrant();
      // 'daily' reproduces what Intuit's FAQ describes in practice: the value changes once the
      // token is a day old; 'always' rotates on every call, which a client must handle anyway.
      const keep =
        config.oauth.refreshTokenRotation === 'daily' &&
        current.supersededAt === undefined &&
        now - current.issuedAt < config.oauth.refreshTokenRotateAfterSec * 1000;
      const issued = issueTokens(ctx, {
        clientId: current.clientId,
        realmId: current.realmId,
        scopes: current.scopes,
        ...(keep ? { keepRefresh: current } : { previous: current }),
      });
      return respond(req, reply, issued);
    }

    throw OAuthErrors.unsupportedGrantType();
  });

  app.post('/v2/oauth2/tokens/revoke', async (req, reply) => {
    if (await faulted(ctx, req, reply, 'revoke')) return reply;
    const params = parseJsonOrForm(req);
    const client = authenticateClient(ctx, req, params);
    const token = params.token;
    if (!token) throw OAuthErrors.invalidRequest('token is required');
    const refresh = state.refreshTokens.get(token);
    const access = refresh ? undefined : state.accessTokens.get(token);
    const now = state.clock.now();
    let revoked = false;
    if (refresh && refresh.clientId === client.clientId && !refreshTokenProblem(ctx, refresh)) {
      revokeGrant(ctx, refresh.grantId);
      revoked = true;
    } else if (
      access &&
      access.clientId === client.clientId &&
      !access.revoked &&
      access.expiresAt > now
    ) {
      access.revoked = true;
      const grant = state.refreshTokens.get(access.refreshToken);
      if (config.oauth.revokeAccessToken === 'grant' && grant) revokeGrant(ctx, grant.grantId);
      revoked = true;
    }
    if (revoked) req.qbo = { realmId: (refresh ?? access)!.realmId, clientId: client.clientId };
    // oauth-jsclient issues #18 and #71: revoking a token that is already revoked (or not
    // valid) answers 400 with an empty body. RFC 7009 §2.2 would answer 200: configurable.
    const status = revoked || config.oauth.revokeUnknownToken === 'ok' ? 200 : 400;
    return reply.status(status).headers(noStoreHeaders).send('');
  });
}
