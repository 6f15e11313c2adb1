import type { SandboxContext } from '../core/context.ts';
import { Faults } from '../core/faults.ts';
import { SlidingWindow } from './sliding-window.ts';

export interface SlotRequest {
  realmId: string;
  clientId: string;
  kind: 'api' | 'batch';
}

/** Which limit answered a 429 (or `injected` for a throttle fault added by a test). */
export type ThrottleReason =
  | 'concurrent'
  | 'perSecond'
  | 'perMinute'
  | 'batchPerMinute'
  | 'batchPerMinutePerRealm'
  | 'injected';

/** What a client's test reads from `GET /_sandbox/stats` to prove how it behaved. */
export interface RealmAppStats {
  realmId: string;
  clientId: string;
  /** Requests let through the limiter (batch calls included, one each). */
  served: number;
  /** HTTP 429 answers given to this realm+app. */
  throttled: number;
  throttledBy: Record<ThrottleReason, number>;
  inFlight: number;
  peakConcurrency: number;
  /** Most requests served in any sliding 1-second window. */
  peakPerSecond: number;
  /** Most requests served in any sliding 60-second window. */
  peakPerMinute: number;
  batch: { served: number; peakPerMinute: number };
  firstRequestAt: string | null;
  lastRequestAt: string | null;
}

interface RealmAppState {
  stats: RealmAppStats;
  second: SlidingWindow;
  minute: SlidingWindow;
  batchMinute: SlidingWindow;
}

interface RealmState {
  minute: SlidingWindow;
  batchMinute: SlidingWindow;
}

class LimiterState {
  readonly realmApps = new Map<string, RealmAppState>();
  readonly realms = new Map<string, RealmState>();

  realmApp(realmId: string, clientId: string): RealmAppState {
    const key = `${realmId}\u0000${clientId}`;
    let s = this.realmApps.get(key);
    if (!s) {
      s = {
        stats: emptyStats(realmId, clientId),
        second: new SlidingWindow(1000),
        minute: new SlidingWindow(60_000),
        batchMinute: new SlidingWindow(60_000),
      };
      this.realmApps.set(key, s);
    }
    return s;
  }

  realm(realmId: string): RealmState {
    let s = this.realms.get(realmId);
    if (!s) {
      s = { minute: new SlidingWindow(60_000), batchMinute: new SlidingWindow(60_000) };
      this.realms.set(realmId, s);
    }
    return s;
  }

  forgetRealm(realmId: string): void {
    this.realms.delete(realmId);
    for (const [k, v] of this.realmApps) if (v.stats.realmId === realmId) this.realmApps.delete(k);
  }
}

export function emptyStats(realmId: string, clientId: string): RealmAppStats {
  return {
    realmId,
    clientId,
    served: 0,
    throttled: 0,
    throttledBy: {
      concurrent: 0,
      perSecond: 0,
      perMinute: 0,
      batchPerMinute: 0,
      batchPerMinutePerRealm: 0,
      injected: 0,
    },
    inFlight: 0,
    peakConcurrency: 0,
    peakPerSecond: 0,
    peakPerMinute: 0,
    batch: { served: 0, peakPerMinute: 0 },
    firstRequestAt: null,
    lastRequestAt: null,
  };
}

const limiterState = (ctx: SandboxContext): LimiterState =>
  ctx.state.extension('limits', () => new LimiterState());

/** Counts a 429 against a realm+app (the limiter's own, or an injected throttle fault). */
export function recordThrottle(
  ctx: SandboxContext,
  realmId: string,
  clientId: string,
  reason: ThrottleReason,
): void {
  const s = limiterState(ctx).realmApp(realmId, clientId).stats;
  s.throttled += 1;
  s.throttledBy[reason] += 1;
  s.lastRequestAt = new Date(ctx.state.clock.now()).toISOString();
  s.firstRequestAt ??= s.lastRequestAt;
}

