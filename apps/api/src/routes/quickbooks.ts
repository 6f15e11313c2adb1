// /api/quickbooks: connect, callback, disconnect, status, refresh, test-connection,
// request-log, metrics. Admin-authenticated except /callback (protected by `state`).
// Every route takes an optional `realmId`; without it the most recently connected company
// is meant. Input is validated with the schemas of @qbo-sync/contract; errors go through the
// one handler in http/errors.ts. Reference: docs/api.md.
import { randomBytes } from 'node:crypto';
import {
  CallbackQuery,
  RealmQuery,
  RequestLogQuery,
  type CallbackErrorCode,
  type ConnectResponse,
  type DisconnectResponse,
  type RefreshResponse,
  type RequestLogResponse,
  type TestConnectionResponse,
} from '@qbo-sync/contract';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type pino from 'pino';
import type { Database, QboConnection, QboEnvironment } from '../db/schema.ts';
import type { AdminAuth } from '../http/admin-auth.ts';
import { readCookie, setCookie } from '../http/admin-auth.ts';
import { HttpError, parseInput, toHttpError } from '../http/errors.ts';
import type { QboApiClient } from '../lib/quickbooks/client/api-client.ts';
import {
  upsertConnection,
  markDisconnected,
} from '../lib/quickbooks/connection/connections.repo.ts';
import { computeMetrics } from '../lib/quickbooks/metrics.ts';
import type { QboOAuth } from '../lib/quickbooks/connection/oauth.ts';
import {
  OAUTH_STATE_TTL_MS,
  consumeOAuthState,
  createOAuthState,
} from '../lib/quickbooks/connection/oauth-state.ts';
import type { Clock } from '../lib/quickbooks/ports.ts';
import { listRequestLog } from '../lib/quickbooks/client/request-log.ts';
import { connectionStatus, mirrorRowCount, resolveRealm } from '../lib/quickbooks/status.ts';
import type { TokenStore } from '../lib/quickbooks/connection/token-store.ts';
import { toMetricsResponse } from './quickbooks/metrics.mapper.ts';
import { toRequestLogEntry, toRequestLogFilter } from './quickbooks/request-log.mapper.ts';
import { toStatusResponse, toTokenExpiries } from './quickbooks/status.mapper.ts';

export interface QuickBooksRouteDeps {
  db: Kysely<Database>;
  clock: Clock;
  logger: pino.Logger;
  auth: AdminAuth;
  /** Builds the consent URL and exchanges codes (its token calls are logged as exchanges). */
  oauth: Pick<QboOAuth, 'authorizeUrl' | 'exchangeCode'>;
  tokens: Pick<TokenStore, 'saveTokens' | 'refresh' | 'revokeAndWipe' | 'status'>;
  api: Pick<QboApiClient, 'companyInfo'>;
  /** HMAC key for OAuth states (deriveOAuthStateSecret). */
  stateSecret: Buffer;
  environment: QboEnvironment;
  scopes: string[];
  /** Where /callback sends the browser; default `/admin`. */
  adminPath?: string;
}

/** Binds the browser that follows auth_url for bearer callers (no admin session cookie). */
export const OAUTH_BINDING_COOKIE = 'qbo_oauth_binding';
const PREFIX = '/api/quickbooks';

