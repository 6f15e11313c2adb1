import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onSendAsyncHookHandler } from 'fastify';
import type { SandboxContext } from '../core/context.ts';
import { Faults, QboFault } from '../core/faults.ts';
import { OAuthError } from '../oauth/errors.ts';
import { recordThrottle } from '../limits/limiter.ts';
import type { FaultRule, FaultRuleInput, FaultSurface } from './fault-rules.ts';

export type { FaultSurface } from './fault-rules.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Faults injected into this request (control API), read by the onSend hook and journal. */
    injected?: { faults: { id: string; kind: string }[]; latencyMs: number; drop: boolean };
  }
}

interface StoredRule extends FaultRule {
  regex?: RegExp;
  createdAtMs: number;
  expiresAtMs?: number;
}

/** Rules plus the requests a `timeout` fault is holding (released when the sandbox closes). */
class FaultStore {
  readonly rules = new Map<string, StoredRule>();
  readonly held = new Set<() => void>();

  close(): void {
    for (const release of [...this.held]) release();
  }
}

const store = (ctx: SandboxContext): FaultStore =>
  ctx.state.extension('faults', () => new FaultStore());

export function addFaultRule(ctx: SandboxContext, input: FaultRuleInput): FaultRule {
  const now = ctx.state.clock.now();
  const rule: StoredRule = {
    ...input,
    id: randomUUID(),
    createdAt: new Date(now).toISOString(),
    createdAtMs: now,
    hits: 0,
    active: true,
    ...(input.count !== undefined ? { remaining: input.count } : {}),
    ...(input.pathRegex ? { regex: new RegExp(input.pathRegex, 'i') } : {}),
  };
  if (input.durationMs !== undefined) {
    rule.expiresAtMs = now + input.durationMs;
    rule.expiresAt = new Date(rule.expiresAtMs).toISOString();
  }
  store(ctx).rules.set(rule.id, rule);
  return publicRule(rule, now);
}

export function listFaultRules(ctx: SandboxContext): FaultRule[] {
  const now = ctx.state.clock.now();
  return [...store(ctx).rules.values()].map((r) => publicRule(r, now));
}

export function getFaultRule(ctx: SandboxContext, id: string): FaultRule | undefined {
  const r = store(ctx).rules.get(id);
  return r && publicRule(r, ctx.state.clock.now());
}

/** Removes one rule (true if it existed) or, without an id, all of them. */
export function deleteFaultRules(ctx: SandboxContext, id?: string): boolean {
  const rules = store(ctx).rules;
  if (id === undefined) {
    rules.clear();
    return true;
  }
  return rules.delete(id);
}

function isActive(r: StoredRule, now: number): boolean {
  if (r.remaining !== undefined && r.remaining <= 0) return false;
  return r.expiresAtMs === undefined || now < r.expiresAtMs;
}

function publicRule(r: StoredRule, now: number): FaultRule {
  const { regex: _regex, createdAtMs: _c, expiresAtMs: _e, ...rest } = r;
  return { ...rest, active: isActive(r, now) };
}

/** Who is calling, as far as the surface tells: the Accounting guard has already resolved it. */
function callerOf(
  ctx: SandboxContext,
  req: FastifyRequest,
  surface: FaultSurface,
): { realmId?: string; clientId?: string } {
  if (req.qbo) return req.qbo;
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)/i.exec(header);
  if (bearer) {
    const t = ctx.state.accessTokens.get(bearer[1]!);
    return t ? { realmId: t.realmId, clientId: t.clientId } : {};
  }
  const out: { realmId?: string; clientId?: string } = {};
  const basic = /^Basic\s+(\S+)/i.exec(header);
  if (basic) out.clientId = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':')[0];
  if (surface === 'token' || surface === 'revoke') {
    const form = formOf(req.rawBody ?? (typeof req.body === 'string' ? req.body : ''));
    out.clientId ??= form.client_id;
    const token = form.refresh_token ?? form.token;
    const record = token
      ? (ctx.state.refreshTokens.get(token) ?? ctx.state.accessTokens.get(token))
      : undefined;
    if (record) out.realmId = record.realmId;
  }
  return out;
}

