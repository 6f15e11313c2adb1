// The API client against a real qbo-sandbox and a real database (PGlite, and Postgres when
// DATABASE_URL is set). Failures are injected through the sandbox's control API; every test
// uses its own company, so fault rules (scoped by realmId) never touch another test.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { forEachDatabase } from '../../../../test/db-helpers.ts';
import { freePort } from '../../../../test/free-port.ts';
import { MemoryRateLimiter } from '../../../infra/rate-limit.ts';
import { QboAuthError, QboFault, QboNetworkError, QboThrottledError } from './errors.ts';
import { listRequestLog, type RequestLogEntry } from './request-log.ts';
import {
  control,
  injectFault,
  sandboxStats,
  startSandboxWorld,
  type SandboxWorld,
} from '../../../../test/sandbox-world.ts';

let world: SandboxWorld;
beforeAll(async () => {
  world = await startSandboxWorld();
});
afterAll(async () => {
  await world?.close();
});

const limiter = new MemoryRateLimiter();

/** Oldest first, as the attempts happened. */
async function attemptsOf(
  db: Parameters<typeof listRequestLog>[0],
  realmId: string,
): Promise<RequestLogEntry[]> {
  const { logs } = await listRequestLog(db, { realmId, limit: 500 });
  return logs.reverse();
}

const name = (prefix: string) => `${prefix} ${randomUUID().slice(0, 8)}`;

