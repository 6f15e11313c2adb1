import { describe, expect, it } from 'vitest';
import { connect, type Connection, type HttpResult, useSandbox } from './sandbox-clients.ts';

// docs limits-and-throttles + blog 2016-08-08: 10/s per realm+app, 500/min per realm,
// 10 in flight per realm+app, batch 40/min per realm+app. Real numbers throughout; the
// sandbox clock (POST /_sandbox/clock) stands in for waiting out a window.
const sandbox = useSandbox();
const { control } = sandbox;

const companyInfo = (c: Connection): Promise<HttpResult> => c.api(`/companyinfo/${c.realmId}`);
const stats = async (c: Connection) =>
  (await control('GET', `/_sandbox/stats?realmId=${c.realmId}&clientId=${c.clientId}`)).body;
const advance = (seconds: number) =>
  control('POST', '/_sandbox/clock', { advanceSeconds: seconds });

function expectThrottleFault(res: HttpResult): void {
  expect(res.status).toBe(429);
  expect(res.body.Fault).toEqual({
    Error: [
      {
        Message: 'message=ThrottleExceeded; errorCode=003001; statusCode=429',
        Detail: 'The request limit was reached.  Try again later',
        code: '3001',
      },
    ],
    type: 'SERVICE',
  });
}

/** Runs `total` calls with at most `parallel` in flight, recording when each was sent. */
async function burst(total: number, parallel: number, call: () => Promise<HttpResult>) {
  const results: { sentAt: number; res: HttpResult }[] = new Array(total);
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const sentAt = performance.now();
      results[i] = { sentAt, res: await call() };
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}

