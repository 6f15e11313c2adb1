// qbo_request_log on a real database: filters, keyset pagination and retention pruning.
// Every test writes under its own realm id(s), so the shared table never leaks between tests.
import { expect, it } from 'vitest';
import { forEachDatabase, newRealmId } from '../../../../test/db-helpers.ts';
import {
  InvalidCursorError,
  listRequestLog,
  pruneExpiredRequestLog,
  pruneRequestLog,
  writeRequestLog,
} from './request-log.ts';
import type { RequestLogRecord } from '../ports.ts';

const T0 = Date.parse('2026-02-11T12:00:00Z');

function row(realmId: string, over: Partial<RequestLogRecord> = {}): RequestLogRecord {
  return {
    kind: 'accounting',
    realmId,
    method: 'GET',
    path: `/v3/company/${realmId}/companyinfo/${realmId}`,
    status: 200,
    durationMs: 12.6,
    intuitTid: '1-abc',
    errorCode: null,
    requestId: null,
    attempt: 1,
    errorMessage: null,
    createdAt: new Date(T0),
    ...over,
  };
}

forEachDatabase((t) => {
  it('filters the log by status, method, path prefix, error code and time range', async () => {
    const { db } = t();
    const realmId = newRealmId();
    const at = (min: number) => new Date(T0 + min * 60_000);
    await writeRequestLog(db, row(realmId, { createdAt: at(0) }));
    await writeRequestLog(
      db,
      row(realmId, {
        method: 'POST',
        path: `/v3/company/${realmId}/customer`,
        status: 400,
        errorCode: '6240',
        requestId: 'r-1',
        createdAt: at(1),
      }),
    );
    await writeRequestLog(
      db,
      row(realmId, {
        path: `/v3/company/${realmId}/query?query=select * from Customer`,
        status: 429,
        errorCode: '3001',
        createdAt: at(2),
      }),
    );
    await writeRequestLog(
      db,
      row(realmId, { status: null, errorMessage: 'network: ECONNRESET', createdAt: at(3) }),
    );
    await writeRequestLog(db, row(newRealmId(), { status: 500, createdAt: at(1) })); // another realm

    const ids = async (f: Parameters<typeof listRequestLog>[1]) =>
      (await listRequestLog(db, { realmId, ...f })).logs.map((l) => [l.method, l.status]);
    expect(await ids({})).toEqual([
      ['GET', null],
      ['GET', 429],
      ['POST', 400],
      ['GET', 200],
    ]);
    expect(await ids({ status: 429 })).toEqual([['GET', 429]]);
    expect(await ids({ status: '4xx' })).toEqual([
      ['GET', 429],
      ['POST', 400],
    ]);
    expect(await ids({ status: 'error' })).toEqual([
      ['GET', null],
      ['GET', 429],
      ['POST', 400],
    ]);
    expect(await ids({ status: 'network' })).toEqual([['GET', null]]);
    expect(await ids({ method: 'post' })).toEqual([['POST', 400]]);
    expect(await ids({ errorCode: '3001' })).toEqual([['GET', 429]]);
    expect(await ids({ path: `/v3/company/${realmId}/query` })).toEqual([['GET', 429]]);
    // `_` and `%` in a path filter are literal, not LIKE wildcards.
    expect(await ids({ path: `/v3/company/${realmId}/query_` })).toEqual([]);
    expect(await ids({ from: at(1), to: at(3) })).toEqual([
      ['GET', 429],
      ['POST', 400],
    ]);

    const [post] = (await listRequestLog(db, { realmId, method: 'POST' })).logs;
    expect(post).toMatchObject({
      realmId,
      path: `/v3/company/${realmId}/customer`,
      durationMs: 13,
      intuitTid: '1-abc',
      qboErrorCode: '6240',
      requestId: 'r-1',
      attempt: 1,
      createdAt: at(1),
    });
  });

  it('pages through the log with a cursor, newest first, without skipping or repeating rows', async () => {
    const { db } = t();
    const realmId = newRealmId();
    // Several rows share a timestamp: the id breaks the tie.
    for (let i = 0; i < 23; i++) {
      await writeRequestLog(
        db,
        row(realmId, { attempt: i + 1, createdAt: new Date(T0 + Math.floor(i / 4) * 1000) }),
      );
    }
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<typeof listRequestLog>> = await listRequestLog(db, {
        realmId,
        limit: 5,
        cursor,
      });
      seen.push(...page.logs.map((l) => l.attempt));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => 23 - i));
    await expect(listRequestLog(db, { realmId, cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(
      InvalidCursorError,
    );
  });

  it('pruning deletes only rows older than the retention period', async () => {
    const { db } = t();
    const realmId = newRealmId();
    const day = 86_400_000;
    // Long before every other test's rows, so pruning here cannot touch them.
    const now = T0 - 1000 * day;
    for (const ageDays of [45, 31, 30.5, 29, 1, 0]) {
      await writeRequestLog(
        db,
        row(realmId, { createdAt: new Date(now - ageDays * day), attempt: Math.ceil(ageDays) + 1 }),
      );
    }
    const before = (await listRequestLog(db, { realmId })).logs.length;
    const deleted = await pruneExpiredRequestLog(db, { retentionDays: 30, nowMs: now });
    const left = (await listRequestLog(db, { realmId })).logs.map((l) => l.attempt);
    expect(before).toBe(6);
    expect(left).toEqual([1, 2, 30]); // 0, 1 and 29 days old
    expect(deleted).toBe(3);
    expect(await pruneRequestLog(db, new Date(now - 30 * day))).toBe(0);
  });

  it('a path written with a credential in its query string is stored without it', async () => {
    const { db } = t();
    const realmId = newRealmId();
    await writeRequestLog(
      db,
      row(realmId, {
        kind: 'oauth_token_refresh',
        path: '/oauth2/v1/tokens/bearer?refresh_token=RT-secret&grant_type=refresh_token',
        errorMessage: 'invalid_grant for Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
      }),
    );
    const [log] = (await listRequestLog(db, { realmId })).logs;
    expect(log!.path).toBe('/oauth2/v1/tokens/bearer?grant_type=refresh_token');
    expect(log!.errorMessage).not.toMatch(/eyJ/);
  });
});
