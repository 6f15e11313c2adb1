// Connecting a company and living with the connection: GET /connect, GET /callback,
// POST /disconnect, GET /status, POST /refresh, GET /test-connection.
import { randomBytes } from 'node:crypto';
import {
  CallbackQuery,
  ConnectResponse,
  DisconnectResponse,
  RealmQuery,
  RefreshResponse,
  StatusResponse,
  TestConnectionResponse,
  type CallbackErrorCode,
} from '@qbo-sync/contract';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { readCookie, setCookie, type AdminAuth } from '../../http/admin-auth.ts';
import { OAUTH_STATE_TTL_MS } from '../../lib/quickbooks/connection/oauth-state.ts';
import { QUICKBOOKS_PREFIX, type QuickBooksRouteDeps } from '../quickbooks.ts';
import {
  toDisconnectResponse,
  toRefreshResponse,
  toStatusResponse,
  toTestConnectionResponse,
} from './connection.mapper.ts';

/** Binds the browser that follows auth_url for bearer callers (no admin session cookie). */
export const OAUTH_BINDING_COOKIE = 'qbo_oauth_binding';

export const connectionRoutes: FastifyPluginAsyncZod<QuickBooksRouteDeps> = async (app, d) => {
  const adminPath = d.adminPath ?? '/admin';
  const admin = { onRequest: d.auth.requireAdmin };
  const realmQuery = { querystring: RealmQuery };

  app.get(
    '/connect',
    { ...admin, schema: { ...realmQuery, response: { 200: ConnectResponse } } },
    async (req, reply) => {
      const principal = req.admin!;
      // A script holding the bearer token has no session; the browser that follows auth_url
      // is bound by this cookie instead (it must be the one calling /connect).
      const sessionId =
        principal.kind === 'session'
          ? principal.sessionId
          : `nonce:${randomBytes(18).toString('base64url')}`;
      setCookie(reply, OAUTH_BINDING_COOKIE, d.auth.sign(sessionId), {
        path: QUICKBOOKS_PREFIX,
        maxAgeSec: OAUTH_STATE_TTL_MS / 1000,
        secure: d.auth.secure(req),
      });
      const started = await d.connections.startConnect(sessionId);
      return reply.send({
        auth_url: started.authUrl,
        state_expires_at: started.stateExpiresAt.toISOString(),
      });
    },
  );

  // Not admin-authenticated: the state is the proof. A malformed query still ends on the
  // admin page (attachValidation), never as a JSON error in the person's browser.
  app.get(
    '/callback',
    { attachValidation: true, schema: { querystring: CallbackQuery } },
    async (req, reply) => {
      const log = req.log.child({ route: 'callback' });
      const fail = (code: CallbackErrorCode) => redirect(reply, adminPath, { qbo_error: code });
      if (req.validationError) return fail('invalid_callback');
      const q = req.query;

      // The state is checked (and consumed) first, also on a refusal: a callback we did not
      // start must not even learn whether its error was understood.
      const checked = await d.connections.checkCallbackState(q.state, bindingOf(req, d.auth));
      reply.header('cache-control', 'no-store');
      clearBinding(reply, req, d.auth);
      if (!checked.ok) {
        log.warn({ reason: checked.reason }, 'OAuth callback refused: bad state');
        return fail(`state_${checked.reason}`);
      }
      if (q.error) {
        log.info({ error: q.error }, 'OAuth consent not given');
        return fail(q.error === 'access_denied' ? 'access_denied' : 'authorization_failed');
      }
      if (!q.code || !q.realmId) return fail('invalid_callback');

      const realmId = q.realmId;
      try {
        const done = await d.connections.completeConnect({ code: q.code, realmId });
        if (!done.ok) {
          const err = done.error as Error;
          log.warn(
            { err: { name: err.name, message: err.message }, realmId, reason: done.reason },
            'OAuth callback refused: nothing was stored',
          );
          return fail(done.reason);
        }
        log.info({ realmId }, 'QuickBooks company connected');
        return redirect(reply, adminPath, { qbo_connected: 'true', realmId });
      } catch (err) {
        log.error({ err, realmId }, 'storing the new connection failed');
        return fail('internal_error');
      }
    },
  );

  app.post(
    '/disconnect',
    { ...admin, schema: { ...realmQuery, response: { 200: DisconnectResponse } } },
    async (req, reply) =>
      reply.send(toDisconnectResponse(await d.connections.disconnect(req.query.realmId))),
  );

  app.get(
    '/status',
    { ...admin, schema: { ...realmQuery, response: { 200: StatusResponse } } },
    async (req, reply) =>
      reply.send(toStatusResponse(await d.connections.status(req.query.realmId))),
  );

  app.post(
    '/refresh',
    { ...admin, schema: { ...realmQuery, response: { 200: RefreshResponse } } },
    async (req, reply) =>
      reply.send(toRefreshResponse(await d.connections.refresh(req.query.realmId))),
  );

  // One CompanyInfo read, timed. When QBO fails the probe the answer is still 200, ok:false:
  // the probe ran and that is its result.
  app.get(
    '/test-connection',
    { ...admin, schema: { ...realmQuery, response: { 200: TestConnectionResponse } } },
    async (req, reply) =>
      reply.send(toTestConnectionResponse(await d.connections.probe(req.query.realmId))),
  );
};

/** The id the state was bound to: the binding cookie, else the admin session. */
function bindingOf(req: FastifyRequest, auth: AdminAuth): string | null {
  return auth.unsign(readCookie(req, OAUTH_BINDING_COOKIE)) ?? auth.sessionOf(req);
}

function clearBinding(reply: FastifyReply, req: FastifyRequest, auth: AdminAuth): void {
  setCookie(reply, OAUTH_BINDING_COOKIE, '', {
    path: QUICKBOOKS_PREFIX,
    maxAgeSec: 0,
    secure: auth.secure(req),
  });
}

function redirect(reply: FastifyReply, path: string, params: Record<string, string>): FastifyReply {
  return reply.redirect(`${path}?${new URLSearchParams(params).toString()}`, 302);
}
