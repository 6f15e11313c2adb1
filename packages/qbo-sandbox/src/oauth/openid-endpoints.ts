import type { FastifyInstance, FastifyReply } from 'fastify';
import { applyInjectedFaults } from '../control/faults.ts';
import type { SandboxContext } from '../core/context.ts';
import { OAuthErrors } from './errors.ts';
import { discoveryDocument, userInfoBody, type OAuthRuntime } from './identity.ts';

const sendJson = (reply: FastifyReply, body: unknown): FastifyReply =>
  reply
    .status(200)
    .header('content-type', 'application/json;charset=UTF-8')
    .send(JSON.stringify(body));

/** Discovery, JWKS and userinfo: the OpenID Connect half of Intuit's OAuth server. */
export function registerOpenIdEndpoints(
  app: FastifyInstance,
  ctx: SandboxContext,
  rt: OAuthRuntime,
) {
  // Intuit serves the sandbox document and the production one at two paths; the sandbox
  // is one host, so both describe it. node-quickbooks appends `/` (the router ignores it).
  for (const path of [
    '/.well-known/openid_sandbox_configuration',
    '/.well-known/openid_configuration',
  ])
    app.get(path, async (_req, reply) => sendJson(reply, discoveryDocument(ctx)));

  app.get('/op/v1/jwks', async (_req, reply) => sendJson(reply, { keys: [rt.publicJwk] }));

  app.get('/v1/openid_connect/userinfo', async (req, reply) => {
    await applyInjectedFaults(ctx, req, reply, 'userinfo');
    if (reply.sent) return reply;
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw OAuthErrors.invalidToken('A Bearer access token is required');
    const token = ctx.state.accessTokens.get(match[1]!);
    if (!token) throw OAuthErrors.invalidToken('Unknown access token');
    if (token.revoked) throw OAuthErrors.invalidToken('The access token was revoked');
    if (token.expiresAt <= ctx.state.clock.now())
      throw OAuthErrors.invalidToken('The access token expired');
    if (!token.scopes.includes('openid')) throw OAuthErrors.insufficientScope('openid');
    const sub = ctx.state.refreshTokens.get(token.refreshToken)?.userSub ?? rt.userSub;
    return sendJson(reply, userInfoBody(ctx, sub, token.scopes));
  });
}
