// BullMQ adapter of the jobs port (lib/jobs.ts) for the scaled mode: API processes enqueue,
// `npm run worker` processes consume, all through one Redis. One BullMQ queue per job name,
// so each name has its own concurrency and its own counts.
//
// Retries are done here rather than with BullMQ's `attempts` option: the retry policy belongs
// to the handler (registered on the worker side), while jobs are added by API processes that
// never see it. A failed run moves the job back to "delayed" with its attempt count in the
// envelope; a permanent failure or the last attempt calls `onGiveUp` and fails the job for
// good (UnrecoverableError). A job whose group (realm) is busy elsewhere is delayed the same
// way without using an attempt. A worker killed mid-job loses nothing: BullMQ's stalled-job
// check hands the job to another worker once its lock lapses (`lockDurationMs`).
//
// When Redis loses its data (a restart without persistence, a failover) the queues, the
// schedulers and the locks of running jobs are gone. A running job notices at its next lock
// renewal and is aborted rather than left to finish beside a second copy; the schedulers
// this process registered are kept here so `restoreSchedules` can put them back; and
// `hasJob` counts a job running here even when Redis no longer knows it.
import { randomUUID } from 'node:crypto';
import {
  DelayedError,
  Queue,
  UnrecoverableError,
  Worker,
  type Job,
  type JobsOptions,
} from 'bullmq';
import type { Redis } from 'ioredis';
import {
  DEFAULT_CLOSE_GRACE_MS,
  DEFAULT_JOB_ATTEMPTS,
  DEFAULT_JOB_BACKOFF_MS,
  PermanentJobError,
  assertCron,
  jobBackoffMs,
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
import { LockTimeoutError, type Lock, type LockLease } from '../lib/quickbooks/ports.ts';

/** What a BullMQ job carries: the payload and the run it is on. */
interface Envelope {
  d: unknown;
  a: number;
}

export interface BullJobsOptions {
  /** A connection made with `createRedis(url, { purpose: 'bullmq' })`; workers duplicate it. */
  connection: Redis;
  /** Redis key prefix of every queue (tests isolate themselves with it). Default `qbo-sync`. */
  prefix?: string;
  /** Cross-process lock for `groupOf` (the Redis lock). */
  lock: Lock;
  /** How long a running job's lock lasts without renewal; a dead worker's job returns after it. */
  lockDurationMs?: number;
  /** How long a job waits before looking again when its group is busy. Default 1 s. */
  groupRetryMs?: number;
  onError?: (err: unknown, job: { id: string; name: string }) => void;
}

const GROUP_LEASE_MS = 30_000;
const KEEP_FAILED_JOBS = 1_000;

export class BullJobs<M extends JobMap> implements JobWorker<M> {
  readonly #o: Required<Omit<BullJobsOptions, 'onError'>> & Pick<BullJobsOptions, 'onError'>;
  readonly #queues = new Map<string, Queue>();
  readonly #handlers = new Map<
    string,
    { handler: JobHandler<unknown>; options: HandlerOptions<unknown> }
  >();
  readonly #workers: Worker[] = [];
  /** What `schedule` registered, to register again if Redis loses it. */
  readonly #schedules = new Map<string, { name: string; cron: string; data: unknown }>();
  /** Deduplication keys of the jobs running in this process (how many of each). */
  readonly #runningKeys = new Map<string, number>();
  /** Running jobs whose lock renewal failed: aborted, and not handed back. */
  readonly #lost = new Set<string>();
  #closed = false;

  constructor(options: BullJobsOptions) {
    this.#o = {
      prefix: 'qbo-sync',
      lockDurationMs: 15_000,
      groupRetryMs: 1_000,
      ...options,
    };
  }

  #queue(name: string): Queue {
    let q = this.#queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.#o.connection, prefix: this.#o.prefix });
      this.#queues.set(name, q);
    }
    return q;
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
    });
  }

  async enqueue<N extends keyof M & string>(
    name: N,
    data: M[N],
    options: EnqueueOptions = {},
  ): Promise<EnqueueResult> {
    if (this.#closed) throw new Error(`cannot enqueue "${name}": the job runner is closed`);
    const id = randomUUID();
    const envelope: Envelope = { d: data, a: 1 };
    const opts: JobsOptions = {
      jobId: id,
      ...jobDefaults,
      ...(options.delayMs ? { delay: options.delayMs } : {}),
      // Simple-mode deduplication: holds while the job waits, is delayed or runs.
      ...(options.key ? { deduplication: { id: options.key } } : {}),
    };
    const job = await this.#queue(name).add(name, envelope, opts);
    return { id: job.id ?? id, deduplicated: job.id !== id };
  }

  async counts(): Promise<Record<string, QueueCounts>> {
    const names = new Set([...this.#handlers.keys(), ...this.#queues.keys()]);
    const out: Record<string, QueueCounts> = {};
    for (const name of names) {
      const c = await this.#queue(name).getJobCounts(
        'waiting',
        'prioritized',
        'active',
        'delayed',
        'failed',
      );
      out[name] = {
        waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
        active: c.active ?? 0,
        delayed: c.delayed ?? 0,
        failed: c.failed ?? 0,
      };
    }
    return out;
  }

  async hasJob<N extends keyof M & string>(name: N, key: string): Promise<boolean> {
    if (this.#runningKeys.has(key)) return true;
    // Simple-mode deduplication keeps the key until the job completes or fails for good.
    return (await this.#queue(name).getDeduplicationJobId(key)) !== null;
  }

  async schedule<N extends keyof M & string>(
    name: N,
    schedule: { id: string; cron: string },
    data: M[N],
  ): Promise<void> {
    assertCron(schedule.cron);
    const entry = { name, cron: schedule.cron, data };
    await this.#upsertScheduler(schedule.id, entry);
    this.#schedules.set(schedule.id, entry);
  }

  async restoreSchedules(): Promise<string[]> {
    const restored: string[] = [];
    for (const [id, entry] of this.#schedules) {
      if (await this.#queue(entry.name).getJobScheduler(id)) continue;
      await this.#upsertScheduler(id, entry);
      restored.push(id);
    }
    return restored;
  }

  async #upsertScheduler(
    id: string,
    entry: { name: string; cron: string; data: unknown },
  ): Promise<void> {
    const envelope: Envelope = { d: entry.data, a: 1 };
    // A job scheduler is one Redis record per id: every worker upserting it leaves one entry,
    // and each fire time produces one job whichever worker takes it.
    await this.#queue(entry.name).upsertJobScheduler(
      id,
      { pattern: entry.cron, tz: 'UTC' },
      { name: entry.name, data: envelope, opts: jobDefaults },
    );
  }

  async scheduled(): Promise<ScheduledEntry[]> {
    const out: ScheduledEntry[] = [];
    for (const name of new Set([...this.#handlers.keys(), ...this.#queues.keys()])) {
      for (const s of await this.#queue(name).getJobSchedulers()) {
        out.push({ id: s.key, name: s.name, cron: s.pattern ?? '', next: Number(s.next ?? 0) });
      }
    }
    return out;
  }

  async start(): Promise<void> {
    for (const [name, reg] of this.#handlers) {
      const worker = new Worker(
        name,
        (job: Job, token?: string, signal?: AbortSignal) => this.#process(job, token, signal, reg),
        {
          connection: this.#o.connection,
          prefix: this.#o.prefix,
          concurrency: Math.max(1, reg.options.concurrency ?? 1),
          lockDuration: this.#o.lockDurationMs,
          stalledInterval: this.#o.lockDurationMs,
          maxStalledCount: 3,
          autorun: true,
        },
      );
      // BullMQ reports each failed renewal here too ("could not renew lock for job …").
      worker.on('error', (err) => this.#o.onError?.(err, { id: '', name }));
      // The lock is gone: Redis lost it, or the job was declared stalled and may run elsewhere.
      worker.on('lockRenewalFailed', (ids: string[]) => {
        for (const id of ids) {
          this.#lost.add(id);
          worker.cancelJob(id, 'the job lost its lock in Redis');
        }
      });
      this.#workers.push(worker);
    }
    await Promise.all(this.#workers.map((w) => w.waitUntilReady()));
  }

  async #process(
    job: Job,
    token: string | undefined,
    signal: AbortSignal | undefined,
    reg: { handler: JobHandler<unknown>; options: HandlerOptions<unknown> },
  ): Promise<void> {
    const env = job.data as Envelope;
    const maxAttempts = Math.max(1, reg.options.attempts ?? DEFAULT_JOB_ATTEMPTS);
    const ctx: JobContext = {
      id: job.id ?? '',
      name: job.name,
      attempt: env.a,
      maxAttempts,
      signal: signal ?? new AbortController().signal,
    };
    const key = job.opts.deduplication?.id ?? null;
    if (key) this.#runningKeys.set(key, (this.#runningKeys.get(key) ?? 0) + 1);
    try {
      await this.#run(job, token, env, ctx, reg);
    } finally {
      if (key) {
        const n = (this.#runningKeys.get(key) ?? 1) - 1;
        if (n > 0) this.#runningKeys.set(key, n);
        else this.#runningKeys.delete(key);
      }
      this.#lost.delete(ctx.id);
    }
  }

  async #run(
    job: Job,
    token: string | undefined,
    env: Envelope,
    ctx: JobContext,
    reg: { handler: JobHandler<unknown>; options: HandlerOptions<unknown> },
  ): Promise<void> {
    const maxAttempts = ctx.maxAttempts;
    const group = reg.options.groupOf?.(env.d) ?? null;
    let lease: LockLease | null = null;
    if (group) {
      try {
        lease = await this.#o.lock.acquire(`job-group:${group}`, {
          ttlMs: GROUP_LEASE_MS,
          waitMs: 0,
        });
      } catch (err) {
        if (!(err instanceof LockTimeoutError)) throw err;
        // Busy elsewhere: come back later without spending an attempt or a worker slot.
        const jitter = Math.floor(Math.random() * this.#o.groupRetryMs);
        await job.moveToDelayed(Date.now() + this.#o.groupRetryMs + jitter, token);
        throw new DelayedError();
      }
    }
    const renew = lease
      ? setInterval(() => void lease.extend(GROUP_LEASE_MS).catch(() => {}), GROUP_LEASE_MS / 3)
      : null;
    try {
      await reg.handler(env.d, ctx);
    } catch (err) {
      // Lost: nothing in Redis to hand back; the database still says the work is unfinished.
      if (this.#lost.has(ctx.id)) throw new Error('the job lost its lock in Redis: stopped');
      if (ctx.signal.aborted) {
        // Shutting down: hand the job back untouched for the next worker.
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      this.#o.onError?.(err, { id: ctx.id, name: job.name });
      if (!(err instanceof PermanentJobError) && env.a < maxAttempts) {
        const delay = jobBackoffMs(env.a, reg.options.backoffMs ?? DEFAULT_JOB_BACKOFF_MS);
        await job.updateData({ d: env.d, a: env.a + 1 } satisfies Envelope);
        await job.moveToDelayed(Date.now() + delay, token);
        throw new DelayedError();
      }
      try {
        await reg.options.onGiveUp?.(env.d, err, ctx);
      } catch (giveUpErr) {
        this.#o.onError?.(giveUpErr, { id: ctx.id, name: job.name });
      }
      throw new UnrecoverableError(err instanceof Error ? err.message : String(err));
    } finally {
      if (renew) clearInterval(renew);
      await lease?.release().catch(() => false);
    }
  }

  async close(graceMs = DEFAULT_CLOSE_GRACE_MS): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closing = Promise.allSettled(this.#workers.map((w) => w.close()));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    if ((await Promise.race([closing, late])) === 'late') {
      for (const w of this.#workers) w.cancelAllJobs('shutting down');
      await closing;
    }
    clearTimeout(timer);
    await Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
  }
}

const jobDefaults: JobsOptions = {
  // The database keeps each run's outcome; Redis keeps only what is still to do, plus
  // recent failures for inspection.
  removeOnComplete: true,
  removeOnFail: { count: KEEP_FAILED_JOBS },
};
