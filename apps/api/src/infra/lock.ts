// Adapters for the `Lock` port: an in-process mutex (embedded default, one process) and a
// Redis lock (scaled mode, every process shares it). Both hand out fencing tokens.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  LockTimeoutError,
  type Lock,
  type LockAcquireOptions,
  type LockLease,
} from '../lib/quickbooks/ports.ts';
import { RedisScript } from './redis.ts';
import { sleep } from '../lib/sleep.ts';

abstract class BaseLock implements Lock {
  abstract acquire(key: string, options: LockAcquireOptions): Promise<LockLease>;

  async withLock<T>(
    key: string,
    ttlMs: number,
    fn: (lease: LockLease) => Promise<T>,
    options: Omit<LockAcquireOptions, 'ttlMs'> = {},
  ): Promise<T> {
    const lease = await this.acquire(key, { ...options, ttlMs });
    try {
      return await fn(lease);
    } finally {
      // false means the TTL ran out inside fn; the fencing token is what protects writes then.
      await lease.release();
    }
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0)
    throw new RangeError(`lock ttlMs must be a positive integer, got ${ttlMs}`);
}

// ---------------------------------------------------------------------------------------
// In-process

interface Waiter {
  ttlMs: number;
  grant: (lease: LockLease) => void;
}

interface HeldKey {
  owner: symbol;
  timer: NodeJS.Timeout;
  waiters: Waiter[];
}

/** FIFO mutex per key for one process. A lease not released within its TTL is taken back. */
export class MemoryLock extends BaseLock {
  readonly #held = new Map<string, HeldKey>();
  // Kept after release so tokens stay increasing; one number per key ever locked.
  readonly #fences = new Map<string, number>();

