// The small interfaces the QuickBooks domain needs from the outside world. Adapters live in
// `infra/` and are picked by the entry points from config; domain code imports only this
// file, so it reads the same in the embedded default and in the scaled mode.
import type { QboRequestLogKind } from '../../db/schema.ts';
import { QuickBooksError, type QuickBooksErrorKind } from './errors.ts';

// ---------------------------------------------------------------------------------------
// Clock

/** Wall-clock time, injectable so tests can pin "now" (token expiry, CDC cursors). */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Lengths of time in milliseconds, for windows, expiries and retention. */
export const SECOND_MS = 1_000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

// ---------------------------------------------------------------------------------------
// Lock

export interface LockAcquireOptions {
  /** The lock frees itself after this long even if the holder crashed without releasing. */
  ttlMs: number;
  /**
   * How long to wait for a busy lock before giving up with `LockTimeoutError`.
   * Default: `ttlMs` — by then a crashed holder's lock has expired. `0` = try once.
   */
  waitMs?: number;
  /** Aborting stops the wait (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** One holding of a lock. */
export interface LockLease {
  readonly key: string;
  /**
   * Strictly increasing per key across every holder (and every process, for the Redis
   * adapter), and across restarts: tokens are floored at the clock in microseconds. A
   * holder whose TTL ran out while it was paused can still believe it holds the lock;
   * storage that records the highest token it has seen can refuse that stale holder's
   * writes (Kleppmann, "How to do distributed locking", 2016). A safe integer (< 2^53).
   */
  readonly fencingToken: number;
  /** Frees the lock if this lease still holds it; false when it had already expired. */
  release(): Promise<boolean>;
  /** Pushes the expiry to `ttlMs` from now if this lease still holds it. */
  extend(ttlMs: number): Promise<boolean>;
}

/**
 * Mutual exclusion by key. Used for single-flight token refresh per realm: two refreshes
 * with the same refresh token race, and the loser's `invalid_grant` looks like a revoked
 * connection.
 */
export interface Lock {
  /** Waits for the lock; rejects with `LockTimeoutError` after `waitMs`. */
  acquire(key: string, options: LockAcquireOptions): Promise<LockLease>;
  /** Runs `fn` holding the lock and always releases it afterwards, even when `fn` throws. */
  withLock<T>(
    key: string,
    ttlMs: number,
    fn: (lease: LockLease) => Promise<T>,
    options?: Omit<LockAcquireOptions, 'ttlMs'>,
  ): Promise<T>;
}

export class LockTimeoutError extends QuickBooksError {
  override readonly name = 'LockTimeoutError';
  override readonly kind: QuickBooksErrorKind = 'lock_timeout';
  constructor(
    readonly key: string,
    readonly waitedMs: number,
  ) {
    super(`lock "${key}" still held by another holder after waiting ${waitedMs} ms`);
  }
}

// ---------------------------------------------------------------------------------------
// Rate limiter

/** "At most `limit` calls in any `windowMs` interval" — a sliding window, not a fixed one. */
export interface RateWindow {
  limit: number;
  windowMs: number;
}

export interface RateLimitPolicy {
  windows: readonly RateWindow[];
  /** Calls allowed in flight at once. */
  maxInFlight: number;
  /**
   * An in-flight slot whose holder never released it (crashed process) is reclaimed after
   * this long. QBO cuts requests off after 120 s, so a live call never holds it longer.
   */
  inFlightLeaseMs: number;
}

export interface RateLimitUsage {
  /** Calls started within each window of the policy, in policy order. */
  windows: readonly (RateWindow & { used: number })[];
  inFlight: number;
  maxInFlight: number;
}

export interface RateLimitReleaseOptions {
  /**
   * Ms (local monotonic clock) by which the call's window entry is anchored before the
   * release: the caller knows the request reached QBO by `release time - backdateMs`
   * (docs/qbo-api-client.md, "Where a call's window entry is anchored"). The entry never moves
   * before the call's grant. Absent or 0: anchored at the release.
   */
  backdateMs?: number;
}

/** Frees the in-flight slot; calling it more than once is harmless (the first call counts). */
export type RateLimitRelease = (options?: RateLimitReleaseOptions) => Promise<void>;

/**
 * Per-realm QBO request budget. `acquire` waits (never rejects for being busy) until the
 * call may go without breaking any window or the in-flight cap; one busy realm never
 * delays another.
 */
export interface RateLimiter {
  acquire(realmId: string, options?: { signal?: AbortSignal }): Promise<RateLimitRelease>;
  usage(realmId: string): Promise<RateLimitUsage>;
}

// ---------------------------------------------------------------------------------------
// Request log

/** One HTTP attempt to QBO or to Intuit's OAuth server, as it is logged. */
export interface RequestLogRecord {
  kind: QboRequestLogKind;
  realmId: string | null;
  method: string;
  /** Path and query, e.g. `/v3/company/123/query?query=select * from Customer`. */
  path: string;
  /** Null when no response arrived. */
  status: number | null;
  durationMs: number;
  intuitTid: string | null;
  /** QBO's fault code (`6240`, `3001`…) or Intuit's OAuth error (`invalid_grant`). */
  errorCode: string | null;
  /** The `requestid` sent (QBO's idempotency key). */
  requestId: string | null;
  /** 1 for the first HTTP attempt of a logical call, 2 for its first retry… */
  attempt: number;
  errorMessage: string | null;
  /** When the attempt started; default: when the record is written. */
  createdAt?: Date;
}

/**
 * Where the API client and the OAuth layer report every HTTP attempt they make (one
 * qbo_request_log row each). `write` never rejects: a record that cannot be stored is the
 * sink's to report, because failing a call QBO already performed would make its caller
 * repeat it. Implementations remove credentials from paths and messages whatever the caller
 * passed: a caller's mistake must not put a token into a table the admin page lists.
 */
export interface RequestLogSink {
  write(record: RequestLogRecord): Promise<void>;
}
