import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { SandboxContext } from '../core/context.ts';
import type { AccessTokenRecord, RefreshTokenRecord } from '../core/state.ts';
import { rawText } from './body.ts';
import { signIdToken, type OAuthRuntime } from './identity.ts';
import { needsCompany, parseScopes } from './scopes.ts';
import { issueTokens, revokeGrant, tokenResponseBody } from './tokens.ts';

const MintBody = z.strictObject({
  clientId: z.string().min(1),
  realmId: z.string().min(1),
  scopes: z.array(z.string()).min(1).optional(),
});

const SelectorBody = z
  .strictObject({
    accessToken: z.string().min(1).optional(),
    refreshToken: z.string().min(1).optional(),
    realmId: z.string().min(1).optional(),
  })
  .refine((b) => Object.keys(b).length === 1, {
    message: 'give exactly one of accessToken, refreshToken, realmId',
  });

class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function parseBody<T>(req: FastifyRequest, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(rawText(req) || '{}');
  } catch {
    throw new ControlError(400, 'invalid_request', 'The body must be JSON');
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    throw new ControlError(400, 'invalid_request', `${where}${issue.message}`);
  }
  return result.data;
}

const sendJson = (reply: FastifyReply, status: number, body: unknown): FastifyReply =>
  reply.status(status).header('content-type', 'application/json').send(JSON.stringify(body));

interface Selected {
  access: AccessTokenRecord[];
  refresh: RefreshTokenRecord[];
}

function select(
  ctx: SandboxContext,
  body: { accessToken?: string; refreshToken?: string; realmId?: string },
): Selected {
  const { state } = ctx;
  if (body.accessToken) {
    const at = state.accessTokens.get(body.accessToken);
    if (!at) throw new ControlError(404, 'not_found', 'No such access token');
    return { access: [at], refresh: [] };
  }
  if (body.refreshToken) {
    const rt = state.refreshTokens.get(body.refreshToken);
    if (!rt) throw new ControlError(404, 'not_found', 'No such refresh token');
    return { access: [], refresh: [rt] };
  }
  const realmId = body.realmId!;
  if (!state.companies.has(realmId))
    throw new ControlError(404, 'not_found', `No company with realmId ${realmId}`);
  return {
    access: [...state.accessTokens.values()].filter((t) => t.realmId === realmId),
    refresh: [...state.refreshTokens.values()].filter((t) => t.realmId === realmId),
  };
}

/** `/_sandbox/tokens…`: mint, expire and revoke tokens without a browser, for tests and scripts. */
export function registerTokenControl(app: FastifyInstance, ctx: SandboxContext, rt: OAuthRuntime) {
  const { state } = ctx;

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ControlError)
      return sendJson(reply, err.status, { error: err.code, error_description: err.message });
    throw err;
  });

  app.post('/_sandbox/tokens', async (req, reply) => {
    const body = parseBody(req, MintBody);
    if (!state.apps.has(body.clientId))
      throw new ControlError(400, 'invalid_request', `No app with clientId ${body.clientId}`);
    const scopes = parseScopes((body.scopes ?? ['com.intuit.quickbooks.accounting']).join(' '));
    if (!scopes) throw new ControlError(400, 'invalid_request', 'scopes names an unknown scope');
    if (needsCompany(scopes) && !state.companies.has(body.realmId))
      throw new ControlError(400, 'invalid_request', `No company with realmId ${body.realmId}`);
    const issued = issueTokens(ctx, {
      clientId: body.clientId,
      realmId: body.realmId,
      scopes,
      userSub: rt.userSub,
    });
    rt.authTimes.set(issued.refresh.grantId, state.clock.now());
    const idToken = scopes.includes('openid') ? await signIdToken(ctx, rt, issued.refresh) : '';
    const includeHardExpiry =
      String(req.headers['x-include-refresh-token-hard-expires-in'] ?? '').toLowerCase() === 'true';
    return sendJson(
      reply,
      200,
      tokenResponseBody(issued, { includeHardExpiry, ...(idToken ? { idToken } : {}) }),
    );
  });

  app.post('/_sandbox/tokens/expire', async (req, reply) => {
    const sel = select(ctx, parseBody(req, SelectorBody));
    const now = state.clock.now();
    for (const t of sel.access) t.expiresAt = Math.min(t.expiresAt, now);
    for (const t of sel.refresh) t.expiresAt = Math.min(t.expiresAt, now);
    return sendJson(reply, 200, {
      expired: { accessTokens: sel.access.length, refreshTokens: sel.refresh.length },
    });
  });

  // An access token alone is revoked alone (to test a dead access token with a live refresh
  // token); a refresh token takes its whole grant with it, as Intuit's revoke endpoint does.
  app.post('/_sandbox/tokens/revoke', async (req, reply) => {
    const sel = select(ctx, parseBody(req, SelectorBody));
    for (const t of sel.access) t.revoked = true;
    for (const t of sel.refresh) revokeGrant(ctx, t.grantId);
    return sendJson(reply, 200, {
      revoked: { accessTokens: sel.access.length, refreshTokens: sel.refresh.length },
    });
  });
}
