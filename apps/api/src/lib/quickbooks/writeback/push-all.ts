// POST /invoices/push-all as a job ('qbo.invoice-push-all'): every campaign invoice still to
// push, pushed within the realm's limits (the API client's limiter holds every call to
// 10/s, 500/min, 10 in flight), with its progress and summary in qbo_writeback_runs. The
// database is the record: a run cut short (crash, shutdown) leaves the rest `pending`, and
// the next run takes them, and a run whose job the queue lost is enqueued again
// (`queuedWork`, lib/job-recovery.ts). One bad invoice never stops the others: each push ends in
// `synced` or `error` with its reason, and the run counts it.
import { sql, type Kysely } from 'kysely';
import type pino from 'pino';
import { toJson, type Database, type QboWritebackRun } from '../../../db/schema.ts';
import type { JobContext, JobQueue } from '../../jobs.ts';
import type { QueuedWork } from '../../job-recovery.ts';
import type { Writeback } from './writeback.ts';

export const PUSH_ALL_JOB = 'qbo.invoice-push-all';

export interface WritebackJobs {
  [PUSH_ALL_JOB]: { realmId: string; runId: string };
}

export interface PushAllDeps {
  db: Kysely<Database>;
  writeback: Writeback;
  jobs: JobQueue<WritebackJobs>;
  logger: pino.Logger;
  /** Invoices pushed at once (QBO allows 10 calls in flight). The limiter holds the limits. Default 10. */
  concurrency?: number;
}

const MAX_FAILURES_KEPT = 100;
/** One push-all job per realm at a time. */
const pushAllJobKey = (realmId: string) => `push-all:${realmId}`;
/** Rows a run does not touch: invoices the application itself withdrew. */
export const NOT_PUSHED = ['void', 'cancelled'] as const;

export class PushAll {
  readonly #d: PushAllDeps;

  constructor(deps: PushAllDeps) {
    this.#d = deps;
  }

  /** Queues a run for the realm, or answers the one already queued or running. */
  async start(realmId: string): Promise<{ run: QboWritebackRun; deduplicated: boolean }> {
    const unfinished = await this.#d.db
      .selectFrom('qbo_writeback_runs')
      .selectAll()
      .where('realm_id', '=', realmId)
      .where('status', 'in', ['queued', 'running'])
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    const run =
      unfinished ??
      (await this.#d.db
        .insertInto('qbo_writeback_runs')
        .values({ realm_id: realmId })
        .returningAll()
        .executeTakeFirstOrThrow());
    // Enqueued again for an unfinished run too: the queue may have lost it (the database,
    // not the queue, is the record); the key makes this a no-op while it waits or runs.
    await this.#enqueue(run);
    return { run, deduplicated: unfinished !== undefined };
  }

  /** The newest unfinished run of each realm, and how to enqueue its job again. */
  async queuedWork(): Promise<QueuedWork<WritebackJobs>[]> {
    const runs = await this.#d.db
      .selectFrom('qbo_writeback_runs')
      .selectAll()
      .where('status', 'in', ['queued', 'running'])
      .orderBy('created_at', 'desc')
      .execute();
    const newest = new Map<string, QboWritebackRun>();
    for (const run of runs) if (!newest.has(run.realm_id)) newest.set(run.realm_id, run);
    return [...newest.values()].map((run) => ({
      name: PUSH_ALL_JOB,
      key: pushAllJobKey(run.realm_id),
      enqueue: () => this.#enqueue(run),
    }));
  }

