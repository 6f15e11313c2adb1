// The periodic check of a process that runs jobs: what the database says is unfinished must
// have a job in the queue, and the schedules must be registered. Both hold by themselves
// unless the queue loses its data — a Redis restarted without persistence, a failover to a
// replica that had not caught up — and then, without this, a sync run would stay `running`
// and the daily passes would stop until someone restarted a process.
//
// Rules, and why:
//   * Cheap when nothing is wrong: one read of the unfinished rows (few), one look-up of each
//     one's job by its deduplication key, one look-up per schedule.
//   * A job is put back only when it was missing at two checks in a row. A running job whose
//     lock Redis lost is aborted at its next lock renewal (lib/jobs.ts), which comes well
//     within one interval; enqueueing at the first miss could start a second copy before the
//     first has stopped. The two checks also skip work created between its row and its job.
//   * Putting back uses the work's own deduplication key, so several processes checking at
//     once add one job, and a handler finding the work done does nothing (handlers are
//     idempotent; write-back's requestids keep QBO from seeing a duplicate).
import type pino from 'pino';
import type { JobMap, JobWorker } from './jobs.ts';

/** Work recorded in the database and the job that carries it out. */
export interface QueuedWork<M extends JobMap = JobMap> {
  name: keyof M & string;
  /** The deduplication key its job is enqueued with. */
  key: string;
  /** Enqueues its job again (with `key`). */
  enqueue(): Promise<unknown>;
}

export interface JobRecoveryDeps<M extends JobMap> {
  worker: JobWorker<M>;
  /** Each lists the unfinished work of one kind (sync runs, push-all runs…). */
  sources: (() => Promise<QueuedWork<M>[]>)[];
  /** Called once schedules had to be registered again: the queue lost its data. */
  onQueueLost?: () => Promise<void>;
  logger: pino.Logger;
}

export interface RecoveryCheck {
  /** Schedules registered again. */
  schedules: string[];
  /** Keys of the jobs enqueued again. */
  requeued: string[];
}

export const DEFAULT_JOB_RECOVERY_INTERVAL_MS = 30_000;

export class JobRecovery<M extends JobMap> {
  readonly #d: JobRecoveryDeps<M>;
  /** Keys found without a job at the previous check. */
  #missing = new Set<string>();

  constructor(deps: JobRecoveryDeps<M>) {
    this.#d = deps;
  }

  async check(): Promise<RecoveryCheck> {
    const { worker, logger } = this.#d;
    const schedules = await worker.restoreSchedules();
    if (schedules.length > 0) {
      logger.warn(
        { schedules },
        'job schedules were missing from the queue (Redis lost its data?): registered again',
      );
      await this.#d.onQueueLost?.();
    }
    const missing = new Set<string>();
    const requeued: string[] = [];
    for (const source of this.#d.sources) {
      for (const work of await source()) {
        if (await worker.hasJob(work.name, work.key)) continue;
        if (!this.#missing.has(work.key)) {
          missing.add(work.key);
          continue;
        }
        await work.enqueue();
        requeued.push(work.key);
      }
    }
    this.#missing = missing;
    if (requeued.length > 0) {
      logger.warn(
        { jobs: requeued },
        'unfinished work had no job in the queue (Redis lost its data?): enqueued again',
      );
    }
    return { schedules, requeued };
  }

  /**
   * Checks every `intervalMs` until the returned stop function is called; stop resolves once
   * a check in flight has ended, so a shutdown closes the queue after it, not under it.
   */
  start(intervalMs = DEFAULT_JOB_RECOVERY_INTERVAL_MS): () => Promise<void> {
    let running: Promise<void> | null = null;
    let stopped = false;
    const timer = setInterval(() => {
      if (running || stopped) return;
      running = this.check()
        .then(() => undefined)
        .catch((err: unknown) => this.#d.logger.warn({ err }, 'job recovery check failed'))
        .finally(() => {
          running = null;
        });
    }, intervalMs);
    timer.unref();
    return async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    };
  }
}
