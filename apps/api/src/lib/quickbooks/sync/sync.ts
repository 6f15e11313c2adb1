// The sync engine's entry point: full sync, incremental (CDC) sync, runs as jobs, and the
// status the admin page polls. Rules, and why:
//   * A run is a qbo_sync_runs row written before its job is enqueued; the job carries only
//     its id. The database, not the queue, is the record of what is left to do: runs still
//     queued or running at start-up are enqueued again (`resumeUnfinished`), so are those
//     whose job the queue lost while the process ran (`queuedWork`, lib/job-recovery.ts),
//     and a resumed full pass continues after the pages it had written (full-sync.ts).
//   * One run per realm and kind at a time: a request whose entities an unfinished run
//     already covers gets that run's job id. Jobs of one realm never overlap (`groupOf`),
//     in this process or any other, so a full sync and a CDC run do not race for a realm.
//   * Failures QBO or Intuit will keep refusing (reconnect needed, a bad query) end the job
//     at once; throttling, 5xx and network failures retry with backoff. Either way the run
//     and the cursors keep the last error and its QBO code for /sync/status.
//   * `fullSync` / `incrementalSync` also run inline (the benchmark and scripts call them):
//     same code, no queue.
import type { Kysely } from 'kysely';
import type pino from 'pino';
import type { Database, QboEntityType, QboSyncRun, SyncRunKind } from '../../../db/schema.ts';
import {
  PermanentJobError,
  previousCronTime,
  type JobContext,
  type JobQueue,
  type JobWorker,
} from '../../jobs.ts';
import type { QueuedWork } from '../../job-recovery.ts';
import type { QboApiClient } from '../client/api-client.ts';
import { QboError } from '../client/errors.ts';
import { QuickBooksError } from '../errors.ts';
import type { QboJobs, SyncJobData } from '../jobs.ts';
import type { Clock, Lock } from '../ports.ts';
import { cdcUsable, runCdc } from './cdc.ts';
import { readCursors } from './cursors.ts';
import { SYNC_ENTITIES } from './entities.ts';
import { runFullPass } from './full-sync.ts';
import {
  createRun,
  finishCursor,
  finishRun,
  getRun,
  markRunning,
  saveRunProgress,
  setRunJob,
  startCursor,
  unfinishedRuns,
} from './runs.ts';
import { readSyncStatus, type RealmSyncStatus } from './status.ts';

/** What the engine needs; `Services` (infra/container.ts) provides all of it. */
export interface SyncDeps {
  db: Kysely<Database>;
  api: QboApiClient;
  clock: Clock;
  logger: pino.Logger;
  lock?: Lock;
  /** Where runs are enqueued; without it only the inline entry points work. */
  jobs?: JobQueue<QboJobs> | null;
  /** The daily reconciliation's schedule (UTC cron). Default `0 3 * * *`. */
  reconcileCron?: string;
  /**
   * Sync runs this process works on at once (each of another realm: `groupOf`). Default 1.
   * A run spends most of its time waiting for QBO, which limits each realm on its own, so
   * one slot per process would let a few large companies hold every other one back.
   */
  concurrency?: number;
  /**
   * Whether background reads may be spent now (Intuit's monthly metering: past the cap the
   * daily reconciliation waits for the next month). Default: always.
   */
  backgroundReadsAllowed?: () => Promise<boolean>;
}

export const DEFAULT_RECONCILE_CRON = '0 3 * * *';

/** One job per run: the deduplication key of the run's job. */
const syncJobKey = (runId: string) => `qbo.sync:${runId}`;

export interface SyncRequestResult {
  jobId: string;
  runId: string;
  realmId: string;
  kind: SyncRunKind;
  entities: QboEntityType[];
  /** True when an unfinished run already covered the request and its job id is returned. */
  deduplicated: boolean;
}

export interface SyncRunOutcome {
  runId: string;
  status: 'success';
}