  #enqueue(run: QboWritebackRun) {
    return this.#d.jobs.enqueue(
      PUSH_ALL_JOB,
      { realmId: run.realm_id, runId: run.id },
      { key: pushAllJobKey(run.realm_id) },
    );
  }

  /** The job handler. */
  async run(data: WritebackJobs[typeof PUSH_ALL_JOB], ctx: JobContext): Promise<void> {
    const { db } = this.#d;
    const { realmId, runId } = data;
    const log = this.#d.logger.child({ realmId, runId, jobId: ctx.id });
    const ids = (
      await db
        .selectFrom('campaign_invoices')
        .select('id')
        .where('status', 'not in', NOT_PUSHED)
        .where((eb) =>
          eb.or([
            eb('qbo_sync_status', '<>', 'synced'),
            eb('qbo_realm_id', 'is distinct from', realmId),
            eb('qbo_pushed_version', 'is distinct from', eb.ref('qbo_version')),
          ]),
        )
        .orderBy('created_at')
        .orderBy('id')
        .execute()
    ).map((r) => r.id);
    // A run taken up again (its job handed back or lost) keeps its start and what it counted.
    await db
      .updateTable('qbo_writeback_runs')
      .set({
        status: 'running',
        started_at: sql<Date>`coalesce(started_at, now())`,
        total: sql<number>`pushed + unchanged + failed + ${ids.length}`,
        error_message: null,
      })
      .where('id', '=', runId)
      .execute();
    log.info({ total: ids.length }, 'pushing campaign invoices');

    let next = 0;
    const worker = async () => {
      while (next < ids.length && !ctx.signal.aborted) {
        const id = ids[next++]!;
        await this.#pushOne(realmId, runId, id, log);
      }
    };
    const concurrency = Math.max(1, this.#d.concurrency ?? 10);
    await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
    // Aborted (shutdown): the job is handed back and the next run takes what is left.
    ctx.signal.throwIfAborted();
    await db
      .updateTable('qbo_writeback_runs')
      .set({ status: 'finished', finished_at: new Date() })
      .where('id', '=', runId)
      .execute();
  }

  async #pushOne(realmId: string, runId: string, id: string, log: pino.Logger): Promise<void> {
    let outcome: 'pushed' | 'unchanged' | 'failed';
    let message: string | null = null;
    try {
      const r = await this.#d.writeback.push(realmId, id);
      outcome =
        r.outcome === 'failed' ? 'failed' : r.outcome === 'unchanged' ? 'unchanged' : 'pushed';
      message = r.message;
    } catch (err) {
      log.error({ err, invoiceId: id }, 'invoice push failed unexpectedly');
      outcome = 'failed';
      message = err instanceof Error ? err.message : String(err);
    }
    const failure = toJson([{ invoice_id: id, message: message ?? 'failed' }]);
    const col = sql.ref(outcome);
    const keepFailure =
      outcome === 'failed'
        ? sql`, failures = case when jsonb_array_length(failures) < ${MAX_FAILURES_KEPT}
                then failures || ${failure}::jsonb else failures end`
        : sql``;
    await sql`update qbo_writeback_runs set ${col} = ${col} + 1 ${keepFailure}
      where id = ${runId}`.execute(this.#d.db);
  }

  /** onGiveUp: the run ends `failed` with the reason, where the admin page reads it. */
  async giveUp(data: WritebackJobs[typeof PUSH_ALL_JOB], err: unknown): Promise<void> {
    await this.#d.db
      .updateTable('qbo_writeback_runs')
      .set({
        status: 'failed',
        finished_at: new Date(),
        error_message: (err instanceof Error ? err.message : String(err)).slice(0, 2000),
      })
      .where('id', '=', data.runId)
      .execute();
  }
}

export interface InvoiceSyncStatus {
  counts: Record<'pending' | 'syncing' | 'synced' | 'error', number>;
  latestRun: QboWritebackRun | null;
  recentErrors: { invoiceId: string; clientName: string; message: string; at: Date | null }[];
}

export async function invoiceSyncStatus(
  db: Kysely<Database>,
  realmId: string,
): Promise<InvoiceSyncStatus> {
  const rows = await db
    .selectFrom('campaign_invoices')
    .select(['qbo_sync_status', sql<number>`count(*)::int`.as('n')])
    .groupBy('qbo_sync_status')
    .execute();
  const counts = { pending: 0, syncing: 0, synced: 0, error: 0 };
  for (const r of rows) counts[r.qbo_sync_status] = r.n;
  const latestRun =
    (await db
      .selectFrom('qbo_writeback_runs')
      .selectAll()
      .where('realm_id', '=', realmId)
      .orderBy('created_at', 'desc')
      .executeTakeFirst()) ?? null;
  const errors = await db
    .selectFrom('campaign_invoices')
    .select(['id', 'client_name', 'qbo_error_message', 'qbo_last_synced_at'])
    .where('qbo_sync_status', '=', 'error')
    .orderBy('qbo_last_synced_at', 'desc')
    .limit(20)
    .execute();
  return {
    counts,
    latestRun,
    recentErrors: errors.map((e) => ({
      invoiceId: e.id,
      clientName: e.client_name,
      message: e.qbo_error_message ?? '',
      at: e.qbo_last_synced_at,
    })),
  };
}
