// Webhooks, end to end: verify and persist the raw delivery (webhook-receiver.ts), answer at
// once, and process asynchronously in the 'qbo.webhook-process' job (webhook-processor.ts).
//
// How the job is woken, and why:
//   * A stored delivery enqueues the job with a short delay (`coalesceMs`): notifications
//     arriving within that window are read from QBO together, in one CDC call or a few
//     `Id IN` queries per realm. The dedup key is the window, so a burst of deliveries makes
//     one job per window, and a running job never swallows the wake-up of a later delivery.
//   * The job drains: it claims due events round after round until none is left.
//   * A sweep at start and every minute (cron) picks up what a crash, a lost wake-up or a
//     backoff left behind: the database, not the queue, is the record.
//   * An operator's replay (webhook-replay.ts) puts events back to pending and wakes the job
//     at once.
//   * One job at a time (group `qbo.webhook-process`); several workers in the scaled mode
//     could claim side by side (SKIP LOCKED), but one serialised processor coalesces best.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../../../db/schema.ts';
import type { JobQueue, JobWorker } from '../../jobs.ts';
import type { QboJobs } from '../jobs.ts';
import type { Clock } from '../ports.ts';
import { nextDueAt } from './webhook-events.repo.ts';
import { WebhookProcessor, type ProcessorOptions, type QboReader } from './webhook-processor.ts';
import { WebhookReceiver } from './webhook-receiver.ts';
import { replayWebhookEvents, type ReplayResult, type ReplaySelection } from './webhook-replay.ts';

export const WEBHOOK_PROCESS_JOB = 'qbo.webhook-process';
type WebhookJobs = QboJobs;

export const DEFAULT_COALESCE_MS = 500;
export const WEBHOOK_SWEEP_CRON = '* * * * *';

export interface WebhooksDeps {
  db: Kysely<Database>;
  /**
   * Where deliveries are stored: the same database, ahead of queued statements on PGlite
   * (`DatabaseHandle.urgentDb`), because Intuit waits for the answer. Default `db`.
   */
  urgentDb?: Kysely<Database>;
  clock: Clock;
  logger: Logger;
  verifierToken: string;
  jobs: JobQueue<WebhookJobs>;
  /** QBO reads (qbo-reader.ts over the API client). */
  qbo: QboReader;
  /** Window within which deliveries are processed together. Default 500 ms. */
  coalesceMs?: number;
  invalidStorePerMinute?: number;
  processor?: ProcessorOptions;
}

export class Webhooks {
  readonly receiver: WebhookReceiver;
  readonly processor: WebhookProcessor;
  private readonly coalesceMs: number;
  private readonly log: Logger;

  constructor(private readonly d: WebhooksDeps) {
    this.coalesceMs = d.coalesceMs ?? DEFAULT_COALESCE_MS;
    this.log = d.logger.child({ component: 'webhooks' });
    this.receiver = new WebhookReceiver({
      db: d.urgentDb ?? d.db,
      clock: d.clock,
      verifierToken: d.verifierToken,
      onStored: () => this.wake('delivery'),
      ...(d.invalidStorePerMinute !== undefined
        ? { invalidStorePerMinute: d.invalidStorePerMinute }
        : {}),
    });
    this.processor = new WebhookProcessor({ db: d.db, clock: d.clock, qbo: d.qbo }, d.processor);
  }

  /** Enqueues processing at the end of the current coalescing window (never throws). */
  wake(reason: WebhookJobs[typeof WEBHOOK_PROCESS_JOB]['reason'], delayMs?: number): void {
    const now = this.d.clock.now();
    const window = Math.max(1, this.coalesceMs);
    const due = delayMs !== undefined ? now + delayMs : (Math.floor(now / window) + 1) * window;
    this.d.jobs
      .enqueue(
        WEBHOOK_PROCESS_JOB,
        { reason },
        { key: `${WEBHOOK_PROCESS_JOB}:${due}`, delayMs: Math.max(0, due - now) },
      )
      .catch((err: unknown) =>
        // The sweep picks the event up within a minute: the delivery is stored.
        this.log.warn({ err }, 'could not enqueue webhook processing; the sweep will'),
      );
  }

  /** Queues stored events again (all or nothing) and wakes the processor when any was. */
  async replay(sel: ReplaySelection): Promise<ReplayResult> {
    const r = await replayWebhookEvents(this.d, sel);
    if (r.kind === 'queued' && r.ids.length) {
      this.log.info({ events: r.ids.length, remaining: r.remaining }, 'webhook events replayed');
      this.wake('replay', 0);
    }
    return r;
  }

  /** Registers the consumer (where the container is built). */
  register(worker: JobWorker<WebhookJobs>): void {
    const processor = this.processor;
    worker.handle(
      WEBHOOK_PROCESS_JOB,
      async (data, ctx) => {
        const r = await processor.drain(ctx.signal);
        if (r.claimed) this.log.info({ ...r, trigger: data.reason }, 'webhook events processed');
        await this.scheduleRetry();
      },
      { groupOf: () => WEBHOOK_PROCESS_JOB, attempts: 5, backoffMs: 1_000 },
    );
  }

  /**
   * In the processes that consume jobs, once started: the per-minute sweep, and one sweep
   * now, so events stored while no worker ran (a crash after the 200) are processed.
   */
  async startSweeps(worker: JobWorker<WebhookJobs>): Promise<void> {
    await worker.schedule(
      WEBHOOK_PROCESS_JOB,
      { id: 'qbo.webhook-sweep', cron: WEBHOOK_SWEEP_CRON },
      { reason: 'sweep' },
    );
    this.wake('sweep', 0);
  }

  /**
   * Wakes the processor when the earliest backed-off event is due, or when claims a dead
   * worker left behind lapse (so they do not wait for the next minute's sweep).
   */
  private async scheduleRetry(): Promise<void> {
    const next = await nextDueAt(this.d.db, this.processor.leaseMs);
    if (!next) return;
    this.wake('retry', Math.max(0, next.getTime() - this.d.clock.now()));
  }
}
