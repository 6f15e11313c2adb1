// PGlite on its own thread (the embedded default): the service's event loop keeps running
// while a statement does, results and errors are PGlite's own, transactions stay whole, and
// a delivery's insert goes ahead of queued statements.
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmptyTestDatabase } from '../../test/db-helpers.ts';
import { createDatabase, type DatabaseHandle } from './db.ts';
import { SessionTurns } from './pglite-dialect.ts';
import { jsonbBinary } from '../lib/quickbooks/sync/upsert.ts';

const open: DatabaseHandle[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function memoryDb(pgliteThread = true): Promise<DatabaseHandle> {
  const h = pgliteThread
    ? await openEmptyTestDatabase('pglite')
    : await createDatabase({ dataDir: 'memory', pgliteThread });
  open.push(h);
  await sql`create table t (id int primary key, note text not null)`.execute(h.db);
  return h;
}

/** Timer ticks seen while `work` runs: none when something blocks the event loop. */
async function ticksDuring(work: () => Promise<unknown>): Promise<number> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return ticks;
}

// Heavy enough to take a hundred milliseconds or more of WebAssembly on any machine.
const slowStatement = sql`select count(*) from generate_series(1, 1000000) g where g % 7 = 3`;

describe('PGlite on a thread of its own', () => {
  it('keeps the event loop running while a long statement runs', async () => {
    const onThread = await memoryDb(true);
    const inThread = await memoryDb(false);

    expect(await ticksDuring(() => slowStatement.execute(onThread.db))).toBeGreaterThan(3);
    // The contrast: on the calling thread the same statement stops every timer.
    expect(await ticksDuring(() => slowStatement.execute(inThread.db))).toBe(0);
  });

  it('returns rows, counts and Postgres errors as PGlite does', async () => {
    const { db } = await memoryDb();
    const inserted = await db
      .insertInto('t' as never)
      .values([
        { id: 1, note: 'a' },
        { id: 2, note: 'b' },
      ] as never)
      .executeTakeFirst();
    expect(Number(inserted.numInsertedOrUpdatedRows)).toBe(2);
    const rows = await sql<{
      id: number;
      at: Date;
    }>`select id, now() as at from t order by id`.execute(db);
    expect(rows.rows.map((r) => r.id)).toEqual([1, 2]);
    expect(rows.rows[0]!.at).toBeInstanceOf(Date);

    const dup = await sql`insert into t values (1, 'again')`.execute(db).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(Error);
    expect(dup).toMatchObject({ code: '23505', constraint: 't_pkey' });
    expect((dup as Error).message).toMatch(/duplicate key/);
  });

  it('passes a bytea parameter byte for byte, on either thread', async () => {
    for (const { db } of [await memoryDb(true), await memoryDb(false)]) {
      const bytes = Buffer.from('{"DisplayName":"Zoë ✓","n":[1,2]}', 'utf8');
      const r = await sql<{
        text: string;
        n: number;
      }>`select convert_from(${bytes}, 'UTF8') as text, octet_length(${bytes}::bytea) as n`.execute(
        db,
      );
      expect(r.rows[0]).toEqual({ text: bytes.toString('utf8'), n: bytes.length });
    }
  });

  it('reads a jsonb parameter in binary form as node-postgres sends it, on either thread', async () => {
    for (const { db } of [await memoryDb(true), await memoryDb(false)]) {
      const value = [{ DisplayName: 'Zoë ✓', n: [1, 2] }];
      const bytes = jsonbBinary(JSON.stringify(value));
      const asText = JSON.stringify({ plain: 'text' });
      const r = await sql<{ a: unknown; b: unknown; c: unknown }>`
        select ${bytes}::jsonb as a, ${asText}::jsonb as b, ${sql.val({ n: 1 })}::jsonb as c`.execute(
        db,
      );
      expect(r.rows[0]).toEqual({ a: value, b: { plain: 'text' }, c: { n: 1 } });
      const noVersion = Buffer.from(JSON.stringify(value), 'utf8');
      await expect(sql`select ${noVersion}::jsonb`.execute(db)).rejects.toThrow(/version 1/);
    }
  });

  it('rolls a failed transaction back whole, and other callers never land inside one', async () => {
    const { db } = await memoryDb();
    const outside = [] as Promise<unknown>[];
    const failed = await db
      .transaction()
      .execute(async (tx) => {
        await sql`insert into t values (10, 'in the transaction')`.execute(tx);
        // Issued while the transaction holds the session: it must wait, not join it.
        outside.push(sql`insert into t values (11, 'outside')`.execute(db));
        await new Promise((r) => setTimeout(r, 20));
        throw new Error('abandoned');
      })
      .catch((e: unknown) => e);
    expect((failed as Error).message).toBe('abandoned');
    await Promise.all(outside);
    const ids = await sql<{ id: number }>`select id from t order by id`.execute(db);
    expect(ids.rows.map((r) => r.id)).toEqual([11]);
  });

  it('runs an urgent statement before those already queued', async () => {
    const { db, urgentDb } = await memoryDb();
    const order: string[] = [];
    const queued = Array.from({ length: 20 }, (_, i) =>
      sql`insert into t values (${100 + i}, 'queued')`.execute(db).then(() => order.push(`q${i}`)),
    );
    const urgent = sql`insert into t values (1, 'urgent')`
      .execute(urgentDb)
      .then(() => order.push('urgent'));
    await Promise.all([...queued, urgent]);
    // The first queued statement had the session already; the urgent one came next.
    expect(order.indexOf('urgent')).toBeLessThanOrEqual(1);
    expect(order).toHaveLength(21);
  });
});

describe('SessionTurns', () => {
  it('gives the session to urgent waiters first, each lane in arrival order', async () => {
    const turns = new SessionTurns();
    await turns.acquire(false); // held
    const got: string[] = [];
    const wait = (name: string, urgent: boolean) =>
      turns.acquire(urgent).then(() => {
        got.push(name);
        turns.release();
      });
    const all = [wait('n1', false), wait('n2', false), wait('u1', true), wait('u2', true)];
    turns.release();
    await Promise.all(all);
    expect(got).toEqual(['u1', 'u2', 'n1', 'n2']);
  });
});
