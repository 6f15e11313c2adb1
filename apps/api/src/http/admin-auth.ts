// Admin authentication: `Authorization: Bearer $ADMIN_API_TOKEN` for scripts, or, for
// browsers, a signed session cookie obtained by posting that token to /api/admin/session.
// Sessions are stateless (HMAC-signed id + expiry): nothing to store, and changing
// ADMIN_API_TOKEN ends every session because the signing key is derived from it. Logging
// out clears the browser's cookie; a copied cookie stays valid until it expires (12 h).
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SessionBody, SessionResponse } from '@qbo-sync/contract';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { HOUR_MS, type Clock } from '../lib/quickbooks/ports.ts';
import { HttpError } from './errors.ts';

export const SESSION_COOKIE = 'qbo_admin_session';
export const DEFAULT_SESSION_TTL_MS = 12 * HOUR_MS;

export type AdminPrincipal = { kind: 'bearer' } | { kind: 'session'; sessionId: string };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the admin onRequest hook on admin routes. */
    admin: AdminPrincipal | null;
  }
}

export interface AdminAuthOptions {
  adminApiToken: string;
  clock: Clock;
  sessionTtlMs?: number;
  /** Mark cookies `Secure`: `auto` = when the request came over https. */
  secureCookies?: boolean | 'auto';
  /** Wrong tokens one address may post to /api/admin/session per window before it waits. */
  loginAttempts?: number;
  loginWindowMs?: number;
}

export const DEFAULT_LOGIN_ATTEMPTS = 10;
export const DEFAULT_LOGIN_WINDOW_MS = 15 * 60_000;

export class AdminAuth {
  readonly #token: Buffer;
  readonly #key: Buffer;
  readonly #clock: Clock;
  readonly sessionTtlMs: number;
  readonly #secure: boolean | 'auto';
  /** Wrong login tokens per client address (per process: a slowdown, not an account lock). */
  readonly #failedLogins: RateLimiterMemory;