export interface SyncService {
  /** Runs a full sync now, in this process; rejects if it fails. */
  fullSync(realmId: string, entities?: readonly QboEntityType[]): Promise<SyncRunOutcome>;
  /** Reconciles now, in this process: CDC, then QBO compared with the mirror and repaired. */
  reconcile(realmId: string, entities?: readonly QboEntityType[]): Promise<SyncRunOutcome>;
  /** Runs an incremental (CDC) sync now, in this process; rejects if it fails. */
  incrementalSync(realmId: string, entities?: readonly QboEntityType[]): Promise<SyncRunOutcome>;
  /** Records a run and enqueues its job (or returns the unfinished run that covers it). */
  request(
    kind: SyncRunKind,
    realmId: string,
    entities?: readonly QboEntityType[],
  ): Promise<SyncRequestResult>;
  /** Carries out a recorded run (the 'qbo.sync' job's body). */
  runRun(runId: string, signal?: AbortSignal): Promise<void>;
  /** Enqueues every run left queued or running (start-up). Returns their ids. */
  resumeUnfinished(): Promise<string[]>;
  /** Every run left queued or running, and how to enqueue its job again (lib/job-recovery.ts). */
  queuedWork(): Promise<QueuedWork<QboJobs>[]>;
  /**
   * Enqueues the daily reconciliation when its last fire time passed without one (no process
   * ran, or the queue lost the schedule over it).
   */
  catchUpReconcile(queue: JobQueue<QboJobs>): Promise<void>;
  /** Per realm and entity, from the database only. */
  status(realmId?: string): Promise<RealmSyncStatus[]>;
  /** Registers the 'qbo.sync' and 'qbo.daily-reconcile' consumers on a worker. */
  register(worker: JobWorker<QboJobs>): void;
  /**
   * Start-up of a process that runs jobs: the daily schedule (registered once however many
   * processes call it), runs a crash left unfinished, and the daily reconciliation when its
   * last fire time passed without one (the process was down).
   */
  startBackground(worker: JobWorker<QboJobs>): Promise<void>;
  /** Records a reconciliation run for every connected realm not reconciled since the last fire time. */
  reconcileDue(): Promise<string[]>;
  /** When the daily reconciliation runs (UTC cron, QBO_RECONCILE_CRON). */
  readonly reconcileCron: string;
}

const REQUEST_LOCK_TTL_MS = 10_000;

/**
 * Connected realms (connected before `lastFire`) with no reconciliation run recorded since
 * `lastFire`: the daily run missed them, or has not reached them yet.
 */
async function realmsDueForReconcile(db: Kysely<Database>, lastFire: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('qbo_connections as c')
    .select('c.realm_id')
    .where('c.status', '=', 'connected')
    .where('c.connected_at', '<', lastFire)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('qbo_sync_runs as r')
            .select('r.id')
            .whereRef('r.realm_id', '=', 'c.realm_id')
            .where('r.kind', '=', 'reconcile')
            .where('r.started_at', '>=', lastFire),
        ),
      ),
    )
    .execute();
  return rows.map((r) => r.realm_id);
}

/** Failures a retry cannot fix: the job gives up at once with the reason recorded. */
export function isPermanentSyncError(err: unknown): boolean {
  if (err instanceof PermanentJobError) return true;
  if (!(err instanceof QuickBooksError)) return false;
  if (
    ['reauth_required', 'not_connected', 'realm_not_found', 'oauth_grant', 'oauth_client'].includes(
      err.kind,
    )
  )
    return true;
  // A 4xx fault other than throttling and auth (handled by the client): our request is wrong.
  return (
    err.kind === 'qbo_fault' && (err as QboError).status !== null && (err as QboError).status! < 500
  );
}

/**
 * QBO's answer to a changedSince beyond its window: fault 500 "Unsupported Operation",
 * "Operation cdc with changedSince date … which is older than fixed days is not supported"
 * (qbo-facts "Change Data Capture"; QuickBooksSharp issue #19).
 */
export function isLookbackRefusal(err: unknown): boolean {
  return err instanceof QboError && err.code === '500' && /older than/i.test(err.message);
}