forEachDatabase((t) => {
  it('injected 503s are retried and the log shows attempts 1..N+1 under one requestid', async () => {
    const { db } = t();
    const realmId = await world.newCompany();
    const client = world.client(db, limiter);
    await injectFault(world.url, { kind: 'error', status: 503, count: 2, realmId, method: 'POST' });
    await injectFault(world.url, { kind: 'outage', count: 2, realmId, method: 'GET' });
    const requestId = randomUUID();

    const created = await client.create(
      realmId,
      'Customer',
      { DisplayName: name('Retry') },
      requestId,
    );
    expect(created.Id).toBeTruthy();
    const info = await client.companyInfo(realmId);
    expect(info.CompanyName).toBeTruthy();

    const rows = await attemptsOf(db, realmId);
    const writes = rows.filter((r) => r.method === 'POST');
    expect(writes.map((r) => [r.attempt, r.status, r.qboErrorCode, r.requestId])).toEqual([
      [1, 503, '10000', requestId],
      [2, 503, '10000', requestId],
      [3, 200, null, requestId],
    ]);
    expect(writes.every((r) => r.intuitTid)).toBe(true);
    const reads = rows.filter((r) => r.method === 'GET');
    expect(reads.map((r) => [r.attempt, r.status, r.requestId])).toEqual([
      [1, 503, null],
      [2, 503, null],
      [3, 200, null],
    ]);
    expect(reads[0]!.path).toBe(`/v3/company/${realmId}/companyinfo/${realmId}`);
  });

  it('a 429 throttle, in JSON or XML, surfaces as QboThrottledError and is retried', async () => {
    const { db } = t();
    const realmId = await world.newCompany();
    const noRetry = world.client(db, limiter, { maxAttempts: 1 });
    for (const format of ['json', 'xml']) {
      await injectFault(world.url, { kind: 'throttle', format, count: 1, realmId });
      const err = await noRetry.query(realmId, 'select * from Customer').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QboThrottledError);
      expect(err).toMatchObject({ status: 429, code: '3001' });
      expect((err as QboThrottledError).intuitTid).toBeTruthy();
    }

    const client = world.client(db, limiter);
    await injectFault(world.url, { kind: 'throttle', format: 'xml', count: 1, realmId });
    const page = await client.query<{ Account?: unknown[] }>(
      realmId,
      'select * from Account maxresults 5',
    );
    expect(page.Account).toHaveLength(5);
    const rows = (await attemptsOf(db, realmId)).slice(-2);
    expect(rows.map((r) => [r.attempt, r.status, r.qboErrorCode])).toEqual([
      [1, 429, '3001'],
      [2, 200, null],
    ]);
    expect(rows[0]!.path).toBe(
      `/v3/company/${realmId}/query?query=select * from Account maxresults 5`,
    );
  });

  it('validation faults (duplicate name 6240, stale SyncToken 5010) are not retried', async () => {
    const { db } = t();
    const realmId = await world.newCompany();
    const client = world.client(db, limiter);
    const displayName = name('Dup');
    const first = await client.create(
      realmId,
      'Customer',
      { DisplayName: displayName },
      randomUUID(),
    );

    const dupId = randomUUID();
    const dup = await client
      .create(realmId, 'Customer', { DisplayName: displayName }, dupId)
      .catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(QboFault);
    expect(dup).not.toBeInstanceOf(QboThrottledError);
    expect(dup).toMatchObject({ status: 400, code: '6240', type: 'ValidationFault' });
    expect((dup as QboFault).intuitTid).toBeTruthy();

    const sparse = { Id: first.Id, SyncToken: first.SyncToken, sparse: true };
    await client.update(realmId, 'Customer', { ...sparse, Notes: 'one' }, randomUUID());
    const staleId = randomUUID();
    const stale = await client
      .update(realmId, 'Customer', { ...sparse, Notes: 'two' }, staleId)
      .catch((e: unknown) => e);
    expect(stale).toMatchObject({ status: 400, code: '5010' });

    const rows = await attemptsOf(db, realmId);
    expect(rows.filter((r) => r.requestId === dupId).map((r) => [r.attempt, r.status])).toEqual([
      [1, 400],
    ]);
    expect(
      rows.filter((r) => r.requestId === staleId).map((r) => [r.attempt, r.qboErrorCode]),
    ).toEqual([[1, '5010']]);
  });

  it('a create without requestid is not repeated after a 5xx (it might have been done)', async () => {
    const { db } = t();
    const realmId = await world.newCompany();
    const client = world.client(db, limiter);
    const rule = await injectFault(world.url, {
      kind: 'error',
      status: 503,
      count: 2,
      realmId,
      method: 'POST',
    });
    const err = await client
      .request(realmId, { method: 'POST', path: '/customer', body: { DisplayName: name('NoId') } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503 });
    const rows = await attemptsOf(db, realmId);
    expect(rows.map((r) => [r.method, r.attempt, r.status, r.requestId])).toEqual([
      ['POST', 1, 503, null],
    ]);
    expect((await control(world.url, 'GET', `/_sandbox/faults/${rule.id}`)).body.hits).toBe(1);
  });

  it('a create whose response was lost, retried with its requestid, creates exactly one object', async () => {
    const { db } = t();
    const realmId = await world.newCompany();
    const client = world.client(db, limiter);
    await injectFault(world.url, { kind: 'drop-response', count: 1, realmId, method: 'POST' });
    const displayName = name('Lost');
    const requestId = randomUUID();

    const created = await client.create(
      realmId,
      'Customer',
      { DisplayName: displayName },
      requestId,
    );
    expect(created.DisplayName).toBe(displayName);

    const count = await client.query<{ totalCount: number }>(
      realmId,
      `select count(*) from Customer where DisplayName = '${displayName}'`,
    );
    expect(count.totalCount).toBe(1);
    const rows = (await attemptsOf(db, realmId)).filter((r) => r.requestId === requestId);
    expect(rows.map((r) => [r.attempt, r.status])).toEqual([
      [1, null],
      [2, 200],
    ]);
    expect(rows[0]!.errorMessage).toMatch(/^network: /);
  });

  it('an expired access token is replaced once: invalidate, then one retry with a new token', async () => {
    const { db } = t();
    const realmId = await world.newCompany();
    const client = world.client(db, limiter);
    const oldToken = await world.tokens.getAccessToken(realmId);
    await control(world.url, 'POST', '/_sandbox/tokens/expire', { accessToken: oldToken });

    const info = await client.companyInfo(realmId);
    expect(info.CompanyName).toBeTruthy();
    expect(world.tokens.invalidated).toContain(oldToken);
    expect(await world.tokens.getAccessToken(realmId)).not.toBe(oldToken);
    const rows = await attemptsOf(db, realmId);
    expect(rows.map((r) => [r.attempt, r.status, r.qboErrorCode])).toEqual([
      [1, 401, '3200'],
      [2, 200, null],
    ]);

    // A second 401 in a row is not a stale token: it surfaces instead of looping.
    await injectFault(world.url, { kind: 'error', status: 401, count: 2, realmId });
    const err = await client.companyInfo(realmId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QboAuthError);
    expect((await attemptsOf(db, realmId)).slice(2).map((r) => r.status)).toEqual([401, 401]);
  });

  it('a read that times out is retried; a write that never reached QBO is retried too', async () => {
    const { db } = t();
    const realmId = await world.newCompany();
    await injectFault(world.url, { kind: 'timeout', count: 1, realmId, path: '/companyinfo' });
    const info = await world.client(db, limiter, { timeoutMs: 300 }).companyInfo(realmId);
    expect(info.CompanyName).toBeTruthy();
    const rows = await attemptsOf(db, realmId);
    expect(rows.map((r) => [r.attempt, r.status])).toEqual([
      [1, null],
      [2, 200],
    ]);
    expect(rows[0]!.errorMessage).toMatch(/timeout/);

    // A closed port: the connection is refused, so not even a requestid-less POST arrived.
    const port = await freePort();
    const offline = world.client(db, limiter, {
      apiBaseUrl: `http://127.0.0.1:${port}/v3/company`,
      maxAttempts: 3,
    });
    const err = await offline
      .request(realmId, { method: 'POST', path: '/customer', body: { DisplayName: 'x' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QboNetworkError);
    expect((err as QboNetworkError).requestSent).toBe(false);
    const after = (await attemptsOf(db, realmId)).slice(2);
    expect(after.map((r) => [r.method, r.attempt, r.status])).toEqual([
      ['POST', 1, null],
      ['POST', 2, null],
      ['POST', 3, null],
    ]);
  });

  it('a burst at a realm whose answers take 300 ms gets no 429 and stays within 10 per second', async () => {
    // The limiter counts each call from its request's send (plus QBO_RATE_TRANSIT_MS), not
    // from its slow response's end; QBO, like the sandbox, counts the request on arrival.
    const { db } = t();
    const realmId = await world.newCompany();
    const client = world.client(db, new MemoryRateLimiter(), { maxAttempts: 1 }); // a 429 fails
    await injectFault(world.url, {
      kind: 'latency',
      surface: 'accounting',
      realmId,
      latencyMs: 300,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? client.companyInfo(realmId)
          : client.query(realmId, 'select * from Account maxresults 1'),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const stats = await sandboxStats(world.url, realmId, world.clientId);
    expect(stats.served).toBe(40);
    expect(stats.throttled).toBe(0);
    expect(stats.peakPerSecond).toBeLessThanOrEqual(10);
    expect(stats.peakConcurrency).toBeLessThanOrEqual(10);
  });

  it('sends minorversion on every call and requestid only on writes', async () => {
    const { db } = t();
    const realmId = await world.newCompany();
    const client = world.client(db, limiter);
    const requestId = randomUUID();
    await client.create(realmId, 'Customer', { DisplayName: name('Mv') }, requestId);
    await client.query(realmId, 'select * from Customer maxresults 1');
    await client.cdc(realmId, ['Customer', 'Invoice'], new Date(Date.now() - 3_600_000));
    await client.batch(
      realmId,
      [{ bId: '1', Query: 'select * from Item maxresults 1' }],
      randomUUID().slice(0, 36),
    );
    const journal = (
      await control(world.url, 'GET', `/_sandbox/requests?realmId=${realmId}&limit=50`)
    ).body.requests as { method: string; url: string; status: number }[];
    expect(journal).toHaveLength(4);
    for (const r of journal) {
      expect(r.status).toBe(200);
      expect(new URL(r.url, world.url).searchParams.get('minorversion')).toBe('75');
      expect(new URL(r.url, world.url).searchParams.has('requestid')).toBe(r.method === 'POST');
    }
    expect(journal[0]!.url).toContain(`requestid=${requestId}`);
  });

  it('request-log rows never hold an access token, refresh token or client secret', async () => {
    const { db } = t();
    const realmId = await world.newCompany();
    const client = world.client(db, limiter);
    const old = await world.tokens.getAccessToken(realmId);
    await control(world.url, 'POST', '/_sandbox/tokens/expire', { accessToken: old });
    await client.companyInfo(realmId);
    await injectFault(world.url, { kind: 'error', status: 500, count: 1, realmId });
    await client.query(realmId, 'select * from Account');
    await client.create(realmId, 'Customer', { DisplayName: name('Sec') }, randomUUID());
    const rows = await attemptsOf(db, realmId);
    expect(rows.length).toBeGreaterThanOrEqual(5);
    const text = JSON.stringify(rows);
    const app = (await control(world.url, 'GET', `/_sandbox/apps/${world.clientId}`)).body;
    for (const secret of [
      ...world.tokens.minted,
      ...world.tokens.refreshTokens,
      app.clientSecret,
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/bearer/i);
  });
});
