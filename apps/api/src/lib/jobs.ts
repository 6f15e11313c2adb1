// The jobs port: how domain code asks for background work and how it is handed that work.
// Two adapters implement it (infra/jobs-memory.ts for the embedded default, one process;
// infra/jobs-bullmq.ts on Redis for the scaled mode, many processes), and both pass one
// conformance suite (apps/api/test/adapter-conformance-jobs.ts).
//
// Rules every adapter keeps, and why:
//   * A queue only wakes workers. The database is the record of what is left to do: a job's
//     payload names work stored in Postgres (a sync run, a webhook event, an invoice), so a
//     lost or repeated job costs a little time, never data. Handlers must be idempotent.
//   * `key` deduplicates: while a job with the same key waits or runs, enqueueing it again
//     returns the existing job's id (a second "sync this realm" click joins the first).
//   * `groupOf` serialises: two jobs of the same group (a realm) never run at the same time,
//     in this process or any other; a job whose group is busy waits without using an attempt
//     and without holding a worker slot, so one busy company does not starve the others.
//   * Transient failures retry with exponential backoff up to `attempts`; a
//     `PermanentJobError` ends the job at once. `onGiveUp` runs once when a job will not run
//     again, so the domain can record the reason where the admin page can read it.
//   * `schedule` registers a cron entry once however many processes call it (BullMQ job
//     schedulers; one timer in-process). Schedules are UTC.
//   * `close` stops taking work, lets running jobs finish for `graceMs`, then aborts their
//     signals; an aborted job is handed back (retried later), not lost.
//   * A running job whose lease in the queue is lost (Redis lost its data, or the job was
//     declared stalled and handed to another worker) has its signal aborted: it may be
//     running elsewhere by now, and work for one realm never runs in two places at once.
//   * A queue can lose what it holds (a Redis restarted without persistence, a failover):
//     `restoreSchedules` and `hasJob` let a process notice and put back what the database
//     says is unfinished (lib/job-recovery.ts).
import { CronExpressionParser } from 'cron-parser';

/** What a handler gets besides its payload. */
export interface JobContext {
  id: string;
  name: string;
  /** 1 on the first run. */
  attempt: number;
  maxAttempts: number;
  /** Aborted when the process shuts down past its grace period. */
  signal: AbortSignal;
}

export type JobHandler<D> = (data: D, ctx: JobContext) => Promise<void>;

export interface HandlerOptions<D> {
  /** Jobs of this name running at once in this process. Default 1. */
  concurrency?: number;
  /** Runs in all, the first included. Default 5. */
  attempts?: number;
  /** First retry delay; doubles per retry (capped at 10 minutes). Default 1 s. */
  backoffMs?: number;
  /** Jobs of one group never run at the same time anywhere (e.g. the realm id). */
  groupOf?: (data: D) => string | null;
  /** Called once when the job will not be run again: permanent error, or attempts used up. */
  onGiveUp?: (data: D, err: unknown, ctx: JobContext) => Promise<void>;
}

export interface EnqueueOptions {
  /** Deduplication key: while a job with this key waits or runs, no second one is added. */
  key?: string;
  delayMs?: number;
}

export interface EnqueueResult {
  id: string;
  /** True when a waiting or running job with the same key was found and no job was added. */
  deduplicated: boolean;
}

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

/** The side that asks for work (API processes only need this). */
export interface JobQueue<M extends JobMap> {
  enqueue<N extends keyof M & string>(
    name: N,
    data: M[N],
    options?: EnqueueOptions,
  ): Promise<EnqueueResult>;
  /** Jobs per name and state, for /metrics and /readyz. */
  counts(): Promise<Record<string, QueueCounts>>;
  /**
   * Whether a job enqueued with `key` still waits, is delayed or runs: in the queue, or in
   * this process (a job running here counts even when the queue has lost it).
   */
  hasJob<N extends keyof M & string>(name: N, key: string): Promise<boolean>;
}

/** The side that does work (the worker, or `npm start` in the embedded default). */
export interface JobWorker<M extends JobMap> extends JobQueue<M> {
  handle<N extends keyof M & string>(
    name: N,
    handler: JobHandler<M[N]>,
    options?: HandlerOptions<M[N]>,
  ): void;
  /** A cron entry (UTC, 5 fields) that enqueues `name` with `data`; registered once everywhere. */
  schedule<N extends keyof M & string>(
    name: N,
    schedule: { id: string; cron: string },
    data: M[N],
  ): Promise<void>;
  /** The registered schedules and their next fire time (ms). */
  scheduled(): Promise<ScheduledEntry[]>;
  /**
   * Registers again each schedule this process registered that the queue no longer has
   * (its Redis lost its data). Returns the ids put back; none in the normal case.
   */
  restoreSchedules(): Promise<string[]>;
  /** Starts consuming the names registered with `handle`. */
  start(): Promise<void>;
  /** Stops taking work; running jobs get `graceMs` (default 10 s), then their signals abort. */
  close(graceMs?: number): Promise<void>;
}

export interface ScheduledEntry {
  id: string;
  name: string;
  cron: string;
  next: number;
}

// The payloads of each job name; the catalogue itself belongs to the domain that uses it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any JSON-serialisable payload
export type JobMap = Record<string, any>;

/** Throw from a handler when retrying cannot help (bad input, revoked connection…). */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export const DEFAULT_JOB_ATTEMPTS = 5;
export const DEFAULT_JOB_BACKOFF_MS = 1_000;
export const MAX_JOB_BACKOFF_MS = 10 * 60_000;
export const DEFAULT_CLOSE_GRACE_MS = 10_000;

/** Delay before run `attempt + 1` after run `attempt` failed. */
export function jobBackoffMs(attempt: number, baseMs = DEFAULT_JOB_BACKOFF_MS): number {
  return Math.min(MAX_JOB_BACKOFF_MS, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** The next time (ms) strictly after `afterMs` at which a UTC cron expression fires. */
export function nextCronTime(cron: string, afterMs: number): number {
  return CronExpressionParser.parse(cron, { currentDate: new Date(afterMs), tz: 'UTC' })
    .next()
    .getTime();
}

/**
 * The latest time (ms) at or before `atMs` at which a UTC cron expression fired. A daily job
 * whose last run is older than this was missed (the process was down) and is due now.
 */
export function previousCronTime(cron: string, atMs: number): number {
  // cron-parser's prev() is strict; step a millisecond past so an exact hit counts.
  return CronExpressionParser.parse(cron, { currentDate: new Date(atMs + 1), tz: 'UTC' })
    .prev()
    .getTime();
}

/** Throws a RangeError naming the problem when `cron` is not a valid expression. */
export function assertCron(cron: string): void {
  try {
    CronExpressionParser.parse(cron, { tz: 'UTC' });
  } catch (err) {
    throw new RangeError(`invalid cron expression "${cron}": ${(err as Error).message}`);
  }
}
