import type { FastifyRequest } from 'fastify';
import type { SandboxContext } from '../core/context.ts';
import type { Company } from '../core/company.ts';
import { Faults, QboFault } from '../core/faults.ts';

export interface CachedResponse {
  status: number;
  body: Record<string, unknown>;
}

type Outcome = { ok: true; response: CachedResponse } | { ok: false; fault: QboFault };

interface Entry {
  /** Settles when the first request with this requestid has finished. */
  promise: Promise<Outcome>;
  /** Set once settled: when it stops being replayed (sandbox clock). */
  expiresAt?: number;
}

/** One bounded map per company: requestids are "unique for all requests for a given company". */
class RequestIdCache {
  readonly byRealm = new Map<string, Map<string, Entry>>();

  forRealm(realmId: string): Map<string, Entry> {
    let m = this.byRealm.get(realmId);
    if (!m) {
      m = new Map();
      this.byRealm.set(realmId, m);
    }
    return m;
  }
}

const cache = (ctx: SandboxContext): RequestIdCache =>
  ctx.state.extension('requestid', () => new RequestIdCache());

/**
 * The `requestid` query parameter, or undefined when absent or empty (qbo_api sends
 * `?requestid=` with nothing after it, rec create/customer, and QBO creates normally).
 */
export function requestIdOf(req: FastifyRequest): string | undefined {
  const query = (req.query ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(query)) {
    if (k.toLowerCase() !== 'requestid') continue;
    const value: unknown = Array.isArray(v) ? (v as unknown[])[0] : v;
    return typeof value === 'string' && value !== '' ? value : undefined;
  }
  return undefined;
}

/**
 * Java SDK issue #180 (a real QBO answer): "Business Validation Error: You cannot enter
 * more than 50 characters in the request_id field. You tried entering 8182e07bba...,
 * which is 68 characters." (code 6000).
 */
export function requestIdTooLong(requestId: string): QboFault {
  return Faults.businessValidation(
    `You cannot enter more than 50 characters in the request_id field. You tried entering ${requestId.slice(0, 10)}..., which is ${requestId.length} characters.`,
  );
}

/**
 * QBO's `requestid` (blog 2015-04-06): "If the service receives another request with the
 * same RequestID, instead of performing the operation again or returning an error, the
 * service sends the same response as it did for the original request." Wraps a write
 * handler: the first request does the work; a repeat (even one arriving while the first
 * is still running) gets the first one's status and body, or the same fault thrown again.
 * The blog does not single out failures, so 4xx validation faults are replayed too
 * (`config.requestId.replayFaults`); 5xx and unexpected errors are not remembered, so a
 * retry after a server failure does the work.
 */
export async function withRequestId(
  ctx: SandboxContext,
  req: FastifyRequest,
  company: Company,
  perform: () => Promise<CachedResponse> | CachedResponse,
): Promise<CachedResponse> {
  const requestId = requestIdOf(req);
  if (requestId === undefined) return perform();
  const cfg = ctx.config.requestId;
  if (requestId.length > cfg.maxLength) throw requestIdTooLong(requestId);

  const entries = cache(ctx).forRealm(company.realmId);
  const now = ctx.state.clock.now();
  const existing = entries.get(requestId);
  if (existing && (existing.expiresAt === undefined || existing.expiresAt > now)) {
    const outcome = await existing.promise;
    if (outcome.ok) return structuredClone(outcome.response);
    throw outcome.fault;
  }
  if (existing) entries.delete(requestId);

  let settle!: (o: Outcome) => void;
  const entry: Entry = { promise: new Promise<Outcome>((r) => (settle = r)) };
  entries.set(requestId, entry);
  evictOldest(entries, cfg.cacheSize);
  try {
    const response = await perform();
    entry.expiresAt = ctx.state.clock.now() + cfg.ttlSec * 1000;
    settle({ ok: true, response: structuredClone(response) });
    return response;
  } catch (err) {
    const replayable =
      err instanceof QboFault && err.status < 500 && err.status !== 429 && cfg.replayFaults;
    if (replayable) {
      entry.expiresAt = ctx.state.clock.now() + cfg.ttlSec * 1000;
      settle({ ok: false, fault: err });
    } else {
      // Not remembered: a later retry does the work again. Requests already waiting on
      // this one get the same failure, as they would have from QBO's own outage.
      if (entries.get(requestId) === entry) entries.delete(requestId);
      settle({ ok: false, fault: err instanceof QboFault ? err : Faults.systemFault() });
    }
    throw err;
  }
}

/** Maps keep insertion order, so the first settled entries are the oldest. */
function evictOldest(entries: Map<string, Entry>, max: number): void {
  if (entries.size <= max) return;
  for (const [k, e] of entries) {
    if (entries.size <= max) break;
    if (e.expiresAt !== undefined) entries.delete(k);
  }
}

/** Drops a deleted company's remembered responses. */
export function forgetRealmRequestIds(ctx: SandboxContext, realmId: string): void {
  cache(ctx).byRealm.delete(realmId);
}
