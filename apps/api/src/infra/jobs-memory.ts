// In-process adapter of the jobs port (lib/jobs.ts) for the embedded default: one process,
// so queues, groups and schedules live in memory. Nothing here survives a restart, and it
// need not: the database is the record of what is left to do, and the domain re-enqueues
// unfinished work at start-up.
import { randomUUID } from 'node:crypto';
import {
  DEFAULT_CLOSE_GRACE_MS,
  DEFAULT_JOB_ATTEMPTS,
  DEFAULT_JOB_BACKOFF_MS,
  PermanentJobError,
  assertCron,
  jobBackoffMs,
  nextCronTime,
  type EnqueueOptions,
  type EnqueueResult,
  type HandlerOptions,
  type JobContext,
  type JobHandler,
  type JobMap,
  type JobWorker,
  type QueueCounts,
  type ScheduledEntry,
} from '../lib/jobs.ts';
import type { Clock } from '../lib/quickbooks/ports.ts';

interface MemoryJob {
  id: string;
  name: string;
  data: unknown;
  key: string | null;
  attempt: number;
  /** Not before this time (ms, clock time). */
  runAt: number;
}

interface Registered {
  handler: JobHandler<unknown>;
  options: HandlerOptions<unknown>;
  active: number;
}

interface ScheduleEntry {
  name: string;
  cron: string;
  data: unknown;
  nextAt: number;
}

export interface MemoryJobsOptions {
  clock?: Clock;
  /** How often due delayed jobs and schedules are checked. Default 250 ms. */
  tickMs?: number;
  onError?: (err: unknown, job: { id: string; name: string }) => void;
}

export class MemoryJobs<M extends JobMap> implements JobWorker<M> {
  readonly #clock: Clock;
  readonly #tickMs: number;
  readonly #onError: (err: unknown, job: { id: string; name: string }) => void;
  readonly #handlers = new Map<string, Registered>();
  /** Waiting and delayed jobs, in enqueue order. */
  #pending: MemoryJob[] = [];
  readonly #active = new Map<
    string,
    { job: MemoryJob; abort: AbortController; done: Promise<void> }
  >();
  readonly #keys = new Map<string, string>();
  readonly #busyGroups = new Set<string>();
  readonly #failed = new Map<string, number>();
  readonly #schedules = new Map<string, ScheduleEntry>();
  #timer: NodeJS.Timeout | null = null;
  #started = false;
  #closed = false;

  constructor(options: MemoryJobsOptions = {}) {
    this.#clock = options.clock ?? { now: () => Date.now() };
    this.#tickMs = options.tickMs ?? 250;
    this.#onError = options.onError ?? (() => {});
  }

