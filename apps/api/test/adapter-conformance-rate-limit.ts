// The behaviour every `RateLimiter` adapter must show. `a` and `b` are two handles on the
// same budget: for Redis two connections (two processes), in memory one instance twice.
// Windows are shrunk so the suite runs in seconds; the adapters take them as configuration.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import type { RateLimitPolicy, RateLimiter } from '../src/lib/quickbooks/ports.ts';

export interface RateLimiterPair {
  a: RateLimiter;
  b: RateLimiter;
}

export type MakeRateLimiters = (policy: RateLimitPolicy, prefix: string) => RateLimiterPair;

// Timestamps are taken when the caller resumes, a little after the grant (event loop,
// network round trip); this much slack keeps a correct adapter from failing on that.
const SLACK_MS = 20;

function maxInAnyWindow(stamps: number[], windowMs: number): number {
  const sorted = [...stamps].sort((x, y) => x - y);
  let max = 0;
  for (let i = 0; i < sorted.length; i++) {
    let n = 0;
    for (let j = i; j < sorted.length && sorted[j]! < sorted[i]! + windowMs - SLACK_MS; j++) n++;
    max = Math.max(max, n);
  }
  return max;
}

export function rateLimiterConformance(name: string, make: MakeRateLimiters): void {
  describe(`RateLimiter conformance: ${name}`, () => {
    const fresh = (policy: Partial<RateLimitPolicy>) =>
      make(
        { windows: [], maxInFlight: 100, inFlightLeaseMs: 60_000, ...policy },
        `test:rate:${randomUUID()}:`,
      );

    test('a burst from two processes waits instead of failing and never exceeds any window', async () => {
      const windows = [
        { limit: 5, windowMs: 300 },
        { limit: 12, windowMs: 1_500 },
      ];
      const { a, b } = fresh({ windows });
      const stamps: number[] = [];
      await Promise.all(
        Array.from({ length: 15 }, async (_, i) => {
          const release = await (i % 2 ? a : b).acquire('realm-1');
          stamps.push(performance.now());
          await release();
        }),
      );
      expect(stamps).toHaveLength(15);
      expect(maxInAnyWindow(stamps, 300)).toBeLessThanOrEqual(5);
      expect(maxInAnyWindow(stamps, 1_500)).toBeLessThanOrEqual(12);
      // The 13th call had to wait for the first to leave the long window.
      expect(Math.max(...stamps) - Math.min(...stamps)).toBeGreaterThanOrEqual(1_500 - SLACK_MS);
    });

    test('no more than maxInFlight calls run at once, and a release lets the next one in', async () => {
      const { a, b } = fresh({ windows: [{ limit: 1_000, windowMs: 1_000 }], maxInFlight: 3 });
      let running = 0;
      let maxRunning = 0;
      await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const release = await (i % 2 ? a : b).acquire('realm-1');
          running += 1;
          maxRunning = Math.max(maxRunning, running);
          await sleep(30);
          running -= 1;
          await release();
        }),
      );
      expect(maxRunning).toBe(3);
    });

    test('a call still in flight after its window has passed keeps its place until it ends', async () => {
      // QBO counts a request when it arrives; one granted long ago may arrive only now (a
      // loaded machine, a slow network), so it must not make room while it is in flight.
      const { a, b } = fresh({ windows: [{ limit: 2, windowMs: 100 }] });
      const first = await a.acquire('realm-1');
      const second = await b.acquire('realm-1');
      await sleep(150);
      let third: (() => Promise<void>) | null = null;
      const waiting = a.acquire('realm-1').then((r) => (third = r));
      await sleep(150);
      expect(third).toBeNull();
      await first();
      await waiting;
      expect(third).not.toBeNull();
      await second();
      await third!();
    });

    test('a call released with a backdate leaves the window that much earlier', async () => {
      // The client backdates a release to its request's send plus the transit allowance:
      // the place comes back one response time sooner than when anchored at the end.
      const { a, b } = fresh({ windows: [{ limit: 1, windowMs: 600 }] });
      const hold = async (realm: string, holdMs: number, backdateMs?: number) => {
        const release = await a.acquire(realm);
        await sleep(holdMs);
        await release(backdateMs === undefined ? undefined : { backdateMs });
        const released = performance.now();
        const next = await b.acquire(realm);
        const waited = performance.now() - released;
        return { waited, next };
      };
      // The plain call even ends 50 ms sooner; the backdated one still gets its next place first.
      const order: string[] = [];
      const [backdated, plain] = await Promise.all([
        hold('backdated', 300, 250).then((r) => (order.push('backdated'), r)),
        hold('plain', 250).then((r) => (order.push('plain'), r)),
      ]);
      expect(order).toEqual(['backdated', 'plain']);
      // Anchored 250 ms before the release, the entry leaves the 600 ms window ~350 ms after.
      expect(backdated.waited).toBeGreaterThanOrEqual(350 - SLACK_MS);
      expect(plain.waited).toBeGreaterThanOrEqual(600 - SLACK_MS);
      await Promise.all([backdated.next(), plain.next()]);
    });

    test('a backdate never moves a call before its grant', async () => {
      const { a, b } = fresh({ windows: [{ limit: 1, windowMs: 600 }] });
      const first = await a.acquire('realm-1');
      const granted = performance.now();
      await sleep(100);
      await first({ backdateMs: 60_000 });
      const second = await b.acquire('realm-1');
      expect(performance.now() - granted).toBeGreaterThanOrEqual(600 - SLACK_MS);
      await second();
    });

    test('a call in flight keeps its place whatever backdate its release will carry', async () => {
      const { a, b } = fresh({ windows: [{ limit: 1, windowMs: 200 }] });
      const first = await a.acquire('realm-1');
      let second: (() => Promise<void>) | null = null;
      const waiting = b.acquire('realm-1').then((r) => (second = r));
      await sleep(400); // past the window, but the first call has not ended
      expect(second).toBeNull();
      await first({ backdateMs: 60_000 });
      await waiting;
      expect(second).not.toBeNull();
      await second!();
    });

    test('a realm that used up its budget does not slow down another realm', async () => {
      const { a, b } = fresh({ windows: [{ limit: 2, windowMs: 1_000 }] });
      const busy = Array.from({ length: 4 }, () => a.acquire('busy-realm').then((r) => r()));
      await sleep(20);
      const started = performance.now();
      const release = await b.acquire('quiet-realm');
      expect(performance.now() - started).toBeLessThan(300);
      await release();
      expect((await a.usage('busy-realm')).windows[0]!.used).toBe(2);
      await Promise.all(busy);
    });

    test('usage reports the calls started in each window and the calls in flight', async () => {
      const { a, b } = fresh({
        windows: [
          { limit: 10, windowMs: 1_000 },
          { limit: 500, windowMs: 60_000 },
        ],
        maxInFlight: 10,
      });
      const releases = await Promise.all([a, b, a].map((l) => l.acquire('realm-1')));
      await releases[0]!();
      await releases[0]!(); // a second release of the same slot changes nothing
      const usage = await b.usage('realm-1');
      expect(usage.windows.map((w) => w.used)).toEqual([3, 3]);
      expect(usage.inFlight).toBe(2);
      expect(usage.maxInFlight).toBe(10);
      expect((await a.usage('never-called')).windows.map((w) => w.used)).toEqual([0, 0]);
      await Promise.all(releases.map((r) => r()));
    });

    test('an in-flight slot that is never released comes back after its lease', async () => {
      const { a, b } = fresh({ maxInFlight: 1, inFlightLeaseMs: 300 });
      await a.acquire('realm-1'); // the holder "crashes": no release
      const started = performance.now();
      const release = await b.acquire('realm-1');
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
      await release();
    });

    test('one process serves its waiters in the order they asked, one that gives up included', async () => {
      const { a } = fresh({ maxInFlight: 1 });
      const holder = await a.acquire('realm-1');
      const granted: number[] = [];
      const controller = new AbortController();
      const waiters = [0, 1, 2, 3, 4].map((i) =>
        a.acquire('realm-1', i === 2 ? { signal: controller.signal } : {}).then(async (release) => {
          granted.push(i);
          await sleep(5);
          await release();
        }),
      );
      const settled = Promise.allSettled(waiters); // observed from the start: one rejects
      await sleep(30);
      controller.abort(new Error('gave up'));
      await sleep(30);
      await holder();
      const outcomes = await settled;
      expect(outcomes.map((o) => o.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
      ]);
      expect(granted).toEqual([0, 1, 3, 4]);
    });

    test('an aborted wait rejects with the abort reason and uses no budget', async () => {
      const { a, b } = fresh({ windows: [{ limit: 1, windowMs: 5_000 }] });
      const first = await a.acquire('realm-1');
      const controller = new AbortController();
      const reason = new Error('request cancelled');
      const waiting = b.acquire('realm-1', { signal: controller.signal });
      setTimeout(() => controller.abort(reason), 50);
      await expect(waiting).rejects.toBe(reason);
      const usage = await a.usage('realm-1');
      expect(usage.windows[0]!.used).toBe(1);
      expect(usage.inFlight).toBe(1);
      await first();
    });
  });
}
