// The request-log pruning timer as a shutdown meets it, on a real database.
import { sql } from 'kysely';
import pino from 'pino';
import { expect, it } from 'vitest';
import { forEachDatabase, newRealmId } from '../../test/db-helpers.ts';
import { writeRequestLog } from '../lib/quickbooks/client/request-log.ts';
import { startRequestLogPruning } from './container.ts';

forEachDatabase((t) => {
  it('stopping request-log pruning waits for the pass in flight, so the pool is closed after it', async () => {
    const { db } = t();
    const realmId = newRealmId();
    // Long before every other test's rows: this pass deletes only the row written here.
    const now = Date.parse('1990-01-01T00:00:00Z');
    await writeRequestLog(db, {
      kind: 'accounting',
      realmId,
      method: 'GET',
      path: '/v3/company/x/companyinfo/x',
      status: 200,
      durationMs: 1,
      intuitTid: null,
      errorCode: null,
      requestId: null,
      attempt: 1,
      errorMessage: null,
      createdAt: new Date(now - 10 * 86_400_000),
    });
    const rows = () =>
      db.selectFrom('qbo_request_log').select('id').where('realm_id', '=', realmId).execute();

    // Another session holds the table, so the pass that starts at once stays in flight.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = db.transaction().execute(async (trx) => {
      await sql`lock table qbo_request_log in share mode`.execute(trx);
      locked();
      await gate;
    });
    await isLocked;
    const stop = startRequestLogPruning({
      db,
      retentionDays: 1,
      logger: pino({ level: 'silent' }),
      clock: { now: () => now },
    });
    let stopped = false;
    const stopping = stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false);

    release();
    await holder;
    await stopping;
    // The pass finished before stop() returned.
    expect(await rows()).toEqual([]);
  });
});
