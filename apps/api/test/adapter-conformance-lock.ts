// The behaviour every `Lock` adapter must show. `a` and `b` are two handles on the same
// lock space: for Redis, two connections (as two processes would hold); in memory, the one
// process-wide instance twice.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { LockTimeoutError, type Lock } from '../src/lib/quickbooks/ports.ts';

export interface LockPair {
  a: Lock;
  b: Lock;
}

/**
 * `make` gets a fresh key prefix for every test, so tests and files never share keys, and
 * returns new adapter instances on every call (for memory: a new process's empty state).
 */
export function lockConformance(name: string, make: (prefix: string) => LockPair): void {
  describe(`Lock conformance: ${name}`, () => {
    const fresh = () => make(`test:lock:${randomUUID()}:`);

    test('50 concurrent contenders from two processes never hold the lock at the same time', async () => {
      const { a, b } = fresh();
      let inside = 0;
      let maxInside = 0;
      const tokens: number[] = [];
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 ? a : b).withLock(
            'realm-1',
            5_000,
            async (lease) => {
              inside += 1;
              maxInside = Math.max(maxInside, inside);
              tokens.push(lease.fencingToken);
              await sleep(1 + Math.random() * 2);
              inside -= 1;
            },
            { waitMs: 30_000 },
          ),
        ),
      );
      expect(maxInside).toBe(1);
      expect(tokens).toHaveLength(50);
      // Fencing tokens follow the order in which holders got the lock.
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
    });

    test('fencing tokens keep increasing after the process restarts', async () => {
      const prefix = `test:lock:${randomUUID()}:`;
      const before = await make(prefix).a.acquire('realm-1', { ttlMs: 5_000 });
      await before.release();
      // A new adapter instance on the same key space is what a restarted process gets.
      const after = await make(prefix).b.acquire('realm-1', { ttlMs: 5_000, waitMs: 0 });
      expect(after.fencingToken).toBeGreaterThan(before.fencingToken);
      expect(Number.isSafeInteger(after.fencingToken)).toBe(true);
      await after.release();
    });

    test('a holder that crashed without releasing frees the lock when its TTL runs out', async () => {
      const { a, b } = fresh();
      const crashed = await a.acquire('realm-1', { ttlMs: 300 });
      const started = performance.now();
      const next = await b.acquire('realm-1', { ttlMs: 5_000, waitMs: 5_000 });
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
      expect(next.fencingToken).toBeGreaterThan(crashed.fencingToken);
      expect(await next.release()).toBe(true);
    });

    test('a holder whose TTL ran out cannot release or extend the lock of the next holder', async () => {
      const { a, b } = fresh();
      const stale = await a.acquire('realm-1', { ttlMs: 100 });
      await sleep(200);
      const current = await b.acquire('realm-1', { ttlMs: 5_000, waitMs: 0 });
      expect(await stale.release()).toBe(false);
      expect(await stale.extend(5_000)).toBe(false);
      await expect(a.acquire('realm-1', { ttlMs: 1_000, waitMs: 0 })).rejects.toBeInstanceOf(
        LockTimeoutError,
      );
      expect(await current.release()).toBe(true);
      const after = await a.acquire('realm-1', { ttlMs: 1_000, waitMs: 0 });
      expect(after.fencingToken).toBeGreaterThan(current.fencingToken);
      await after.release();
    });

    test('waiting for a busy lock gives up with LockTimeoutError after waitMs', async () => {
      const { a, b } = fresh();
      const held = await a.acquire('realm-1', { ttlMs: 10_000 });
      const started = performance.now();
      const err = await b.acquire('realm-1', { ttlMs: 1_000, waitMs: 200 }).catch((e) => e);
      expect(err).toBeInstanceOf(LockTimeoutError);
      expect(err.key).toBe('realm-1');
      expect(performance.now() - started).toBeGreaterThanOrEqual(180);
      await held.release();
    });

    test('withLock returns the work result and releases the lock even when the work throws', async () => {
      const { a, b } = fresh();
      expect(await a.withLock('realm-1', 5_000, async () => 42)).toBe(42);
      const boom = new Error('refresh failed');
      await expect(
        a.withLock('realm-1', 5_000, async () => {
          throw boom;
        }),
      ).rejects.toBe(boom);
      const lease = await b.acquire('realm-1', { ttlMs: 1_000, waitMs: 0 });
      await lease.release();
    });

    test('different keys (realms) do not block each other', async () => {
      const { a, b } = fresh();
      const one = await a.acquire('realm-1', { ttlMs: 5_000 });
      const two = await b.acquire('realm-2', { ttlMs: 5_000, waitMs: 0 });
      expect(await two.release()).toBe(true);
      expect(await one.release()).toBe(true);
    });

    test('extending a lease keeps the lock beyond its first TTL', async () => {
      const { a, b } = fresh();
      const lease = await a.acquire('realm-1', { ttlMs: 150 });
      expect(await lease.extend(5_000)).toBe(true);
      await sleep(300);
      await expect(b.acquire('realm-1', { ttlMs: 1_000, waitMs: 0 })).rejects.toBeInstanceOf(
        LockTimeoutError,
      );
      expect(await lease.release()).toBe(true);
    });

    test('aborting a wait stops it with the abort reason', async () => {
      const { a, b } = fresh();
      const held = await a.acquire('realm-1', { ttlMs: 10_000 });
      const reason = new Error('shutting down');
      const waiting = b.acquire('realm-1', { ttlMs: 1_000, waitMs: 10_000 });
      const controller = new AbortController();
      const aborted = b.acquire('realm-1', {
        ttlMs: 1_000,
        waitMs: 10_000,
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(reason), 50);
      await expect(aborted).rejects.toBe(reason);
      await held.release();
      // The other waiter is unaffected and gets the lock.
      await (await waiting).release();
    });
  });
}