export function registerQuickBooksRoutes(app: FastifyInstance, d: QuickBooksRouteDeps): void {
  const adminPath = d.adminPath ?? '/admin';
  const admin = { preHandler: d.auth.requireAdmin };

  /** The connection a request names (or the default one); 404 for an unknown realm. */
  async function pick(realmId: string | undefined): Promise<QboConnection | null> {
    const r = await resolveRealm(d.db, realmId);
    if (r.kind === 'unknown') {
      throw new HttpError(
        'realm_not_found',
        `no QuickBooks company with realmId ${r.realmId} is known to this service; GET ${PREFIX}/status lists the connected ones`,
        { realm_id: r.realmId },
      );
    }
    return r.kind === 'found' ? r.connection : null;
  }

  /** Like `pick`, but the operation needs a connection that still has its grant. */
  async function pickConnected(realmId: string | undefined): Promise<QboConnection> {
    const c = await pick(realmId);
    if (!c) {
      throw new HttpError(
        'not_connected',
        `no QuickBooks company is connected; connect one with GET ${PREFIX}/connect`,
      );
    }
    if (c.status === 'disconnected') {
      throw new HttpError(
        'not_connected',
        `QuickBooks company ${c.realm_id} was disconnected; reconnect it with GET ${PREFIX}/connect`,
        { realm_id: c.realm_id },
      );
    }
    return c;
  }

  // ---------------------------------------------------------------------------------------
  // GET /connect → { auth_url }

  app.get(`${PREFIX}/connect`, admin, async (req, reply) => {
    parseInput(RealmQuery, req.query, 'query');
    const now = d.clock.now();
    const principal = req.admin!;
    let sessionId: string;
    if (principal.kind === 'session') {
      sessionId = principal.sessionId;
    } else {
      // A script holding the bearer token has no session; the browser that follows
      // auth_url is bound by this cookie instead (it must be the one calling /connect).
      sessionId = `nonce:${randomBytes(18).toString('base64url')}`;
    }
    setCookie(reply, OAUTH_BINDING_COOKIE, d.auth.sign(sessionId), {
      path: PREFIX,
      maxAgeSec: OAUTH_STATE_TTL_MS / 1000,
      secure: d.auth.secure(req),
    });
    const state = await createOAuthState(d.db, { sessionId, now, secret: d.stateSecret });
    const body: ConnectResponse = {
      auth_url: d.oauth.authorizeUrl(state),
      state_expires_at: new Date(now + OAUTH_STATE_TTL_MS).toISOString(),
    };
    return reply.send(body);
  });

  // ---------------------------------------------------------------------------------------
  // GET /callback (not admin-authenticated: the state is the proof)

  app.get(`${PREFIX}/callback`, async (req, reply) => {
    const log = req.log.child({ route: 'callback' });
    const fail = (code: CallbackErrorCode) => redirect(reply, adminPath, { qbo_error: code });
    const parsed = CallbackQuery.safeParse(req.query ?? {});
    if (!parsed.success) return fail('invalid_callback');
    const q = parsed.data;

    // The state is checked (and consumed) first, also on a refusal: a callback we did not
    // start must not even learn whether its error was understood.
    const sessionId = bindingOf(req, d.auth);
    const checked = await consumeOAuthState(d.db, q.state, {
      sessionId: sessionId ?? '',
      now: d.clock.now(),
      secret: d.stateSecret,
    });
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
    let tokens;
    try {
      tokens = await d.oauth.exchangeCode({ code: q.code, realmId });
    } catch (err) {
      log.warn(
        { err: { name: (err as Error).name, message: (err as Error).message }, realmId },
        'code exchange failed',
      );
      return fail('token_exchange_failed');
    }
    try {
      const now = new Date(d.clock.now());
      await upsertConnection(d.db, { realmId, environment: d.environment, scopes: d.scopes, now });
      await d.tokens.saveTokens(realmId, tokens);
      // The company name is what the admin page shows; a failure here does not undo the
      // connection (the tokens are good) — the name is filled on the next reconnect.
      try {
        const info = await d.api.companyInfo(realmId);
        const name = typeof info.CompanyName === 'string' ? info.CompanyName : null;
        await upsertConnection(d.db, { realmId, companyName: name, now });
      } catch (err) {
        log.warn(
          { err: { name: (err as Error).name, message: (err as Error).message }, realmId },
          'CompanyInfo read failed after connect',
        );
      }
      log.info({ realmId }, 'QuickBooks company connected');
      return redirect(reply, adminPath, { qbo_connected: 'true', realmId });
    } catch (err) {
      log.error({ err, realmId }, 'storing the new connection failed');
      return fail('internal_error');
    }
  });

  // ---------------------------------------------------------------------------------------
  // POST /disconnect

  app.post(`${PREFIX}/disconnect`, admin, async (req, reply) => {
    const { realmId } = parseInput(RealmQuery, req.query, 'query');
    const c = await pickConnected(realmId);
    await d.tokens.revokeAndWipe(c.realm_id);
    const at = new Date(d.clock.now());
    await markDisconnected(d.db, c.realm_id, at);
    const logRows = await d.db
      .selectFrom('qbo_request_log')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('realm_id', '=', c.realm_id)
      .executeTakeFirstOrThrow();
    const body: DisconnectResponse = {
      realm_id: c.realm_id,
      status: 'disconnected',
      disconnected_at: at.toISOString(),
      kept: {
        mirror_rows: await mirrorRowCount(d.db, c.realm_id),
        request_log_rows: Number(logRows.n),
      },
    };
    return reply.send(body);
  });

  // ---------------------------------------------------------------------------------------
  // GET /status

  app.get(`${PREFIX}/status`, admin, async (req, reply) => {
    const { realmId } = parseInput(RealmQuery, req.query, 'query');
    const c = await pick(realmId);
    return reply.send(toStatusResponse(await connectionStatus(d.db, c, { now: d.clock.now() })));
  });

  // ---------------------------------------------------------------------------------------
  // POST /refresh

  app.post(`${PREFIX}/refresh`, admin, async (req, reply) => {
    const { realmId } = parseInput(RealmQuery, req.query, 'query');
    const c = await pickConnected(realmId);
    const result = await d.tokens.refresh(c.realm_id, { force: true, reason: 'manual' });
    const s = await d.tokens.status(c.realm_id);
    if (!s) throw new HttpError('not_connected', `no tokens are stored for ${c.realm_id}`);
    const body: RefreshResponse = {
      realm_id: c.realm_id,
      result,
      tokens: toTokenExpiries(s),
      last_refresh_at: s.lastRefreshAt?.toISOString() ?? null,
    };
    return reply.send(body);
  });

  // ---------------------------------------------------------------------------------------
  // GET /test-connection: one CompanyInfo read, timed

  app.get(`${PREFIX}/test-connection`, admin, async (req, reply) => {
    const { realmId } = parseInput(RealmQuery, req.query, 'query');
    const c = await pickConnected(realmId);
    const started = performance.now();
    const checkedAt = new Date(d.clock.now()).toISOString();
    let body: TestConnectionResponse;
    try {
      const info = await d.api.companyInfo(c.realm_id);
      body = {
        ok: true,
        realm_id: c.realm_id,
        company_name: typeof info.CompanyName === 'string' ? info.CompanyName : c.company_name,
        latency_ms: Math.round(performance.now() - started),
        checked_at: checkedAt,
      };
    } catch (err) {
      // The probe ran and QBO said no: that is its answer (200, ok:false), not our failure.
      const e = toHttpError(err);
      if (e.code === 'internal_error') throw err;
      body = {
        ok: false,
        realm_id: c.realm_id,
        company_name: c.company_name,
        latency_ms: Math.round(performance.now() - started),
        checked_at: checkedAt,
        error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) },
      };
    }
    return reply.send(body);
  });

  // ---------------------------------------------------------------------------------------
  // GET /request-log

  app.get(`${PREFIX}/request-log`, admin, async (req, reply) => {
    const q = parseInput(RequestLogQuery, req.query, 'query');
    const c = await pick(q.realmId);
    const page = await listRequestLog(d.db, toRequestLogFilter(q, c?.realm_id ?? null));
    const body: RequestLogResponse = {
      logs: page.logs.map(toRequestLogEntry),
      next_cursor: page.nextCursor,
    };
    return reply.send(body);
  });

  // ---------------------------------------------------------------------------------------
  // GET /metrics

  app.get(`${PREFIX}/metrics`, admin, async (req, reply) => {
    const { realmId } = parseInput(RealmQuery, req.query, 'query');
    const c = await pick(realmId);
    return reply.send(toMetricsResponse(await computeMetrics(d.db, c, { now: d.clock.now() })));
  });
}

/** The id the state was bound to: the binding cookie, else the admin session. */
function bindingOf(req: FastifyRequest, auth: AdminAuth): string | null {
  return auth.unsign(readCookie(req, OAUTH_BINDING_COOKIE)) ?? auth.sessionOf(req);
}

function clearBinding(reply: FastifyReply, req: FastifyRequest, auth: AdminAuth): void {
  setCookie(reply, OAUTH_BINDING_COOKIE, '', {
    path: PREFIX,
    maxAgeSec: 0,
    secure: auth.secure(req),
  });
}

function redirect(reply: FastifyReply, path: string, params: Record<string, string>): FastifyReply {
  return reply.redirect(`${path}?${new URLSearchParams(params).toString()}`, 302);
}
