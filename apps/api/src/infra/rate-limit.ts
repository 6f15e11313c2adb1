// Adapters for the `RateLimiter` port: QBO's per-realm budget (10/s, 500/min, 10 in flight).
// Memory for the embedded default; Redis when several processes share one realm's budget.
//
// Why not rate-limiter-flexible (the first plan): its windows are fixed and start at the
// first call, so a saturated realm can send a full window's calls at the end of one window
// and again at the start of the next — 2N within one second, which a QBO that counts a
// sliding second throttles with 429 (code 3001). Taking two windows plus an in-flight slot
// would also be three separate consumes that cannot be made atomic. A sliding log of call
// start times (a sorted set in Redis, one Lua call) gives "at most N in ANY window" exactly.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { QBO_RATE_LIMITS } from '../lib/quickbooks/client/limits.ts';
import type {
  RateLimitPolicy,
  RateLimitRelease,
  RateLimitReleaseOptions,
  RateLimitUsage,
  RateLimiter,
} from '../lib/quickbooks/ports.ts';
import { RedisScript } from './redis.ts';
import { sleep } from '../lib/sleep.ts';

function checkPolicy(policy: RateLimitPolicy): void {
  const ok =
    policy.windows.every((w) => w.limit >= 1 && w.windowMs >= 1) &&
    policy.maxInFlight >= 1 &&
    policy.inFlightLeaseMs >= 1;
  if (!ok) throw new RangeError('rate limit policy needs limits, windows and leases >= 1');
}