export function errorCodeOf(err: unknown): string | null {
  return err instanceof QboError ? err.code : null;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function createSyncService(deps: SyncDeps): SyncService {
  const { db } = deps;
  const log = deps.logger.child({ component: 'sync' });
  const cron = deps.reconcileCron ?? DEFAULT_RECONCILE_CRON;
  const passCtx = (signal?: AbortSignal) => ({
    db,
    api: deps.api,
    clock: deps.clock,
    logger: log,
    ...(signal ? { signal } : {}),
  });

  async function runIncremental(run: QboSyncRun, signal?: AbortSignal): Promise<void> {
    const cursors = await readCursors(db, run.realm_id);
    const now = deps.clock.now();
    const viaCdc = new Map<QboEntityType, Date>();
    const viaFull: QboEntityType[] = [];
    for (const entity of run.entities) {
      const cursor = cursors.get(entity)?.last_cdc_at ?? null;
      if (run.progress[entity]?.complete) continue;
      if (cdcUsable(cursor, now)) viaCdc.set(entity, cursor);
      else viaFull.push(entity);
    }
    // Never synced, or beyond CDC's 30 days: a full pass of those entities.
    if (viaFull.length > 0) {
      log.info({ realmId: run.realm_id, entities: viaFull }, 'cursor too old for CDC: full pass');
      await runFullPass(passCtx(signal), { ...run, entities: viaFull });
    }
    if (viaCdc.size === 0) return;
    for (const entity of viaCdc.keys()) {
      await startCursor(db, run.realm_id, entity, run.id, { done: 0, total: null });
    }
    let result: Awaited<ReturnType<typeof runCdc>>;
    try {
      result = await runCdc(passCtx(signal), run.realm_id, viaCdc);
    } catch (err) {
      if (!isLookbackRefusal(err)) throw err;
      // QBO's clock says the cursor is past its window even though ours did not.
      log.info({ realmId: run.realm_id }, 'QBO refused the CDC look-back: full pass');
      await runFullPass(passCtx(signal), { ...run, entities: [...viaCdc.keys()] });
      return;
    }
    for (const entity of viaCdc.keys()) {
      const n = result.applied[entity] ?? 0;
      await saveRunProgress(db, run.id, entity, { done: n, total: n, complete: true });
      await finishCursor(db, run.realm_id, entity, { ok: true });
    }
  }

  async function execute(run: QboSyncRun, signal?: AbortSignal): Promise<void> {
    const running = await markRunning(db, run);
    const rlog = log.child({ realmId: run.realm_id, runId: run.id, kind: run.kind });
    rlog.info({ entities: run.entities }, 'sync run started');
    try {
      if (running.kind === 'full') await runFullPass(passCtx(signal), running);
      else if (running.kind === 'incremental') await runIncremental(running, signal);
      else await runReconcile(running, signal);
    } catch (err) {
      const outcome = { ok: false as const, error: messageOf(err), code: errorCodeOf(err) };
      const latest = (await getRun(db, run.id)) ?? running;
      for (const entity of running.entities) {
        if (!latest.progress[entity]?.complete)
          await finishCursor(db, run.realm_id, entity, outcome);
      }
      rlog.warn({ err, code: outcome.code }, 'sync run failed');
      throw err;
    }
    await finishRun(db, run.id, { ok: true });
    rlog.info('sync run finished');
  }

  async function runReconcile(run: QboSyncRun, signal?: AbortSignal): Promise<void> {
    // CDC first, so what changed since the cursors is applied before comparing; an entity
    // whose cursor CDC cannot continue is covered by the comparing pass itself.
    const cursors = await readCursors(db, run.realm_id);
    const viaCdc = new Map<QboEntityType, Date>();
    for (const entity of run.entities) {
      const cursor = cursors.get(entity)?.last_cdc_at ?? null;
      if (cdcUsable(cursor, deps.clock.now()) && !run.progress[entity]) viaCdc.set(entity, cursor);
    }
    if (viaCdc.size > 0) {
      try {
        await runCdc(passCtx(signal), run.realm_id, viaCdc);
      } catch (err) {
        if (!isLookbackRefusal(err)) throw err;
      }
    }
    await runFullPass({ ...passCtx(signal), compare: true }, run);
  }

  async function runInline(
    kind: SyncRunKind,
    realmId: string,
    entities?: readonly QboEntityType[],
  ) {
    const run = await createRun(db, realmId, kind, entities?.length ? entities : SYNC_ENTITIES);
    try {
      await execute(run);
    } catch (err) {
      await finishRun(db, run.id, { ok: false, error: messageOf(err), code: errorCodeOf(err) });
      throw err;
    }
    return { runId: run.id, status: 'success' as const };
  }

  async function enqueueRun(run: QboSyncRun): Promise<string> {
    if (!deps.jobs) throw new Error('no job queue: the sync service was built without one');
    const job = await deps.jobs.enqueue(
      'qbo.sync',
      { runId: run.id, realmId: run.realm_id },
      { key: syncJobKey(run.id) },
    );
    if (job.id !== run.job_id) await setRunJob(db, run.id, job.id);
    return job.id;
  }

  async function withRealmLock<T>(realmId: string, fn: () => Promise<T>): Promise<T> {
    if (!deps.lock) return fn();
    const lease = await deps.lock.acquire(`sync-request:${realmId}`, {
      ttlMs: REQUEST_LOCK_TTL_MS,
    });
    try {
      return await fn();
    } finally {
      await lease.release();
    }
  }

  const service: SyncService = {
    reconcileCron: cron,
    fullSync: (realmId, entities) => runInline('full', realmId, entities),
    incrementalSync: (realmId, entities) => runInline('incremental', realmId, entities),
    reconcile: (realmId, entities) => runInline('reconcile', realmId, entities),

    request: (kind, realmId, entities) =>
      withRealmLock(realmId, async () => {
        const wanted = entities?.length ? [...entities] : [...SYNC_ENTITIES];
        const open = await unfinishedRuns(db, { realmId, kind });
        const covering = open.find((r) => wanted.every((e) => r.entities.includes(e)));
        if (covering) {
          const jobId = covering.job_id ?? (await enqueueRun(covering));
          return {
            jobId,
            runId: covering.id,
            realmId,
            kind,
            entities: covering.entities,
            deduplicated: true,
          };
        }
        const run = await createRun(db, realmId, kind, wanted);
        const jobId = await enqueueRun(run);
        return { jobId, runId: run.id, realmId, kind, entities: wanted, deduplicated: false };
      }),

    async runRun(runId, signal) {
      const run = await getRun(db, runId);
      if (!run || run.status === 'success' || run.status === 'error') return;
      await execute(run, signal);
    },

    async resumeUnfinished() {
      const runs = await unfinishedRuns(db);
      for (const run of runs) await enqueueRun(run);
      if (runs.length > 0) log.info({ runs: runs.length }, 'unfinished sync runs enqueued again');
      return runs.map((r) => r.id);
    },

    async queuedWork() {
      const runs = await unfinishedRuns(db);
      // Running without a job: carried out inline (fullSync() and the like), not by a queue.
      return runs
        .filter((run) => run.job_id !== null || run.status === 'queued')
        .map((run) => ({
          name: 'qbo.sync' as const,
          key: syncJobKey(run.id),
          enqueue: () => enqueueRun(run),
        }));
    },

    status: (realmId) => readSyncStatus(db, realmId),

    async reconcileDue() {
      if (deps.backgroundReadsAllowed && !(await deps.backgroundReadsAllowed())) {
        log.warn(
          'daily reconciliation skipped: metered reads this month reached QBO_COREPLUS_BACKGROUND_PERCENT',
        );
        return [];
      }
      const lastFire = previousCronTime(cron, deps.clock.now());
      const realms = await realmsDueForReconcile(db, new Date(lastFire));
      const runs: string[] = [];
      for (const realmId of realms) runs.push((await service.request('reconcile', realmId)).runId);
      if (runs.length > 0) log.info({ realms: realms.length }, 'daily reconciliation enqueued');
      return runs;
    },

    async startBackground(worker) {
      await worker.schedule('qbo.daily-reconcile', { id: 'qbo.daily-reconcile', cron }, {});
      await service.resumeUnfinished();
      await service.catchUpReconcile(worker);
    },

    async catchUpReconcile(queue) {
      const lastFire = previousCronTime(cron, deps.clock.now());
      if ((await realmsDueForReconcile(db, new Date(lastFire))).length === 0) return;
      await queue.enqueue(
        'qbo.daily-reconcile',
        {},
        { key: `qbo.daily-reconcile:catch-up:${lastFire}` },
      );
    },

    register(worker) {
      worker.handle('qbo.daily-reconcile', async () => {
        await service.reconcileDue();
      });
      worker.handle(
        'qbo.sync',
        async (data: SyncJobData, ctx: JobContext) => {
          try {
            await service.runRun(data.runId, ctx.signal);
          } catch (err) {
            if (isPermanentSyncError(err) && !(err instanceof PermanentJobError)) {
              throw new PermanentJobError(messageOf(err), { cause: err });
            }
            throw err;
          }
        },
        {
          groupOf: (d) => d.realmId,
          concurrency: deps.concurrency ?? 1,
          attempts: 6,
          backoffMs: 5_000,
          onGiveUp: async (data, err) => {
            const cause = err instanceof PermanentJobError && err.cause ? err.cause : err;
            await finishRun(db, data.runId, {
              ok: false,
              error: messageOf(cause),
              code: errorCodeOf(cause),
            });
          },
        },
      );
    },
  };
  return service;
}