/** intuit-oauth sends the revoke body as JSON, node-quickbooks as a form: read both. */
function formOf(raw: string): Record<string, string | undefined> {
  const text = raw.trim();
  if (text.startsWith('{')) {
    try {
      const o = JSON.parse(text) as Record<string, unknown>;
      return Object.fromEntries(
        Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]),
      );
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function matches(
  r: StoredRule,
  req: FastifyRequest,
  surface: FaultSurface,
  caller: { realmId?: string; clientId?: string },
): boolean {
  if (r.surface && r.surface !== surface) return false;
  if (r.realmId && r.realmId !== caller.realmId) return false;
  if (r.clientId && r.clientId !== caller.clientId) return false;
  if (r.method && r.method !== req.method.toUpperCase()) return false;
  if (r.path && !req.url.toLowerCase().includes(r.path.toLowerCase())) return false;
  if (r.regex && !r.regex.test(req.url)) return false;
  return true;
}

/** The answer a terminal rule gives, in the dialect of the surface it hits. */
function faultFor(rule: StoredRule, surface: FaultSurface): QboFault | OAuthError {
  const format = rule.format ?? 'json';
  if (surface !== 'accounting') {
    // Intuit does not document its OAuth servers' 5xx/429 bodies; RFC 6749's error codes.
    if (rule.kind === 'throttle')
      return new OAuthError(429, { error: 'too_many_requests', error_description: 'Throttled' });
    const status = rule.status ?? (rule.kind === 'outage' ? 503 : 500);
    return new OAuthError(status, {
      error: status === 503 ? 'temporarily_unavailable' : 'server_error',
    });
  }
  if (rule.kind === 'throttle') return Faults.throttled(format);
  const status = rule.status ?? (rule.kind === 'outage' ? 503 : 500);
  const base =
    rule.kind === 'outage'
      ? Faults.systemFault(status, 'Service is temporarily unavailable. Try again later.')
      : Faults.systemFault(status);
  return new QboFault(base.status, base.type, base.errors, format);
}

/**
 * Applies faults injected through the control API to a request about to be served.
 * `latency` and `drop-response` let the request be processed and act when the response
 * is sent (onSend hook); `error`, `outage` and `throttle` answer instead of the handler;
 * `timeout` holds the request until the client gives up (or `latencyMs`, then the
 * connection is closed without an answer).
 */
export async function applyInjectedFaults(
  ctx: SandboxContext,
  req: FastifyRequest,
  reply: FastifyReply,
  surface: FaultSurface,
): Promise<void> {
  const { rules } = store(ctx);
  if (rules.size === 0) return;
  const now = ctx.state.clock.now();
  const caller = callerOf(ctx, req, surface);
  let terminal: StoredRule | undefined;
  for (const r of rules.values()) {
    if (!isActive(r, now) || !matches(r, req, surface, caller)) continue;
    const isTerminal = r.kind !== 'latency' && r.kind !== 'drop-response';
    if (isTerminal && terminal) continue;
    if (r.probability !== undefined && Math.random() >= r.probability) continue;
    r.hits += 1;
    if (r.remaining !== undefined) r.remaining -= 1;
    req.injected ??= { faults: [], latencyMs: 0, drop: false };
    req.injected.faults.push({ id: r.id, kind: r.kind });
    if (r.kind === 'latency') req.injected.latencyMs += r.latencyMs ?? 0;
    else if (r.kind === 'drop-response') req.injected.drop = true;
    else terminal = r;
  }
  if (!terminal) return;
  if (terminal.kind === 'timeout') return hold(ctx, req, reply, terminal.latencyMs);
  if (terminal.kind === 'throttle' && surface === 'accounting' && caller.realmId && caller.clientId)
    recordThrottle(ctx, caller.realmId, caller.clientId, 'injected');
  throw faultFor(terminal, surface);
}

/**
 * Never answers: QBO's "requests that take longer than 120 seconds will time out" seen
 * from a client whose own timeout is shorter. The promise stays pending; once the
 * connection is gone nothing references it.
 */
function hold(
  ctx: SandboxContext,
  req: FastifyRequest,
  reply: FastifyReply,
  maxMs?: number,
): Promise<void> {
  const { held } = store(ctx);
  return new Promise<void>(() => {
    const socket = reply.raw.socket;
    let timer: NodeJS.Timeout | undefined;
    const release = (): void => {
      if (!held.delete(release)) return;
      if (timer) clearTimeout(timer);
      socket?.destroy();
      recordUnanswered(ctx, req, 0);
    };
    held.add(release);
    reply.raw.once('close', release);
    if (maxMs !== undefined) timer = setTimeout(release, maxMs);
  });
}

/**
 * Journal entry for a request that got no answer (Fastify's onResponse, which writes the
 * others, does not run when the connection is destroyed). `status` is what the work
 * produced for a dropped response, 0 for a request held until the client gave up.
 */
function recordUnanswered(ctx: SandboxContext, req: FastifyRequest, status: number): void {
  const { state } = ctx;
  state.record({
    at: state.clock.now(),
    method: req.method,
    url: req.url,
    ...(req.qbo ? { realmId: req.qbo.realmId, clientId: req.qbo.clientId } : {}),
    status,
    intuitTid: req.intuitTid,
    durationMs: Math.round((performance.now() - req.startedAt) * 1000) / 1000,
    ...(req.injected ? { injectedFaults: req.injected.faults } : {}),
    ...(state.options.journalBodies && req.rawBody
      ? { requestBody: req.rawBody.slice(0, 4096) }
      : {}),
  });
}

/**
 * Registered on the root app (server.ts): delays the response of requests hit by a
 * `latency` rule, and destroys the connection of those hit by `drop-response` after the
 * work is done, as a lost token-refresh response looks to the client.
 */
export function injectedFaultsOnSend(ctx: SandboxContext): onSendAsyncHookHandler {
  return async (req, reply, payload) => {
    const injected = req.injected;
    if (!injected) return payload;
    if (injected.latencyMs > 0) await new Promise((r) => setTimeout(r, injected.latencyMs));
    if (injected.drop) {
      reply.raw.socket?.destroy();
      recordUnanswered(ctx, req, reply.statusCode);
    }
    return payload;
  };
}