  constructor(opts: AdminAuthOptions) {
    const windowSec = Math.ceil((opts.loginWindowMs ?? DEFAULT_LOGIN_WINDOW_MS) / 1000);
    this.#failedLogins = new RateLimiterMemory({
      points: opts.loginAttempts ?? DEFAULT_LOGIN_ATTEMPTS,
      duration: windowSec,
      blockDuration: windowSec,
    });
    this.#token = Buffer.from(opts.adminApiToken, 'utf8');
    this.#key = createHmac('sha256', opts.adminApiToken).update('qbo-sync cookie key v1').digest();
    this.#clock = opts.clock;
    this.sessionTtlMs = opts.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    this.#secure = opts.secureCookies ?? 'auto';
  }

  /**
   * Seconds `address` must wait before its next login attempt (0: it may try now). Counted
   * only from wrong tokens; bearer requests are never slowed.
   */
  async loginWaitSeconds(address: string): Promise<number> {
    const r = await this.#failedLogins.get(address);
    return r && r.remainingPoints <= 0 && r.msBeforeNext > 0 ? Math.ceil(r.msBeforeNext / 1000) : 0;
  }

  async recordLogin(address: string, ok: boolean): Promise<void> {
    if (ok) {
      await this.#failedLogins.delete(address);
      return;
    }
    // Past the limit consume rejects (and starts the block); the next attempt is refused.
    await this.#failedLogins.consume(address).catch(() => {});
  }

  /** Constant-time comparison that also hides the token's length. */
  tokenMatches(candidate: string): boolean {
    const a = createHmac('sha256', this.#key).update(candidate, 'utf8').digest();
    const b = createHmac('sha256', this.#key).update(this.#token).digest();
    return timingSafeEqual(a, b);
  }

  /** `value.signature`, for cookies only this server may mint. */
  sign(value: string): string {
    return `${value}.${this.#mac(value)}`;
  }

  /** The value if the signature is ours, else null. */
  unsign(signed: string | undefined): string | null {
    if (!signed) return null;
    const dot = signed.lastIndexOf('.');
    if (dot <= 0) return null;
    const value = signed.slice(0, dot);
    const given = Buffer.from(signed.slice(dot + 1), 'utf8');
    const want = Buffer.from(this.#mac(value), 'utf8');
    return given.length === want.length && timingSafeEqual(given, want) ? value : null;
  }

  #mac(value: string): string {
    return createHmac('sha256', this.#key).update(value, 'utf8').digest('base64url');
  }

  newSession(): { sessionId: string; expiresAt: Date; cookieValue: string } {
    const sessionId = randomBytes(18).toString('base64url');
    const expiresAt = new Date(this.#clock.now() + this.sessionTtlMs);
    return { sessionId, expiresAt, cookieValue: this.sign(`${sessionId}.${expiresAt.getTime()}`) };
  }

  /** The session id carried by a valid, unexpired session cookie. */
  sessionOf(req: FastifyRequest): string | null {
    const value = this.unsign(readCookie(req, SESSION_COOKIE));
    if (!value) return null;
    const [sessionId, exp] = value.split('.');
    if (!sessionId || !exp || !/^\d+$/.test(exp) || Number(exp) <= this.#clock.now()) return null;
    return sessionId;
  }

  authenticate(req: FastifyRequest): AdminPrincipal | null {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      // A wrong bearer token fails even when a valid cookie is present: the caller meant it.
      return m && this.tokenMatches(m[1]!) ? { kind: 'bearer' } : null;
    }
    const sessionId = this.sessionOf(req);
    return sessionId ? { kind: 'session', sessionId } : null;
  }

  secure(req: FastifyRequest): boolean {
    return this.#secure === 'auto' ? req.protocol === 'https' : this.#secure;
  }

  /**
   * onRequest hook for admin routes: 401 without valid credentials. It runs before the
   * request is parsed or validated, so an unauthenticated caller learns nothing about them.
   */
  readonly requireAdmin = async (req: FastifyRequest): Promise<void> => {
    const principal = this.authenticate(req);
    if (!principal) {
      throw new HttpError(
        'unauthorized',
        req.headers.authorization !== undefined
          ? 'the bearer token is not this service’s ADMIN_API_TOKEN'
          : 'admin authentication required: send "Authorization: Bearer <ADMIN_API_TOKEN>" or log in with POST /api/admin/session',
      );
    }
    // Cookies ride along on cross-site requests; SameSite=Lax already withholds them from
    // cross-site POSTs, and this refuses any unsafe request not shown to come from this
    // service's own pages: by Origin, or by Referer when a browser sent no Origin.
    if (principal.kind === 'session' && !SAFE_METHODS.has(req.method)) {
      const refusal = crossOriginRefusal(req);
      if (refusal) throw new HttpError('cross_origin_request', refusal);
    }
    req.admin = principal;
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Why a cookie-authenticated unsafe request is refused, or null when it came from our pages. */
function crossOriginRefusal(req: FastifyRequest): string | null {
  const { origin, referer } = req.headers;
  const source = origin ?? referer;
  if (source === undefined) {
    return 'cookie-authenticated requests must carry an Origin or Referer header from this service’s own pages (send the bearer token from scripts)';
  }
  // req.host: the Host the browser used, also behind a trusted proxy (X-Forwarded-Host).
  if (hostOf(source) === req.host) return null;
  return origin !== undefined
    ? 'cookie-authenticated requests must come from this service’s own pages (Origin mismatch)'
    : 'cookie-authenticated requests must come from this service’s own pages (Referer mismatch)';
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------
// Cookies (tiny on purpose: we set three cookies, all with the same attributes)

export function readCookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export interface CookieOptions {
  path: string;
  maxAgeSec: number;
  secure: boolean;
}

export function setCookie(
  reply: FastifyReply,
  name: string,
  value: string,
  o: CookieOptions,
): void {
  const parts = [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${o.path}`,
    `Max-Age=${Math.max(0, Math.floor(o.maxAgeSec))}`,
    'HttpOnly',
    // Lax (not Strict): the browser must send the cookie on Intuit's top-level redirect to
    // /callback, which comes from another site.
    'SameSite=Lax',
  ];
  if (o.secure) parts.push('Secure');
  const prev = reply.getHeader('set-cookie');
  const list = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
  reply.header('set-cookie', [...list, parts.join('; ')]);
}

// ---------------------------------------------------------------------------------------
// Routes: POST /api/admin/session (log in), DELETE /api/admin/session (log out)

export function registerAdminSessionRoutes(app: FastifyInstance, auth: AdminAuth): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/admin/session',
    {
      // Before the schema sees it: a text body is the wrong media type (not a bad field), and
      // no body at all is an empty object, so the answer names the missing token.
      preValidation: async (req) => {
        if (typeof req.body === 'string') {
          throw new HttpError(
            'unsupported_media_type',
            'send {"token":"<ADMIN_API_TOKEN>"} as application/json',
          );
        }
        if (req.body === undefined || req.body === null) (req as { body: unknown }).body = {};
      },
      schema: { body: SessionBody, response: { 200: SessionResponse } },
    },
    async (req, reply) => {
      const wait = await auth.loginWaitSeconds(req.ip);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        throw new HttpError(
          'too_many_attempts',
          `too many wrong admin tokens from this address; try again in ${Math.ceil(wait / 60)} minute(s)`,
        );
      }
      const ok = auth.tokenMatches(req.body.token);
      await auth.recordLogin(req.ip, ok);
      if (!ok) {
        throw new HttpError('invalid_admin_token', 'that is not this service’s ADMIN_API_TOKEN');
      }
      const s = auth.newSession();
      setCookie(reply, SESSION_COOKIE, s.cookieValue, {
        path: '/',
        maxAgeSec: auth.sessionTtlMs / 1000,
        secure: auth.secure(req),
      });
      return reply.code(200).send({ authenticated: true, expires_at: s.expiresAt.toISOString() });
    },
  );

  app.delete('/api/admin/session', async (req, reply) => {
    setCookie(reply, SESSION_COOKIE, '', { path: '/', maxAgeSec: 0, secure: auth.secure(req) });
    return reply.code(204).send();
  });
}