/**
 * Takes a slot under QBO's limits or throws the 429 fault. Returns the release.
 *
 * docs limits-and-throttles: 500 requests per minute per realm ID; 10 requests per second
 * per realm ID and app; batch: 40 per minute per realm ID and app, 120 per minute per
 * realm ID. blog 2016-08-08 "concurrent API use": at most 10 requests in flight per
 * app+realm, and the 500/minute includes batch requests, so a batch call counts once
 * against every general limit and also against the batch ones. Windows follow the
 * sandbox clock, so advancing it (POST /_sandbox/clock) also lets limits recover.
 * Only requests let through consume quota: a client that keeps retrying while throttled
 * is not locked out for longer (Intuit does not document either way).
 */
export function acquireSlot(ctx: SandboxContext, req: SlotRequest): () => void {
  const { limits } = ctx.config;
  const state = limiterState(ctx);
  const ra = state.realmApp(req.realmId, req.clientId);
  const realm = state.realm(req.realmId);
  const now = ctx.state.clock.now();
  const minute = limits.perMinuteScope === 'realm+app' ? ra.minute : realm.minute;

  if (limits.enabled) {
    let reason: ThrottleReason | undefined;
    if (ra.stats.inFlight >= limits.concurrent) reason = 'concurrent';
    else if (ra.second.count(now) >= limits.perSecond) reason = 'perSecond';
    else if (minute.count(now) >= limits.perMinute) reason = 'perMinute';
    else if (req.kind === 'batch' && ra.batchMinute.count(now) >= limits.batchPerMinute)
      reason = 'batchPerMinute';
    else if (req.kind === 'batch' && realm.batchMinute.count(now) >= limits.batchPerMinutePerRealm)
      reason = 'batchPerMinutePerRealm';
    if (reason) {
      recordThrottle(ctx, req.realmId, req.clientId, reason);
      throw Faults.throttled();
    }
  }

  const s = ra.stats;
  s.served += 1;
  s.inFlight += 1;
  s.peakConcurrency = Math.max(s.peakConcurrency, s.inFlight);
  s.peakPerSecond = Math.max(s.peakPerSecond, ra.second.add(now));
  const appMinute = ra.minute.add(now);
  s.peakPerMinute = Math.max(s.peakPerMinute, appMinute);
  if (minute !== ra.minute) minute.add(now);
  if (req.kind === 'batch') {
    s.batch.served += 1;
    s.batch.peakPerMinute = Math.max(s.batch.peakPerMinute, ra.batchMinute.add(now));
    realm.batchMinute.add(now);
  }
  s.lastRequestAt = new Date(now).toISOString();
  s.firstRequestAt ??= s.lastRequestAt;

  let released = false;
  return () => {
    if (released) return;
    released = true;
    s.inFlight -= 1;
  };
}

/** Counters per realm+app, optionally filtered (GET /_sandbox/stats). */
export function limiterStats(
  ctx: SandboxContext,
  filter: { realmId?: string; clientId?: string } = {},
): RealmAppStats[] {
  const out: RealmAppStats[] = [];
  for (const { stats } of limiterState(ctx).realmApps.values()) {
    if (filter.realmId !== undefined && stats.realmId !== filter.realmId) continue;
    if (filter.clientId !== undefined && stats.clientId !== filter.clientId) continue;
    out.push(structuredClone(stats));
  }
  return out;
}

/** Zeroes the counters (not the windows: quota already used stays used). */
export function resetLimiterStats(ctx: SandboxContext): void {
  for (const ra of limiterState(ctx).realmApps.values()) {
    const fresh = emptyStats(ra.stats.realmId, ra.stats.clientId);
    fresh.inFlight = ra.stats.inFlight;
    Object.assign(ra.stats, fresh);
  }
}

/** Drops a deleted company's windows and counters. */
export function forgetRealmLimits(ctx: SandboxContext, realmId: string): void {
  limiterState(ctx).forgetRealm(realmId);
}
