import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { SandboxContext } from '../core/context.ts';
import type { AppRecord } from '../core/state.ts';
import { rawText } from './body.ts';
import { renderConsentPage, renderErrorPage } from './consent-page.ts';
import type { OAuthRuntime } from './identity.ts';
import { needsCompany, parseScopes } from './scopes.ts';

type Params = Record<string, string>;

/** The outcome of checking an authorize request, in RFC 6749 §4.1.2.1's order. */
type Checked =
  | { kind: 'page'; title: string; detail: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'ok'; app: AppRecord; scopes: string[] };

/**
 * Reads parameters keeping the first of each, and notes the repeated ones
 * (RFC 6749 §3.1: parameters "MUST NOT be included more than once").
 */
function readParams(search: URLSearchParams): { params: Params; repeated: string[] } {
  const params: Params = {};
  const repeated: string[] = [];
  for (const [k, v] of search) {
    if (Object.hasOwn(params, k)) repeated.push(k);
    else params[k] = v;
  }
  return { params, repeated };
}

/** `redirect_uri` plus parameters, keeping a query it already has. */
function redirectTo(redirectUri: string, add: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(add)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}

function check(ctx: SandboxContext, params: Params, repeated: string[]): Checked {
  const clientId = params.client_id;
  const app = clientId ? ctx.state.apps.get(clientId) : undefined;
  if (!clientId || repeated.includes('client_id'))
    return {
      kind: 'page',
      title: 'Invalid request',
      detail: 'The client_id parameter is missing.',
    };
  if (!app)
    return {
      kind: 'page',
      title: 'Unknown app',
      detail: `No app with client_id ${clientId} is registered with this sandbox.`,
    };
  const redirectUri = params.redirect_uri;
  if (!redirectUri || repeated.includes('redirect_uri'))
    return {
      kind: 'page',
      title: 'Invalid request',
      detail: 'The redirect_uri parameter is missing.',
    };
  if (!app.redirectUris.includes(redirectUri) || !URL.canParse(redirectUri))
    return {
      kind: 'page',
      title: 'Redirect URI not registered',
      detail: `The redirect_uri ${redirectUri} is not one of the redirect URIs registered for ${app.name}.`,
    };
  // From here the redirect URI is trusted, so errors go back to the app (RFC 6749 §4.1.2.1).
  const fail = (error: string, description: string): Checked => ({
    kind: 'redirect',
    location: redirectTo(redirectUri, {
      error,
      error_description: description,
      state: params.state,
    }),
  });
  if (repeated.length > 0) return fail('invalid_request', `repeated parameter ${repeated[0]}`);
  if (!params.response_type) return fail('invalid_request', 'response_type is required');
  if (params.response_type !== 'code')
    return fail('unsupported_response_type', 'response_type must be code');
  const scopes = parseScopes(params.scope);
  if (!scopes) return fail('invalid_scope', 'scope is empty or names an unknown scope');
  return { kind: 'ok', app, scopes };
}

function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply
    .status(status)
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY')
    .header('content-type', 'text/html; charset=utf-8')
    .send(html);
}

/**
 * Authorize: `GET /connect/oauth2` renders the consent page, its form POSTs back to the same
 * path. Connect → `redirect_uri?code&state&realmId`, Cancel → `?error=access_denied&state`
 * (intuit-oauth src/OAuthClient.js; docs oauth-2.0).
 */
export function registerAuthorize(app: FastifyInstance, ctx: SandboxContext, rt: OAuthRuntime) {
  const page = (
    reply: FastifyReply,
    status: number,
    params: Params,
    scopes: string[],
    appRecord: AppRecord,
    error?: string,
  ): FastifyReply => {
    const companies = needsCompany(scopes) ? [...ctx.state.companies.values()] : null;
    return sendPage(
      reply,
      status,
      renderConsentPage({
        appName: appRecord.name,
        userEmail: ctx.config.oauth.user.email,
        params: {
          client_id: params.client_id!,
          redirect_uri: params.redirect_uri!,
          response_type: params.response_type!,
          scope: params.scope!,
          ...(params.state !== undefined ? { state: params.state } : {}),
        },
        scopes,
        companies,
        // Extension for automation: `realmId` in the query preselects that company.
        ...(params.realmId ? { selectedRealmId: params.realmId } : {}),
        ...(error ? { error } : {}),
      }),
    );
  };

  app.get('/connect/oauth2', async (req, reply) => {
    const { params, repeated } = readParams(new URL(req.url, 'http://sandbox').searchParams);
    const checked = check(ctx, params, repeated);
    if (checked.kind === 'page')
      return sendPage(reply, 400, renderErrorPage(checked.title, checked.detail));
    if (checked.kind === 'redirect') return reply.redirect(checked.location, 302);
    return page(reply, 200, params, checked.scopes, checked.app);
  });

  app.post('/connect/oauth2', async (req, reply) => {
    const { params, repeated } = readParams(new URLSearchParams(rawText(req)));
    const checked = check(ctx, params, repeated);
    if (checked.kind === 'page')
      return sendPage(reply, 400, renderErrorPage(checked.title, checked.detail));
    if (checked.kind === 'redirect') return reply.redirect(checked.location, 302);
    const { scopes } = checked;
    const redirectUri = params.redirect_uri!;
    if (params.action === 'cancel')
      return reply.redirect(
        redirectTo(redirectUri, { error: 'access_denied', state: params.state }),
        302,
      );
    if (params.action !== 'connect')
      return page(reply, 400, params, scopes, checked.app, 'Choose Connect or Cancel.');
    let realmId = '';
    if (needsCompany(scopes)) {
      realmId = params.realmId ?? '';
      if (!ctx.state.companies.has(realmId))
        return page(reply, 400, params, scopes, checked.app, 'Choose a company to connect.');
    }
    const now = ctx.state.clock.now();
    for (const [c, rec] of ctx.state.authCodes)
      if (rec.expiresAt < now - 3600_000) {
        ctx.state.authCodes.delete(c);
        rt.consentedAt.delete(c);
      }
    // Intuit's codes look like AB11<epoch seconds><random>.
    const code = `AB11${Math.floor(now / 1000)}${randomBytes(24).toString('base64url')}`;
    ctx.state.authCodes.set(code, {
      code,
      clientId: checked.app.clientId,
      redirectUri,
      realmId,
      scopes,
      expiresAt: now + ctx.config.authCodeTtlSec * 1000,
      used: false,
      userSub: rt.userSub,
    });
    rt.consentedAt.set(code, now);
    return reply.redirect(
      redirectTo(redirectUri, { code, state: params.state, realmId: realmId || undefined }),
      302,
    );
  });
}
