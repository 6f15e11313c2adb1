// Kysely over one PGlite session, with an urgent lane.
//
// PGlite is a single session: statements run one at a time, and a transaction's statements
// must not interleave with anyone else's. Every Kysely instance over the session therefore
// takes turns through one queue (a caller holds the session from acquire to release: one
// statement, or a whole transaction). Callers of the urgent instance go ahead of the queued
// ones — storing a webhook delivery, which Intuit waits for, should not wait behind a
// processing round's queued upserts (bench/webhooks.md). The statement running is never
// interrupted.
import {
  CompiledQuery,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { PgliteSession } from './pglite-remote.ts';

/** Turns on one session: urgent waiters first, each lane in arrival order. */
export class SessionTurns {
  #busy = false;
  readonly #urgent: (() => void)[] = [];
  readonly #normal: (() => void)[] = [];

  async acquire(urgent: boolean): Promise<void> {
    if (!this.#busy) {
      this.#busy = true;
      return;
    }
    await new Promise<void>((resolve) => (urgent ? this.#urgent : this.#normal).push(resolve));
  }

  release(): void {
    const next = this.#urgent.shift() ?? this.#normal.shift();
    if (next) next();
    else this.#busy = false;
  }
}

class PgliteConnection implements DatabaseConnection {
  constructor(private readonly session: PgliteSession) {}

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    const r = await this.session.query<R>(q.sql, [...q.parameters]);
    return r.affectedRows
      ? { rows: r.rows, numAffectedRows: BigInt(r.affectedRows) }
      : { rows: r.rows };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on PGlite');
  }
}

class PgliteDriver implements Driver {
  readonly #connection: PgliteConnection;

  constructor(
    private readonly session: PgliteSession,
    private readonly turns: SessionTurns,
    private readonly urgent: boolean,
  ) {
    this.#connection = new PgliteConnection(session);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.turns.acquire(this.urgent);
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    this.turns.release();
  }

  async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const level = settings.isolationLevel;
    await conn.executeQuery(
      CompiledQuery.raw(level ? `start transaction isolation level ${level}` : 'begin'),
    );
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('rollback'));
  }

  async destroy(): Promise<void> {
    // The urgent instance borrows the session; the ordinary one owns it.
    if (!this.urgent && !this.session.closed) await this.session.close();
  }
}

class PgliteDialect implements Dialect {
  constructor(
    private readonly session: PgliteSession,
    private readonly turns: SessionTurns,
    private readonly urgent: boolean,
  ) {}

  createAdapter() {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new PgliteDriver(this.session, this.turns, this.urgent);
  }

  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }

  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
}

/** Two Kysely instances over one session: the ordinary one, and one whose turns come first. */
export function pgliteKysely<DB>(session: PgliteSession): { db: Kysely<DB>; urgentDb: Kysely<DB> } {
  const turns = new SessionTurns();
  return {
    db: new Kysely<DB>({ dialect: new PgliteDialect(session, turns, false) }),
    urgentDb: new Kysely<DB>({ dialect: new PgliteDialect(session, turns, true) }),
  };
}