  handle<N extends keyof M & string>(
    name: N,
    handler: JobHandler<M[N]>,
    options: HandlerOptions<M[N]> = {},
  ): void {
    if (this.#handlers.has(name)) throw new Error(`a handler for "${name}" is already registered`);
    this.#handlers.set(name, {
      handler: handler as JobHandler<unknown>,
      options: options as HandlerOptions<unknown>,
      active: 0,
    });
  }

  async enqueue<N extends keyof M & string>(
    name: N,
    data: M[N],
    options: EnqueueOptions = {},
  ): Promise<EnqueueResult> {
    if (this.#closed) throw new Error(`cannot enqueue "${name}": the job runner is closed`);
    if (options.key) {
      const existing = this.#keys.get(options.key);
      if (existing) return { id: existing, deduplicated: true };
    }
    const job: MemoryJob = {
      id: randomUUID(),
      name,
      // A copy, as a queue would serialise it: the caller's object may change afterwards.
      data: structuredClone(data),
      key: options.key ?? null,
      attempt: 1,
      runAt: this.#clock.now() + Math.max(0, options.delayMs ?? 0),
    };
    if (job.key) this.#keys.set(job.key, job.id);
    this.#pending.push(job);
    this.#pump();
    return { id: job.id, deduplicated: false };
  }

  async counts(): Promise<Record<string, QueueCounts>> {
    const now = this.#clock.now();
    const out: Record<string, QueueCounts> = {};
    const row = (n: string) => (out[n] ??= { waiting: 0, active: 0, delayed: 0, failed: 0 });
    for (const n of this.#handlers.keys()) row(n);
    for (const j of this.#pending) row(j.name)[j.runAt > now ? 'delayed' : 'waiting'] += 1;
    for (const { job } of this.#active.values()) row(job.name).active += 1;
    for (const [n, c] of this.#failed) row(n).failed = c;
    return out;
  }

  async hasJob<N extends keyof M & string>(_name: N, key: string): Promise<boolean> {
    return this.#keys.has(key);
  }

  /** Schedules are this process's timers: the queue cannot lose them while it runs. */
  async restoreSchedules(): Promise<string[]> {
    return [];
  }

  async schedule<N extends keyof M & string>(
    name: N,
    schedule: { id: string; cron: string },
    data: M[N],
  ): Promise<void> {
    assertCron(schedule.cron);
    this.#schedules.set(schedule.id, {
      name,
      cron: schedule.cron,
      data,
      nextAt: nextCronTime(schedule.cron, this.#clock.now()),
    });
  }

  async scheduled(): Promise<ScheduledEntry[]> {
    return [...this.#schedules].map(([id, s]) => ({
      id,
      name: s.name,
      cron: s.cron,
      next: s.nextAt,
    }));
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#timer = setInterval(() => this.tick(), this.#tickMs);
    this.#timer.unref();
    this.#pump();
  }

  /**
   * Fires due schedules and starts due jobs. Runs on a timer; tests with an injected clock
   * call it after moving the clock.
   */
  tick(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    for (const [id, s] of this.#schedules) {
      if (now < s.nextAt) continue;
      // One run per fire time, however late the tick: a process asleep for hours does not
      // replay every missed minute (the domain catches up missed daily runs itself).
      void this.enqueue(s.name, s.data as M[keyof M & string], {
        key: `schedule:${id}:${s.nextAt}`,
      });
      s.nextAt = nextCronTime(s.cron, now);
    }
    this.#pump();
  }

  async close(graceMs = DEFAULT_CLOSE_GRACE_MS): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    const running = [...this.#active.values()];
    const all = Promise.allSettled(running.map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    if ((await Promise.race([all, late])) === 'late') {
      for (const r of running) r.abort.abort(new Error('shutting down'));
      await all;
    }
    clearTimeout(timer);
  }

  #pump(): void {
    if (!this.#started || this.#closed) return;
    const now = this.#clock.now();
    const keep: MemoryJob[] = [];
    for (const job of this.#pending) {
      const reg = this.#handlers.get(job.name);
      const group = reg?.options.groupOf?.(job.data) ?? null;
      const runnable =
        reg &&
        job.runAt <= now &&
        reg.active < Math.max(1, reg.options.concurrency ?? 1) &&
        !(group && this.#busyGroups.has(group));
      if (runnable) this.#run(job, reg, group);
      else keep.push(job);
    }
    this.#pending = keep;
  }

  #run(job: MemoryJob, reg: Registered, group: string | null): void {
    reg.active += 1;
    if (group) this.#busyGroups.add(group);
    const abort = new AbortController();
    const maxAttempts = Math.max(1, reg.options.attempts ?? DEFAULT_JOB_ATTEMPTS);
    const ctx: JobContext = {
      id: job.id,
      name: job.name,
      attempt: job.attempt,
      maxAttempts,
      signal: abort.signal,
    };
    const done = (async () => {
      try {
        await reg.handler(job.data, ctx);
        this.#forget(job);
      } catch (err) {
        await this.#failedRun(job, reg, ctx, err, abort.signal.aborted);
      } finally {
        reg.active -= 1;
        if (group) this.#busyGroups.delete(group);
        this.#active.delete(job.id);
        this.#pump();
      }
    })();
    this.#active.set(job.id, { job, abort, done });
  }

  async #failedRun(
    job: MemoryJob,
    reg: Registered,
    ctx: JobContext,
    err: unknown,
    aborted: boolean,
  ): Promise<void> {
    if (aborted) {
      // Shutting down: handed back, not failed. In memory that ends with the process; the
      // database still says the work is unfinished and start-up enqueues it again.
      this.#forget(job);
      return;
    }
    this.#onError(err, job);
    const permanent = err instanceof PermanentJobError;
    if (!permanent && job.attempt < ctx.maxAttempts) {
      const delay = jobBackoffMs(job.attempt, reg.options.backoffMs ?? DEFAULT_JOB_BACKOFF_MS);
      this.#pending.push({ ...job, attempt: job.attempt + 1, runAt: this.#clock.now() + delay });
      return;
    }
    this.#forget(job);
    this.#failed.set(job.name, (this.#failed.get(job.name) ?? 0) + 1);
    try {
      await reg.options.onGiveUp?.(job.data, err, ctx);
    } catch (giveUpErr) {
      this.#onError(giveUpErr, job);
    }
  }

  #forget(job: MemoryJob): void {
    if (job.key && this.#keys.get(job.key) === job.id) this.#keys.delete(job.key);
  }
}
