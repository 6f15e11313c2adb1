import type { FastifyInstance, FastifyRequest } from 'fastify';
import { saveSnapshot, type SnapshotSummary } from './snapshot.ts';
import type { SandboxState } from './state.ts';

/**
 * Keeps a snapshot file in step with the running state, so a sandbox killed without a
 * clean shutdown (kill -9, a crash, a power cut) restarts with the tokens its clients
 * hold. Changes are coalesced: whatever happens within `delayMs` of the first change is
 * one write, and changes made during a write cause one more write after it.
 */
export class SnapshotWriter {
  /** Changes counted so far, and how many of them the last completed write covered. */
  private changes = 0;
  private saved = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SnapshotSummary> | null = null;
  private closed = false;

  constructor(
    private readonly state: SandboxState,
    readonly file: string,
    private readonly options: {
      delayMs: number;
      onError: (err: unknown) => void;
      /** How a write is done (default `saveSnapshot`); tests count writes with it. */
      save?: (state: SandboxState, file: string) => Promise<SnapshotSummary>;
    },
  ) {}

  /** Something changed: it is written within `delayMs` (with whatever else changes by then). */
  changed(): void {
    this.changes += 1;
    this.arm();
  }

  /**
   * Resolves once everything changed before the call is on disk, i.e. after a write that
   * started after it; at once when nothing is pending. Rejects when that write fails.
   */
  async flush(): Promise<void> {
    const target = this.changes;
    while (this.saved < target) {
      if (this.running) await this.running.catch(() => {});
      else await this.write();
    }
  }

  /** Writes now, whether or not a change was reported (changes made outside the sandbox's API). */
  async save(): Promise<SnapshotSummary> {
    this.changes += 1;
    const target = this.changes;
    for (;;) {
      const summary = this.running ? await this.running.catch(() => null) : await this.write();
      if (summary && this.saved >= target) return summary;
    }
  }

  /**
   * Writes once more and stops: later changes are not written. (Not `close`: the sandbox
   * calls every extension's `close()` without waiting.)
   */
  async saveAndStop(): Promise<void> {
    try {
      await this.save();
    } finally {
      this.closed = true;
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private arm(): void {
    if (this.timer || this.running || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(this.options.onError);
    }, this.options.delayMs);
    // A pending write must not keep alive a process that has nothing else to do.
    this.timer.unref();
  }

  private write(): Promise<SnapshotSummary> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const covers = this.changes;
    const running = (this.options.save ?? saveSnapshot)(this.state, this.file);
    this.running = running;
    running.then(
      () => {
        this.running = null;
        this.saved = Math.max(this.saved, covers);
        // Changes made while writing: one more write.
        if (this.changes > this.saved) this.arm();
      },
      () => {
        // Not retried on a timer (a full disk would be retried forever): the next change,
        // flush or close tries again.
        this.running = null;
      },
    );
    return running;
  }
}

const WRITER_KEY = 'snapshotWriter';

export function setSnapshotWriter(state: SandboxState, writer: SnapshotWriter): void {
  state.ext.set(WRITER_KEY, writer);
}

export function snapshotWriterOf(state: SandboxState): SnapshotWriter | undefined {
  return state.ext.get(WRITER_KEY) as SnapshotWriter | undefined;
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Answers given before any handler ran (control guard, control token, client auth). */
const REFUSED = new Set([401, 403, 415]);

/**
 * Paths whose answer hands out or withdraws tokens: the answer leaves only once the
 * snapshot knows, so a client never holds a token that a restarted sandbox would not.
 */
const TOKEN_PATHS = [
  /^\/oauth2\/v1\/tokens\/bearer$/,
  /^\/v2\/oauth2\/tokens\/revoke$/,
  /^\/_sandbox\/tokens(\/|$)/,
  /^\/_sandbox\/companies\/[^/]+$/,
  /^\/_sandbox\/snapshot\/load$/,
];

const pathOf = (req: FastifyRequest): string =>
  (req.url.split('?')[0] ?? '').toLowerCase().replace(/\/+$/, '');

/**
 * Root-level hook (server.ts, only when a writer is configured): a change made through any
 * write request outside the Accounting API (whose changes arrive as change events) and not
 * refused outright is scheduled; a token change is on disk before its answer is sent, and when it cannot be
 * written the answer is a 500 instead of tokens nobody could use after a restart.
 */
export function registerAutosave(
  app: FastifyInstance,
  state: SandboxState,
  writer: SnapshotWriter,
): void {
  state.onChange(() => writer.changed());
  app.addHook('onSend', async (req, reply, payload) => {
    if (READS.has(req.method) || REFUSED.has(reply.statusCode)) return payload;
    const path = pathOf(req);
    // Saving a snapshot changes nothing.
    if (path.startsWith('/v3/') || path === '/_sandbox/snapshot') return payload;
    writer.changed();
    if (!TOKEN_PATHS.some((p) => p.test(path))) return payload;
    try {
      await writer.flush();
      return payload;
    } catch (err) {
      console.error(`[qbo-sandbox] could not save the snapshot ${writer.file}`, err);
      reply.status(500).header('content-type', 'application/json');
      return JSON.stringify({
        error: 'server_error',
        error_description: `The sandbox could not save its state to ${writer.file}: ${(err as Error).message}`,
      });
    }
  });
}
