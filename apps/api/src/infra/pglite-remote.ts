// PGlite on a thread of its own (the embedded default).
//
// Why: PGlite is Postgres compiled to WebAssembly, and it runs every statement synchronously
// on the thread that calls it. On the main thread a 50 ms upsert is 50 ms in which no HTTP
// request is read, no webhook acknowledged and no timer fires; under a burst of webhook
// deliveries the acknowledgements waited seconds behind the processor's statements
// (bench/webhooks.md). On a worker thread the statements run on another core while the main
// thread keeps answering; a query costs one message each way (structured clone of the
// parameters and of the rows).
//
// The API is the subset of PGlite's that this service uses (Kysely's dialect, the migration
// runner, test snapshots), with the same results; errors keep Postgres' fields (`code`,
// `detail`, `constraint`…).
import { Worker } from 'node:worker_threads';

export interface PgliteResults<R = Record<string, unknown>> {
  rows: R[];
  affectedRows?: number;
  fields: { name: string; dataTypeID: number }[];
}

/** What the service asks of a PGlite: the in-thread `PGlite` and `RemotePglite` both do it. */
export interface PgliteSession {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<PgliteResults<R>>;
  exec(sql: string): Promise<PgliteResults[]>;
  transaction<T>(fn: (tx: Pick<PgliteSession, 'query' | 'exec'>) => Promise<T>): Promise<T>;
  dumpDataDir(compression?: 'none' | 'gzip' | 'auto'): Promise<Blob>;
  close(): Promise<void>;
  readonly closed: boolean;
}

export interface RemotePgliteOptions {
  /** The cluster's directory, or null to keep it in memory. */
  dataDir: string | null;
  /** Start from this `dumpDataDir()` tarball. */
  loadDataDir?: Blob | undefined;
  /** The cluster was just created: open it once, close it, and open it again (db.ts). */
  reopenAfterCreate: boolean;
  /** search_path for the session, created if missing. */
  schema: string | null;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

type Request =
  | { op: 'query'; sql: string; params: unknown[] }
  | { op: 'exec'; sql: string }
  | { op: 'dump'; compression: string }
  | { op: 'close' };

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: Record<string, unknown> & { message: string };
}

const THREAD_FILE = new URL('./pglite-thread.mjs', import.meta.url);

export class RemotePglite implements PgliteSession {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  /** Settles when the transaction in progress (if any) has ended. */
  #gate: Promise<void> = Promise.resolve();

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (reply: Reply) => this.#settle(reply));
    const fail = (err: Error) => {
      this.#closed = true;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the PGlite thread exited (code ${code})`)));
  }

  /** Starts the thread and opens the cluster; rejects with PGlite's error if it cannot. */
  static async open(options: RemotePgliteOptions): Promise<RemotePglite> {
    const { reopenAfterCreate, ...rest } = options;
    if (reopenAfterCreate) {
      // initdb on a thread of its own, ended before the real one starts: ending the thread
      // frees the WebAssembly memory initdb grew (a closed instance's would stay until a
      // collection the idle thread may never run; measured: ~180 MB more at idle).
      await (await RemotePglite.#start({ ...rest, schema: null })).close();
    }
    return RemotePglite.#start(rest);
  }

  static async #start(
    options: Omit<RemotePgliteOptions, 'reopenAfterCreate'>,
  ): Promise<RemotePglite> {
    const loadDataDir = options.loadDataDir ? await options.loadDataDir.arrayBuffer() : null;
    const worker = new Worker(THREAD_FILE, {
      workerData: { ...options, loadDataDir },
      transferList: loadDataDir ? [loadDataDir] : [],
      // The thread needs no loader: it is plain JavaScript importing PGlite.
      execArgv: [],
    });
    const remote = new RemotePglite(worker);
    try {
      await new Promise((resolve, reject) => remote.#pending.set(0, { resolve, reject }));
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    return remote;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async query<R = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
  ): Promise<PgliteResults<R>> {
    await this.#gate;
    return this.#call({ op: 'query', sql, params }) as Promise<PgliteResults<R>>;
  }

  async exec(sql: string): Promise<PgliteResults[]> {
    await this.#gate;
    return this.#call({ op: 'exec', sql }) as Promise<PgliteResults[]>;
  }

  /** `begin` … `commit` (or `rollback` when `fn` throws); other callers wait until it ends. */
  async transaction<T>(fn: (tx: Pick<PgliteSession, 'query' | 'exec'>) => Promise<T>): Promise<T> {
    const before = this.#gate;
    let end!: () => void;
    this.#gate = new Promise<void>((resolve) => (end = resolve));
    await before;
    const tx = {
      query: <R>(sql: string, params: unknown[] = []) =>
        this.#call({ op: 'query', sql, params }) as Promise<PgliteResults<R>>,
      exec: (sql: string) => this.#call({ op: 'exec', sql }) as Promise<PgliteResults[]>,
    };
    try {
      await tx.query('begin');
      try {
        const out = await fn(tx);
        await tx.query('commit');
        return out;
      } catch (err) {
        if (!this.#closed) await tx.query('rollback');
        throw err;
      }
    } finally {
      end();
    }
  }

  async dumpDataDir(compression: 'none' | 'gzip' | 'auto' = 'auto'): Promise<Blob> {
    await this.#gate;
    return new Blob([(await this.#call({ op: 'dump', compression })) as ArrayBuffer]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#gate;
    await this.#call({ op: 'close' });
    this.#closed = true;
    await this.#worker.terminate();
  }

  #call(req: Request): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error('PGlite is closed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...req });
    });
  }

  #settle(reply: Reply): void {
    const p = this.#pending.get(reply.id);
    if (!p) return;
    this.#pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.result);
    else p.reject(toError(reply.error ?? { message: 'unknown PGlite error' }));
  }
}

function toError(e: Record<string, unknown> & { message: string }): Error {
  const { message, stack, ...fields } = e;
  const err = Object.assign(new Error(message), fields);
  if (typeof stack === 'string') err.stack = stack;
  return err;
}