  async acquire(key: string, options: LockAcquireOptions): Promise<LockLease> {
    checkTtl(options.ttlMs);
    options.signal?.throwIfAborted();
    const held = this.#held.get(key);
    if (!held) return this.#take(key, options.ttlMs, []);
    const waitMs = options.waitMs ?? options.ttlMs;
    if (waitMs <= 0) throw new LockTimeoutError(key, 0);
    return new Promise<LockLease>((resolve, reject) => {
      const waiter: Waiter = {
        ttlMs: options.ttlMs,
        grant: (lease) => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          resolve(lease);
        },
      };
      const leave = (err: Error) => {
        const h = this.#held.get(key);
        if (h) h.waiters = h.waiters.filter((w) => w !== waiter);
        options.signal?.removeEventListener('abort', onAbort);
        clearTimeout(timer);
        reject(err);
      };
      const onAbort = () => leave(options.signal!.reason as Error);
      const timer = setTimeout(() => leave(new LockTimeoutError(key, waitMs)), waitMs);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      held.waiters.push(waiter);
    });
  }

  #take(key: string, ttlMs: number, waiters: Waiter[]): LockLease {
    const owner = Symbol(key);
    // Floored at the clock in microseconds, so a restarted process continues above the
    // tokens its predecessor handed out (as long as it locks less than once per microsecond).
    const clockUs = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    const fencingToken = Math.max((this.#fences.get(key) ?? 0) + 1, clockUs);
    this.#fences.set(key, fencingToken);
    const timer = setTimeout(() => this.#free(key, owner), ttlMs);
    timer.unref();
    this.#held.set(key, { owner, timer, waiters });
    return {
      key,
      fencingToken,
      release: async () => this.#free(key, owner),
      extend: async (ms: number) => {
        checkTtl(ms);
        const h = this.#held.get(key);
        if (h?.owner !== owner) return false;
        clearTimeout(h.timer);
        h.timer = setTimeout(() => this.#free(key, owner), ms);
        h.timer.unref();
        return true;
      },
    };
  }

  /** Hands the lock straight to the longest waiter, so a steady stream cannot starve it. */
  #free(key: string, owner: symbol): boolean {
    const h = this.#held.get(key);
    if (h?.owner !== owner) return false;
    clearTimeout(h.timer);
    this.#held.delete(key);
    const next = h.waiters.shift();
    if (next) next.grant(this.#take(key, next.ttlMs, h.waiters));
    return true;
  }
}

// ---------------------------------------------------------------------------------------
// Redis

// Take the lock only if free, and bump the per-key fence in the same atomic step so the
// tokens follow the order in which holders got the lock. The fence never drops below the
// server clock in microseconds, so it keeps increasing even after the fence key expired
// (a day idle) or Redis was flushed. Returns {fence, 0} or {0, pttl}.
const ACQUIRE = new RedisScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local t = redis.call('TIME')
  local floor = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local fence = math.max(tonumber(redis.call('GET', KEYS[2]) or '0') + 1, floor)
  redis.call('SET', KEYS[2], string.format('%d', fence), 'PX', 86400000)
  return {fence, 0}
end
return {0, redis.call('PTTL', KEYS[1])}
`);

// Compare-and-delete: a holder whose TTL ran out must not delete the next holder's lock.
const RELEASE = new RedisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

const EXTEND = new RedisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);

export interface RedisLockOptions {
  /** Namespaces the keys; tests pass a unique one each. */
  prefix?: string;
  /** Retry delays grow from `minRetryMs` to `maxRetryMs` (with jitter) while waiting. */
  minRetryMs?: number;
  maxRetryMs?: number;
}

/**
 * SET NX PX with a random owner value, Lua compare-and-delete, and a fencing counter
 * (the pattern in Redis' "Distributed locks" docs for a single instance). Waiting polls with
 * jittered backoff, never longer than the holder's remaining TTL.
 */
export class RedisLock extends BaseLock {
  readonly #prefix: string;
  readonly #minRetryMs: number;
  readonly #maxRetryMs: number;

  constructor(
    private readonly redis: Redis,
    options: RedisLockOptions = {},
  ) {
    super();
    this.#prefix = options.prefix ?? 'qbo-sync:lock:';
    this.#minRetryMs = options.minRetryMs ?? 5;
    this.#maxRetryMs = options.maxRetryMs ?? 100;
  }

  async acquire(key: string, options: LockAcquireOptions): Promise<LockLease> {
    checkTtl(options.ttlMs);
    // The hash tag keeps the lock and its fence in one slot, as Redis Cluster needs for Lua.
    const lockKey = `${this.#prefix}{${key}}`;
    const fenceKey = `${lockKey}:fence`;
    const owner = randomUUID();
    const waitMs = options.waitMs ?? options.ttlMs;
    const started = Date.now();
    let backoff = this.#minRetryMs;
    for (;;) {
      options.signal?.throwIfAborted();
      const [fence, pttl] = (await ACQUIRE.run(
        this.redis,
        [lockKey, fenceKey],
        [owner, options.ttlMs],
      )) as [number, number];
      if (fence > 0) return this.#lease(key, lockKey, owner, fence);
      const left = started + waitMs - Date.now();
      if (left <= 0) throw new LockTimeoutError(key, waitMs);
      // Full jitter keeps contenders from different processes from retrying in lockstep.
      const delay = Math.min(left, pttl > 0 ? pttl + 1 : backoff, 1 + Math.random() * backoff);
      await sleep(delay, options.signal);
      backoff = Math.min(backoff * 2, this.#maxRetryMs);
    }
  }

  #lease(key: string, lockKey: string, owner: string, fencingToken: number): LockLease {
    return {
      key,
      fencingToken,
      release: async () => (await RELEASE.run(this.redis, [lockKey], [owner])) === 1,
      extend: async (ms: number) => {
        checkTtl(ms);
        return (await EXTEND.run(this.redis, [lockKey], [owner, ms])) === 1;
      },
    };
  }
}

/** The Redis lock when the process has Redis (scaled mode), the in-process mutex otherwise. */
export function createLock(redis: Redis | null, options: RedisLockOptions = {}): Lock {
  return redis ? new RedisLock(redis, options) : new MemoryLock();
}
