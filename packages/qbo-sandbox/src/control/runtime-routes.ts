import type { FastifyInstance } from 'fastify';
import type { SandboxContext } from '../core/context.ts';
import { parseQboTime } from '../core/clock.ts';
import { emptyStats, limiterStats, resetLimiterStats } from '../limits/limiter.ts';
import {
  badRequest,
  jsonBody,
  onlyKeys,
  optBoolean,
  optEnum,
  optNumber,
  optString,
  queryParam,
} from './validate.ts';

const startedAt = Date.now();

/** Clock, journal, limits, stats and health under `/_sandbox`. */
export function registerRuntimeRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  const { state, config } = ctx;

  const clockView = () => {
    const now = state.clock.now();
    return { now: new Date(now).toISOString(), nowMs: now, offsetMs: now - Date.now() };
  };

  app.get('/_sandbox/clock', async () => clockView());

  app.post('/_sandbox/clock', async (req) => {
    const body = jsonBody(req);
    onlyKeys(body, ['advanceSeconds', 'now', 'reset']);
    const given = Object.keys(body);
    if (given.length !== 1)
      throw badRequest('send exactly one of advanceSeconds, now (ISO 8601) or reset: true');
    const advanceSeconds = optNumber(body, 'advanceSeconds', { min: 0 });
    const now = optString(body, 'now');
    const reset = optBoolean(body, 'reset');
    if (advanceSeconds !== undefined) state.clock.advance(advanceSeconds * 1000);
    else if (now !== undefined) {
      const ms = parseQboTime(now);
      if (Number.isNaN(ms))
        throw badRequest('now must be an ISO 8601 date-time such as 2026-01-31T12:00:00Z');
      state.clock.set(ms);
    } else if (reset === true) state.clock.reset();
    else throw badRequest('reset must be true');
    return clockView();
  });

  app.get('/_sandbox/requests', async (req) => {
    const realmId = queryParam(req, 'realmId');
    const clientId = queryParam(req, 'clientId');
    const sinceText = queryParam(req, 'since');
    const limitText = queryParam(req, 'limit');
    let sinceSeq: number | undefined;
    let sinceMs: number | undefined;
    if (sinceText !== undefined) {
      if (/^\d+$/.test(sinceText)) sinceSeq = Number(sinceText);
      else {
        sinceMs = parseQboTime(sinceText);
        if (Number.isNaN(sinceMs))
          throw badRequest('since must be a journal seq number or an ISO 8601 date-time');
      }
    }
    const limit = limitText === undefined ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 5000)
      throw badRequest('limit must be an integer from 1 to 5000');
    const matching = state.journal.filter(
      (e) =>
        (realmId === undefined || e.realmId === realmId) &&
        (clientId === undefined || e.clientId === clientId) &&
        (sinceSeq === undefined || e.seq > sinceSeq) &&
        (sinceMs === undefined || e.at >= sinceMs),
    );
    const requests = matching
      .slice(-limit)
      .map((e) => ({ ...e, time: new Date(e.at).toISOString() }));
    const last = state.journal[state.journal.length - 1];
    return { requests, total: matching.length, lastSeq: last?.seq ?? 0 };
  });

  app.get('/_sandbox/limits', async () => config.limits);

  app.patch('/_sandbox/limits', async (req) => {
    const body = jsonBody(req);
    const counts = [
      'perMinute',
      'perSecond',
      'concurrent',
      'batchPerMinute',
      'batchPerMinutePerRealm',
    ] as const;
    onlyKeys(body, [...counts, 'enabled', 'perMinuteScope']);
    const next = { ...config.limits };
    for (const key of counts) {
      const v = optNumber(body, key, { integer: true, min: 1 });
      if (v !== undefined) next[key] = v;
    }
    const enabled = optBoolean(body, 'enabled');
    if (enabled !== undefined) next.enabled = enabled;
    const scope = optEnum(body, 'perMinuteScope', ['realm', 'realm+app'] as const);
    if (scope) next.perMinuteScope = scope;
    Object.assign(config.limits, next);
    return config.limits;
  });

  app.get('/_sandbox/stats', async (req) => {
    const realmId = queryParam(req, 'realmId');
    const clientId = queryParam(req, 'clientId');
    const stats = limiterStats(ctx, {
      ...(realmId !== undefined ? { realmId } : {}),
      ...(clientId !== undefined ? { clientId } : {}),
    });
    if (realmId === undefined || clientId === undefined) return { stats };
    // One realm+app asked for: its counters, zero if it has not called yet.
    return stats[0] ?? emptyStats(realmId, clientId);
  });

  app.delete('/_sandbox/stats', async (_req, reply) => {
    resetLimiterStats(ctx);
    return reply.status(204).send();
  });

  app.get('/_sandbox/health', async () => ({
    status: 'ok',
    now: new Date(state.clock.now()).toISOString(),
    uptimeSec: Math.round((Date.now() - startedAt) / 1000),
    companies: state.companies.size,
    apps: state.apps.size,
    faultInjection: true,
    limitsEnabled: config.limits.enabled,
  }));
}