/** A usable backdate: finite and positive, else 0 (anchored at the release). */
function backdateOf(options: RateLimitReleaseOptions | undefined): number {
  const ms = options?.backdateMs ?? 0;
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

// ---------------------------------------------------------------------------------------
// In-process

interface Waiter {
  grant: (release: RateLimitRelease) => void;
}

interface RealmState {
  /** Start times (monotonic ms), ascending, trimmed to the longest window. */
  starts: number[];
  /** Start times of the calls in flight (they may be older than the longest window). */
  inFlightStarts: number[];
  inFlight: number;
  queue: Waiter[];
  timer: NodeJS.Timeout | undefined;
}

/** One process's budget; each realm has its own FIFO queue, so realms never wait on each other. */
export class MemoryRateLimiter implements RateLimiter {
  readonly #realms = new Map<string, RealmState>();
  readonly #longestMs: number;

  constructor(
    private readonly policy: RateLimitPolicy = QBO_RATE_LIMITS,
    // Monotonic: a wall-clock jump must not open or close the windows.
    private readonly now: () => number = () => performance.now(),
  ) {
    checkPolicy(policy);
    this.#longestMs = Math.max(0, ...policy.windows.map((w) => w.windowMs));
  }

  acquire(realmId: string, options: { signal?: AbortSignal } = {}): Promise<RateLimitRelease> {
    const { signal } = options;
    signal?.throwIfAborted();
    const state = this.#state(realmId);
    return new Promise<RateLimitRelease>((resolve, reject) => {
      const onAbort = () => {
        state.queue = state.queue.filter((w) => w !== waiter);
        reject(signal!.reason as Error);
        this.#pump(state);
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      state.queue.push(waiter);
      this.#pump(state);
    });
  }

  async usage(realmId: string): Promise<RateLimitUsage> {
    const state = this.#realms.get(realmId);
    const now = this.now();
    return {
      windows: this.policy.windows.map((w) => ({
        ...w,
        used: state ? state.starts.filter((s) => s > now - w.windowMs).length : 0,
      })),
      inFlight: state?.inFlight ?? 0,
      maxInFlight: this.policy.maxInFlight,
    };
  }

  #state(realmId: string): RealmState {
    let s = this.#realms.get(realmId);
    if (!s) {
      s = { starts: [], inFlightStarts: [], inFlight: 0, queue: [], timer: undefined };
      this.#realms.set(realmId, s);
    }
    return s;
  }

  /** Ms until the next call may start: 0 now, Infinity until a release. */
  #waitMs(state: RealmState, now: number): number {
    const cut = state.starts.findIndex((s) => s > now - this.#longestMs);
    state.starts.splice(0, cut === -1 ? state.starts.length : cut);
    if (state.inFlight >= this.policy.maxInFlight) return Infinity;
    let wait = 0;
    for (const w of this.policy.windows) {
      const cutoff = now - w.windowMs;
      // A call still in flight may not have reached QBO yet: it stays in every window until
      // it ends (see #restamp), however long ago it was granted.
      const limit = w.limit - state.inFlightStarts.filter((s) => s <= cutoff).length;
      if (limit <= 0) return Infinity; // a release pumps again
      const first = state.starts.findIndex((s) => s > cutoff);
      const inWindow = first === -1 ? 0 : state.starts.length - first;
      // The call that must leave the window before one more may start.
      if (inWindow >= limit)
        wait = Math.max(wait, state.starts[first + inWindow - limit]! + w.windowMs - now);
    }
    return wait;
  }

  /**
   * The call's window entry moves from its grant to a bound of its arrival at QBO: its end,
   * or `backdateMs` before it when the caller saw the request leave (docs/qbo-api-client.md,
   * "Where a call's window entry is anchored"). QBO counts a request when it arrives, which
   * the grant does not bound (measured: anchored at the grant, 254 of 1,000 burst calls got
   * 429 from qbo-sandbox). Never before the grant. Until it ends, a call counts in every
   * window, even one that began after its grant: on a loaded machine (or a slow network) a
   * request granted long ago can still arrive now.
   */
  #restamp(state: RealmState, startedAt: number, backdateMs: number): void {
    const k = state.inFlightStarts.indexOf(startedAt);
    if (k !== -1) state.inFlightStarts.splice(k, 1);
    const i = state.starts.indexOf(startedAt);
    if (i !== -1) state.starts.splice(i, 1);
    const anchor = Math.max(startedAt, this.now() - backdateMs);
    let j = state.starts.length;
    while (j > 0 && state.starts[j - 1]! > anchor) j--;
    state.starts.splice(j, 0, anchor);
  }

  #pump(state: RealmState): void {
    clearTimeout(state.timer);
    state.timer = undefined;
    while (state.queue.length > 0) {
      const now = this.now();
      const wait = this.#waitMs(state, now);
      if (wait === Infinity) return; // a release pumps again
      if (wait > 0) {
        state.timer = setTimeout(() => this.#pump(state), Math.ceil(wait));
        return;
      }
      state.starts.push(now);
      state.inFlightStarts.push(now);
      const startedAt = now;
      state.inFlight += 1;
      let released = false;
      const release = async (options?: RateLimitReleaseOptions): Promise<void> => {
        if (released) return;
        released = true;
        clearTimeout(lease);
        state.inFlight -= 1;
        this.#restamp(state, startedAt, backdateOf(options));
        this.#pump(state);
      };
      // Same contract as Redis: a slot someone forgot to release comes back after the lease.
      const lease = setTimeout(() => void release(), this.policy.inFlightLeaseMs);
      lease.unref();
      state.queue.shift()!.grant(release);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Redis

// KEYS: starts (zset of call starts), inflight (zset, score = lease expiry).
// ARGV: member, maxInFlight, leaseMs, longestWindowMs, then limit/windowMs pairs.
// Returns 0 when granted, -1 when the in-flight cap is full, else microseconds to wait.
// Time comes from Redis so processes with skewed clocks still share one timeline.
const ACQUIRE = new RedisScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local lease = tonumber(ARGV[3]) * 1000
local longest = tonumber(ARGV[4]) * 1000
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return -1 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
local flying = redis.call('ZRANGE', KEYS[2], 0, -1)
local wait = 0
for i = 5, #ARGV, 2 do
  local limit = tonumber(ARGV[i])
  local win = tonumber(ARGV[i + 1]) * 1000
  -- a call in flight stays in every window until it ends, however old its start
  for _, m in ipairs(flying) do
    local started = redis.call('ZSCORE', KEYS[1], m)
    if not started or tonumber(started) <= now - win then limit = limit - 1 end
  end
  if limit <= 0 then return -1 end
  local from = '(' .. (now - win)
  local count = redis.call('ZCOUNT', KEYS[1], from, '+inf')
  if count >= limit then
    local s = redis.call('ZRANGEBYSCORE', KEYS[1], from, '+inf', 'WITHSCORES', 'LIMIT', count - limit, 1)
    wait = math.max(wait, tonumber(s[2]) + win - now)
  end
end
if wait > 0 then return wait end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 0
`);

// Same keys; ARGV: member, longestWindowMs, backdate in microseconds. Frees the in-flight
// slot and moves the call's window entry to Redis's now minus the backdate, never before its
// grant (see MemoryRateLimiter#restamp; until then an in-flight call counts in every window).
// The backdate is a duration measured on the caller's monotonic clock, so clock skew between
// processes cannot move the anchor; the trip to Redis only makes it later, the safe side.
const RELEASE = new RedisScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREM', KEYS[2], ARGV[1])
-- GT keeps the grant when it is later; re-added when trimmed while in flight (the call may
-- have reached QBO just now)
redis.call('ZADD', KEYS[1], 'GT', now - tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`);

// Same keys; ARGV: window sizes in ms. Returns {inFlight, used per window...}.
const USAGE = new RedisScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')}
for i = 1, #ARGV do
  out[#out + 1] = redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[i]) * 1000), '+inf')
end
return out
`);

export interface RedisRateLimiterOptions {
  policy?: RateLimitPolicy;
  /** Namespaces the keys; tests pass a unique one each. */
  prefix?: string;
  /** Poll interval bounds while the in-flight cap is full (a release is not announced). */
  minPollMs?: number;
  maxPollMs?: number;
}

/**
 * Shared by every process on the same Redis. Waiters poll: exactly until the oldest call
 * leaves a full window, or with backoff while the in-flight cap is full. Within a process a
 * realm's waiters take turns, first come first served: only the first of them asks Redis,
 * and a release in this process wakes it at once. A burst of 1,000 calls is then one poller,
 * not 1,000 (which flooded Redis and the event loop, and delayed the process's own requests
 * by more than QBO_RATE_TRANSIT_MS). Across processes the order is not FIFO; across realms
 * nothing is shared.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #policy: RateLimitPolicy;
  readonly #prefix: string;
  readonly #minPollMs: number;
  readonly #maxPollMs: number;
  readonly #longestMs: number;
  /** Per realm: the end of the last local waiter's turn. */
  readonly #turns = new Map<string, Promise<void>>();
  /** Per realm: cuts short the sleep of the waiter whose turn it is. */
  readonly #wakers = new Map<string, () => void>();
  /** Realms with a call ended while their waiter was not asleep (it asked Redis meanwhile). */
  readonly #missedWakes = new Set<string>();

  constructor(
    private readonly redis: Redis,
    options: RedisRateLimiterOptions = {},
  ) {
    this.#policy = options.policy ?? QBO_RATE_LIMITS;
    checkPolicy(this.#policy);
    this.#prefix = options.prefix ?? 'qbo-sync:rate:';
    this.#minPollMs = options.minPollMs ?? 5;
    this.#maxPollMs = options.maxPollMs ?? 50;
    this.#longestMs = Math.max(1, ...this.#policy.windows.map((w) => w.windowMs));
  }

  async acquire(
    realmId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<RateLimitRelease> {
    options.signal?.throwIfAborted();
    const before = this.#turns.get(realmId) ?? Promise.resolve();
    let endTurn!: () => void;
    const turn = new Promise<void>((resolve) => (endTurn = resolve));
    // The next waiter goes after this one's turn and after everything before it, so a
    // waiter that gives up early never lets a later one overtake an earlier one.
    const last = before.then(() => turn);
    this.#turns.set(realmId, last);
    try {
      await untilSettled(before, options.signal);
      return await this.#acquireFromRedis(realmId, options.signal);
    } finally {
      endTurn();
      if (this.#turns.get(realmId) === last) this.#turns.delete(realmId);
    }
  }

  async #acquireFromRedis(realmId: string, signal?: AbortSignal): Promise<RateLimitRelease> {
    const keys = this.#keys(realmId);
    const member = randomUUID();
    const args = [
      member,
      this.#policy.maxInFlight,
      this.#policy.inFlightLeaseMs,
      this.#longestMs,
      ...this.#policy.windows.flatMap((w) => [w.limit, w.windowMs]),
    ];
    let poll = this.#minPollMs;
    for (;;) {
      signal?.throwIfAborted();
      const waitUs = Number(await ACQUIRE.run(this.redis, keys, args));
      if (waitUs === 0) return this.#release(realmId, keys, member);
      if (waitUs > 0) {
        // Small jitter so processes released by the same expiry do not collide every time.
        await this.#nap(realmId, Math.ceil(waitUs / 1000) + Math.random() * 2, signal);
      } else {
        await this.#nap(realmId, poll / 2 + (Math.random() * poll) / 2, signal);
        poll = Math.min(poll * 2, this.#maxPollMs);
      }
    }
  }

  /** Sleeps `ms`, or less if a call of this realm ends in this process meanwhile. */
  async #nap(realmId: string, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#missedWakes.delete(realmId)) return;
    const woken = new AbortController();
    this.#wakers.set(realmId, () => woken.abort());
    try {
      await sleep(ms, signal ? AbortSignal.any([signal, woken.signal]) : woken.signal);
    } catch (err) {
      if (!woken.signal.aborted || signal?.aborted) throw err;
    } finally {
      this.#wakers.delete(realmId);
    }
  }

  async usage(realmId: string): Promise<RateLimitUsage> {
    const windows = this.#policy.windows;
    const [inFlight, ...used] = (await USAGE.run(
      this.redis,
      this.#keys(realmId),
      windows.map((w) => w.windowMs),
    )) as number[];
    return {
      windows: windows.map((w, i) => ({ ...w, used: used[i] ?? 0 })),
      inFlight: inFlight ?? 0,
      maxInFlight: this.#policy.maxInFlight,
    };
  }

  #keys(realmId: string): string[] {
    // One hash tag per realm: both keys live in one Redis Cluster slot, as the script needs.
    const base = `${this.#prefix}{${realmId}}`;
    return [`${base}:starts`, `${base}:inflight`];
  }

  #release(realmId: string, keys: string[], member: string): RateLimitRelease {
    let released = false;
    return async (options) => {
      if (released) return;
      released = true;
      const backdateUs = Math.floor(backdateOf(options) * 1000);
      try {
        await RELEASE.run(this.redis, keys, [member, this.#longestMs, backdateUs]);
      } catch {
        // Redis unreachable: the slot's lease (inFlightLeaseMs) reclaims it; failing the
        // caller's finished QBO call over bookkeeping would be worse.
      }
      const wake = this.#wakers.get(realmId);
      if (wake) wake();
      else if (this.#turns.has(realmId)) this.#missedWakes.add(realmId);
    };
  }
}

/** Resolves when `p` does; rejects with the signal's reason if it aborts first. */
function untilSettled(p: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return p;
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** Redis-backed when the process has Redis (shared by every process), in-memory otherwise. */
export function createRateLimiter(
  redis: Redis | null,
  options: RedisRateLimiterOptions = {},
): RateLimiter {
  return redis ? new RedisRateLimiter(redis, options) : new MemoryRateLimiter(options.policy);
}
