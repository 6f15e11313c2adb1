// One suite for every jobs adapter (in-process and BullMQ): the behaviours sync, webhooks and
// write-back rely on. `make` returns two runners on the same queues — for BullMQ two
// processes' worth of connections, in-process the same instance twice — plus a clock when
// the adapter's schedules follow an injected one.
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentJobError, type JobContext, type JobWorker } from '../src/lib/jobs.ts';

export interface JobsPair {
  a: JobWorker<TestJobs>;
  b: JobWorker<TestJobs>;
  /** Set when schedules follow an injected clock (in-process); moves it and ticks. */
  advanceTo?: (ms: number) => void;
}

export interface TestJobs {
  work: { n: number; group?: string; failTimes?: number; permanent?: boolean; ms?: number };
  daily: { what: string };
}

const until = async (check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function jobsConformance(label: string, make: (prefix: string) => JobsPair): void {
  describe(`jobs: ${label}`, () => {
    const open: JobsPair[] = [];
    let seq = 0;
    const pair = () => {
      const p = make(`conf-jobs-${process.pid}-${Date.now().toString(36)}-${(seq += 1)}`);
      open.push(p);
      return p;
    };
    afterEach(async () => {
      for (const p of open.splice(0)) {
        await p.a.close(1_000);
        if (p.b !== p.a) await p.b.close(1_000);
      }
    });

    /** Registers a recording `work` handler on a runner. */
    function worker(
      w: JobWorker<TestJobs>,
      seen: { n: number; attempt: number; at: number; end?: number }[],
      opts: { concurrency?: number; giveUps?: unknown[]; attempts?: number } = {},
    ): void {
      const tries = new Map<number, number>();
      w.handle(
        'work',
        async (d, ctx: JobContext) => {
          const row: { n: number; attempt: number; at: number; end?: number } = {
            n: d.n,
            attempt: ctx.attempt,
            at: Date.now(),
          };
          seen.push(row);
          if (d.ms) await pause(d.ms);
          row.end = Date.now();
          const t = (tries.get(d.n) ?? 0) + 1;
          tries.set(d.n, t);
          if (d.permanent) throw new PermanentJobError(`job ${d.n} cannot succeed`);
          if (d.failTimes && t <= d.failTimes) throw new Error(`job ${d.n} failed (try ${t})`);
        },
        {
          concurrency: opts.concurrency ?? 1,
          attempts: opts.attempts ?? 4,
          backoffMs: 20,
          groupOf: (d) => d.group ?? null,
          onGiveUp: async (_d, err) => {
            opts.giveUps?.push(err);
          },
        },
      );
    }

    it('runs an enqueued job with a copy of its payload', async () => {
      const { a } = pair();
      const seen: any[] = [];
      worker(a, seen);
      await a.start();
      const payload = { n: 1 };
      const r = await a.enqueue('work', payload);
      payload.n = 99;
      expect(r.deduplicated).toBe(false);
      await until(() => seen.length === 1);
      expect(seen[0].n).toBe(1);
    });

    it('a second enqueue with the same key joins the waiting job; the key is known while its job waits or runs, and frees after it ran', async () => {
      const { a } = pair();
      const seen: any[] = [];
      worker(a, seen);
      expect(await a.hasJob('work', 'realm-1:sync')).toBe(false);
      const first = await a.enqueue('work', { n: 1 }, { key: 'realm-1:sync' });
      expect(await a.hasJob('work', 'realm-1:sync')).toBe(true);
      const second = await a.enqueue('work', { n: 2 }, { key: 'realm-1:sync' });
      expect(second).toEqual({ id: first.id, deduplicated: true });
      await a.start();
      await until(() => seen.length === 1);
      await pause(100);
      expect(seen.map((s) => s.n)).toEqual([1]);
      await until(async () => (await a.counts()).work?.active === 0);
      expect(await a.hasJob('work', 'realm-1:sync')).toBe(false);
      const third = await a.enqueue('work', { n: 3, ms: 300 }, { key: 'realm-1:sync' });
      expect(third.deduplicated).toBe(false);
      await until(() => seen.length === 2);
      // Running counts as much as waiting.
      expect(await a.hasJob('work', 'realm-1:sync')).toBe(true);
    });

    it('retries a failing job with backoff and counts its attempts', async () => {
      const { a } = pair();
      const seen: any[] = [];
      const giveUps: unknown[] = [];
      worker(a, seen, { giveUps });
      await a.start();
      await a.enqueue('work', { n: 7, failTimes: 2 });
      await until(() => seen.length === 3);
      await pause(100);
      expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
      expect(giveUps).toEqual([]);
    });

    it('gives up at once on a permanent error, and once after the last attempt', async () => {
      const { a } = pair();
      const seen: any[] = [];
      const giveUps: unknown[] = [];
      worker(a, seen, { giveUps, attempts: 2 });
      await a.start();
      await a.enqueue('work', { n: 1, permanent: true });
      await a.enqueue('work', { n: 2, failTimes: 10 });
      await until(() => giveUps.length === 2);
      await pause(150);
      expect(seen.filter((s) => s.n === 1)).toHaveLength(1);
      expect(seen.filter((s) => s.n === 2)).toHaveLength(2);
      expect(giveUps.map((e) => (e as Error).message).sort()).toEqual([
        'job 1 cannot succeed',
        'job 2 failed (try 2)',
      ]);
      const counts = await a.counts();
      expect(counts.work?.failed).toBe(2);
    });

    it('never runs two jobs of one group at once, while other groups proceed', async () => {
      const { a, b } = pair();
      const seen: any[] = [];
      worker(a, seen, { concurrency: 3 });
      if (b !== a) worker(b, seen, { concurrency: 3 });
      await a.start();
      if (b !== a) await b.start();
      for (let i = 1; i <= 3; i += 1) await a.enqueue('work', { n: i, group: 'busy', ms: 120 });
      await a.enqueue('work', { n: 10, group: 'quiet', ms: 10 });
      await until(() => seen.filter((s) => s.end).length === 4, 15_000);
      const busy = seen.filter((s) => s.n < 10).sort((x, y) => x.at - y.at);
      for (let i = 1; i < busy.length; i += 1)
        expect(busy[i].at).toBeGreaterThanOrEqual(busy[i - 1].end);
      // The quiet group did not wait for the busy one's three jobs.
      const quiet = seen.find((s) => s.n === 10);
      expect(quiet.end).toBeLessThan(busy[2].at);
    });

    it('with two runners on one queue, each job runs once', async () => {
      const { a, b } = pair();
      const seen: any[] = [];
      worker(a, seen, { concurrency: 2 });
      if (b !== a) worker(b, seen, { concurrency: 2 });
      await a.start();
      if (b !== a) await b.start();
      for (let i = 0; i < 20; i += 1) await (i % 2 ? a : b).enqueue('work', { n: i });
      await until(() => seen.length >= 20);
      await pause(200);
      expect(seen.map((s) => s.n).sort((x, y) => x - y)).toEqual([...Array(20).keys()]);
    });

    it('close lets a running job finish within the grace period', async () => {
      const { a } = pair();
      const seen: any[] = [];
      worker(a, seen);
      await a.start();
      await a.enqueue('work', { n: 1, ms: 200 });
      await until(() => seen.length === 1);
      await a.close(5_000);
      expect(seen[0].end).toBeDefined();
    });

    it('close aborts a job that outlives the grace period and hands it back, not failed', async () => {
      const { a, b } = pair();
      const giveUps: unknown[] = [];
      let aborted = false;
      a.handle(
        'work',
        async (_d, ctx) => {
          await new Promise<void>((resolve, reject) => {
            ctx.signal.addEventListener('abort', () => {
              aborted = true;
              reject(new Error('aborted'));
            });
            setTimeout(resolve, 10_000);
          });
        },
        { attempts: 1, onGiveUp: async (_d, err) => void giveUps.push(err) },
      );
      await a.start();
      await a.enqueue('work', { n: 1 });
      await until(async () => (await a.counts()).work?.active === 1);
      const t0 = Date.now();
      await a.close(200);
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(aborted).toBe(true);
      expect(giveUps).toEqual([]);
      if (b !== a) {
        // Handed back, not lost: the other process runs it.
        const rerun: number[] = [];
        b.handle('work', async (d) => void rerun.push(d.n));
        await b.start();
        await until(() => rerun.length === 1);
        expect(rerun).toEqual([1]);
      }
    });

    it('a schedule registered by two runners fires once per fire time', async () => {
      const p = pair();
      const runs: string[] = [];
      p.a.handle('daily', async (d) => void runs.push(d.what));
      if (p.b !== p.a) p.b.handle('daily', async (d) => void runs.push(d.what));
      await p.a.schedule('daily', { id: 'daily-test', cron: '0 3 * * *' }, { what: 'reconcile' });
      await p.b.schedule('daily', { id: 'daily-test', cron: '0 3 * * *' }, { what: 'reconcile' });
      await p.a.start();
      if (p.b !== p.a) await p.b.start();
      if (p.advanceTo) {
        const day = Date.parse('2030-01-02T00:00:00Z');
        p.advanceTo(day + 3 * 3600_000 - 1_000); // 02:59:59
        await pause(100);
        expect(runs).toEqual([]);
        p.advanceTo(day + 3 * 3600_000); // 03:00:00
        p.advanceTo(day + 3 * 3600_000 + 30_000); // a second tick in the same minute
        await until(() => runs.length === 1);
        await pause(100);
        expect(runs).toEqual(['reconcile']);
        p.advanceTo(day + 27 * 3600_000); // next day 03:00
        await until(() => runs.length === 2);
      } else {
        await expect(p.a.scheduled()).resolves.toEqual([
          { id: 'daily-test', name: 'daily', cron: '0 3 * * *', next: expect.any(Number) },
        ]);
        const [entry] = await p.a.scheduled();
        const next = new Date(entry!.next);
        expect([next.getUTCHours(), next.getUTCMinutes(), next.getUTCSeconds()]).toEqual([3, 0, 0]);
        expect(entry!.next - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
      }
    });

    it('a schedule that fires while two runners consume runs once per fire time', async () => {
      const p = pair();
      const ids: string[] = [];
      const record = async (_d: { what: string }, ctx: JobContext) => void ids.push(ctx.id);
      p.a.handle('daily', record);
      if (p.b !== p.a) p.b.handle('daily', record);
      // Every second (cron with a seconds field).
      await p.a.schedule('daily', { id: 'every-second', cron: '* * * * * *' }, { what: 'tick' });
      await p.b.schedule('daily', { id: 'every-second', cron: '* * * * * *' }, { what: 'tick' });
      await p.a.start();
      if (p.b !== p.a) await p.b.start();
      if (p.advanceTo) {
        const t0 = Date.parse('2030-01-02T00:00:00Z');
        for (let s = 0; s <= 3; s += 1) p.advanceTo(t0 + s * 1_000 + 500);
        await until(() => ids.length >= 3);
      } else {
        await pause(3_500);
      }
      await pause(100);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBeGreaterThanOrEqual(2);
      expect(ids.length).toBeLessThanOrEqual(4);
    });
  });
}
