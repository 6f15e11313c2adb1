// Intuit's monthly CorePlus metering, counted from qbo_request_log on a real database: which
// calls count, the month they count in, the forecast, the alert and the background cap.
// Each test uses a month no other test writes in (the count covers every realm).
import { expect, it } from 'vitest';
import { forEachDatabase, newRealmId } from '../../../../test/db-helpers.ts';
import type { RequestLogRecord } from '../ports.ts';
import { meteredUsage, type MeteringPolicy } from './metering.ts';
import { pruneRequestLog, writeRequestLog } from './request-log.ts';

const policy: MeteringPolicy = {
  monthlyAllowance: 100,
  alertPercent: 80,
  backgroundPercent: 90,
  metered: true,
};

function call(realmId: string, at: string, over: Partial<RequestLogRecord> = {}): RequestLogRecord {
  return {
    kind: 'accounting',
    realmId,
    method: 'GET',
    path: `/v3/company/${realmId}/invoice/1`,
    status: 200,
    durationMs: 10,
    intuitTid: null,
    errorCode: null,
    requestId: null,
    attempt: 1,
    errorMessage: null,
    createdAt: new Date(at),
    ...over,
  };
}

forEachDatabase((t) => {
  it('the month keeps its count when retention prunes its first days, however short the retention', async () => {
    const a = newRealmId();
    const b = newRealmId();
    for (const at of ['2032-03-01T00:10:00Z', '2032-03-02T23:59:00Z', '2032-03-20T08:00:00Z']) {
      await writeRequestLog(t().db, call(a, at));
      await writeRequestLog(t().db, call(b, at, { path: `/v3/company/${b}/cdc?entities=Item` }));
      await writeRequestLog(t().db, call(a, at, { method: 'POST', path: `/v3/company/${a}/bill` }));
    }
    const now = Date.parse('2032-03-25T00:00:00Z');
    const before = await meteredUsage(t().db, policy, now);
    expect(before.byRealm).toEqual(
      expect.arrayContaining([
        { realmId: a, used: 3 },
        { realmId: b, used: 3 },
      ]),
    );

    // A 5-day retention deletes the rows of the 1st and 2nd (and the write among them).
    const pruned = await pruneRequestLog(t().db, new Date('2032-03-20T00:00:00Z'));
    expect(pruned).toBeGreaterThanOrEqual(6);
    expect(await pruneRequestLog(t().db, new Date('2032-03-20T00:00:00Z'))).toBe(0);
    const after = await meteredUsage(t().db, policy, now);
    expect(after.used).toBe(before.used);
    expect(after.byRealm).toEqual(before.byRealm);
    // The next month starts from zero, whatever was rolled up in this one.
    const april = await meteredUsage(t().db, policy, Date.parse('2032-04-02T00:00:00Z'));
    expect(april.byRealm.find((r) => r.realmId === a)).toBeUndefined();
  });

  it('counts successful reads, queries and CDC of this month; not writes, failures, OAuth or last month', async () => {
    const a = newRealmId();
    const b = newRealmId();
    const at = '2031-07-10T12:00:00Z';
    const rows = [
      call(a, at), // read
      call(a, at, { method: 'POST', path: `/v3/company/${a}/query` }), // query as POST
      call(a, at, { path: `/v3/company/${a}/query?query=select` }),
      call(b, at, { path: `/v3/company/${b}/cdc?entities=Invoice` }),
      call(a, at, { method: 'POST', path: `/v3/company/${a}/invoice` }), // write: Core
      call(a, at, { method: 'POST', path: `/v3/company/${a}/batch` }), // batch: Core (⚠ reading)
      call(a, at, { status: 429 }), // refused: not metered
      call(a, at, { status: 500 }),
      call(a, at, { status: null, errorMessage: 'timeout' }),
      call(a, at, {
        kind: 'oauth_token_refresh',
        method: 'POST',
        path: '/oauth2/v1/tokens/bearer',
      }),
      call(a, '2031-06-30T23:59:59Z'), // last month
      call(a, '2031-08-01T00:00:00Z'), // next month
    ];
    for (const r of rows) await writeRequestLog(t().db, r);

    const u = await meteredUsage(t().db, policy, Date.parse('2031-07-16T00:00:00Z'));
    expect(u.cycleStart.toISOString()).toBe('2031-07-01T00:00:00.000Z');
    expect(u.cycleEnd.toISOString()).toBe('2031-08-01T00:00:00.000Z');
    expect(u.used).toBe(4);
    expect(u.byRealm).toEqual([
      { realmId: a, used: 3 },
      { realmId: b, used: 1 },
    ]);
    // 4 calls in 15 of 31 days -> about 8 for the month.
    expect(u.forecast).toBe(Math.round((4 * 31) / 15));
    expect(u.alert).toBe(false);
    expect(u.backgroundBlocked).toBe(false);
  });

  it('alerts at the configured share, stops background work at its cap, and never meters a sandbox', async () => {
    const a = newRealmId();
    for (let i = 0; i < 85; i++) await writeRequestLog(t().db, call(a, '2031-09-02T08:00:00Z'));
    const now = Date.parse('2031-09-02T09:00:00Z');

    const at85 = await meteredUsage(t().db, policy, now);
    expect(at85.used).toBe(85);
    expect(at85.alert).toBe(true);
    expect(at85.backgroundBlocked).toBe(false);
    expect(at85.backgroundCap).toBe(90);

    for (let i = 0; i < 5; i++) await writeRequestLog(t().db, call(a, '2031-09-02T08:30:00Z'));
    expect((await meteredUsage(t().db, policy, now)).backgroundBlocked).toBe(true);

    const sandbox = await meteredUsage(t().db, { ...policy, metered: false }, now);
    expect(sandbox.used).toBe(90);
    expect(sandbox.alert).toBe(false);
    expect(sandbox.backgroundBlocked).toBe(false);
  });

  it('a busy first day alone does not raise the forecast alert; a month on course past the allowance does', async () => {
    const a = newRealmId();
    for (let i = 0; i < 20; i++) await writeRequestLog(t().db, call(a, '2031-11-01T02:00:00Z'));
    const firstDay = await meteredUsage(t().db, policy, Date.parse('2031-11-01T06:00:00Z'));
    expect(firstDay.forecast).toBeGreaterThan(100);
    expect(firstDay.alert).toBe(false);

    // 20 calls in 5 of 30 days -> 120 forecast, past the allowance of 100.
    const fifthDay = await meteredUsage(t().db, policy, Date.parse('2031-11-06T00:00:00Z'));
    expect(fifthDay.forecast).toBe(120);
    expect(fifthDay.alert).toBe(true);
  });
});