describe('per realm+app limits', () => {
  it('1,000 rapid calls from one app to one realm: 10 served per second, every other call is a 429 ThrottleExceeded', async () => {
    const c = await connect(sandbox.url);
    const results = await burst(1000, 4, () => companyInfo(c));

    const ok = results.filter((r) => r.res.status === 200);
    const throttled = results.filter((r) => r.res.status === 429);
    expect(ok.length + throttled.length).toBe(1000);
    for (const r of throttled) expectThrottleFault(r.res);
    expect(throttled[0]!.res.headers.get('content-type')).toBe('application/json');

    // Within the first second (900 ms of margin for the request's trip), exactly 10 pass.
    const t0 = results[0]!.sentAt;
    const firstSecond = results.filter((r) => r.sentAt - t0 < 900);
    expect(firstSecond.length).toBeGreaterThan(10);
    expect(firstSecond.filter((r) => r.res.status === 200)).toHaveLength(10);
    expect(results.slice(0, 10).every((r) => r.res.status === 200)).toBe(true);

    const s = await stats(c);
    expect(s.served).toBe(ok.length);
    expect(s.throttled).toBe(throttled.length);
    expect(s.throttledBy.perSecond).toBe(throttled.length);
    expect(s.peakPerSecond).toBe(10);
    expect(s.peakConcurrency).toBeLessThanOrEqual(4);

    // The journal saw the same: every call, with its answer.
    const journal = await control('GET', `/_sandbox/requests?realmId=${c.realmId}&limit=5000`);
    expect(journal.body.requests.filter((e: any) => e.status === 429)).toHaveLength(
      throttled.length,
    );
  });

  it('a second realm is served normally while the first is throttled', async () => {
    const a = await connect(sandbox.url);
    const b = await connect(sandbox.url, { clientId: a.clientId, clientSecret: a.clientSecret });
    const aResults = await burst(30, 3, () => companyInfo(a));
    expect(aResults.filter((r) => r.res.status === 429).length).toBe(20);
    expect((await companyInfo(a)).status).toBe(429);

    const bResults = await burst(10, 3, () => companyInfo(b));
    expect(bResults.map((r) => r.res.status)).toEqual(Array(10).fill(200));
    expect((await stats(b)).throttled).toBe(0);
  });

  it('another app on the same realm keeps its own 10 per second', async () => {
    const a = await connect(sandbox.url);
    const other = await connect(sandbox.url, { realmId: a.realmId });
    await burst(15, 3, () => companyInfo(a));
    expect((await companyInfo(a)).status).toBe(429);
    const results = await burst(10, 3, () => companyInfo(other));
    expect(results.every((r) => r.res.status === 200)).toBe(true);
  });

  it('at most 10 requests in flight per realm+app: the 11th is refused even in a fresh second', async () => {
    const c = await connect(sandbox.url);
    const slow = await control('POST', '/_sandbox/faults', {
      kind: 'latency',
      latencyMs: 1500,
      realmId: c.realmId,
      count: 10,
    });
    expect(slow.status).toBe(201);
    const inFlight = Array.from({ length: 10 }, () => companyInfo(c));
    await expect.poll(async () => (await stats(c)).inFlight, { timeout: 1000 }).toBe(10);

    await advance(2); // the per-second window is clear; only concurrency can refuse now
    expectThrottleFault(await companyInfo(c));
    expect((await stats(c)).throttledBy.concurrent).toBe(1);

    expect((await Promise.all(inFlight)).map((r) => r.status)).toEqual(Array(10).fill(200));
    await advance(2);
    expect((await companyInfo(c)).status).toBe(200);
    expect((await stats(c)).peakConcurrency).toBe(10);
  });

  it('500 requests per minute per realm: the 501st is refused, for every app on the realm, until the minute has passed', async () => {
    const c = await connect(sandbox.url);
    const sameRealm = await connect(sandbox.url, { realmId: c.realmId });
    for (let second = 0; second < 50; second++) {
      const round = await burst(10, 2, () => companyInfo(c));
      expect(round.every((r) => r.res.status === 200)).toBe(true);
      await advance(1);
    }
    expectThrottleFault(await companyInfo(c));
    expectThrottleFault(await companyInfo(sameRealm));
    expect((await stats(c)).throttledBy.perMinute).toBe(1);
    expect((await stats(c)).peakPerMinute).toBe(500);

    await advance(60);
    expect((await companyInfo(c)).status).toBe(200);
  });

  it('batch calls are limited to 40 per minute per realm+app, while plain calls go on', async () => {
    const c = await connect(sandbox.url);
    const batch = () =>
      c.api('/batch', {
        body: { BatchItemRequest: [{ bId: '1', Query: 'select * from Customer' }] },
      });
    for (let round = 0; round < 4; round++) {
      const results = await burst(10, 2, batch);
      expect(results.every((r) => r.res.status === 200)).toBe(true);
      await advance(1);
    }
    expectThrottleFault(await batch());
    expect((await companyInfo(c)).status).toBe(200);
    const s = await stats(c);
    expect(s.throttledBy.batchPerMinute).toBe(1);
    expect(s.batch).toEqual({ served: 40, peakPerMinute: 40 });
  });

  it('limits can be switched off and tuned at run time through PATCH /_sandbox/limits', async () => {
    const c = await connect(sandbox.url);
    const off = await control('PATCH', '/_sandbox/limits', { enabled: false });
    expect(off.body.enabled).toBe(false);
    try {
      const results = await burst(40, 4, () => companyInfo(c));
      expect(results.every((r) => r.res.status === 200)).toBe(true);
      expect((await stats(c)).peakPerSecond).toBe(40);
    } finally {
      await control('PATCH', '/_sandbox/limits', { enabled: true });
    }
    await advance(2);
    const tuned = await control('PATCH', '/_sandbox/limits', { perSecond: 3 });
    try {
      expect(tuned.body.perSecond).toBe(3);
      const results = await burst(5, 1, () => companyInfo(c));
      expect(results.map((r) => r.res.status)).toEqual([200, 200, 200, 429, 429]);
    } finally {
      await control('PATCH', '/_sandbox/limits', { perSecond: 10 });
    }
    const bad = await control('PATCH', '/_sandbox/limits', { perSecond: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error_description).toBe('perSecond must be at least 1');
  });

  it('stats for a realm+app that never called are all zero, so a test can prove it was never throttled', async () => {
    const c = await connect(sandbox.url);
    const s = await stats(c);
    expect(s).toMatchObject({ served: 0, throttled: 0, peakConcurrency: 0, realmId: c.realmId });
    await companyInfo(c);
    expect(await stats(c)).toMatchObject({ served: 1, throttled: 0, peakPerSecond: 1 });
  });
});
