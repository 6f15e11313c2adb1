import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../../infra/rate-limit.ts';
import { HOUR_MS, systemClock, type RequestLogRecord } from '../ports.ts';
import {
  DEFAULT_RETRY_POLICY,
  QboApiClient,
  backoffDelayMs,
  type QboApiClientDeps,
  isSafeToRepeat,
  isTransient,
} from './api-client.ts';
import { QboFault, QboNetworkError, QboThrottledError } from './errors.ts';
import { QBO_RATE_LIMITS } from './limits.ts';
import { sanitizeLogPath, scrubSecrets } from './request-log.ts';

const fault = (status: number, code = '10000') =>
  new QboFault({
    status,
    type: 'SystemFault',
    errors: [{ message: 'm', detail: 'd', code }],
    intuitTid: null,
  });
const throttled = new QboThrottledError({
  status: 429,
  type: 'SERVICE',
  errors: [{ message: 'm', detail: 'd', code: '3001' }],
  intuitTid: null,
});

/** A client of the fake QBO listening on `server`, with `deps` over the defaults. */
function clientOf(server: http.Server, deps: Partial<QboApiClientDeps>): QboApiClient {
  return new QboApiClient({
    requestLog: { write: async () => {} },
    tokens: { getAccessToken: async () => 'access-token', invalidateAccessToken: async () => {} },
    limiter: new MemoryRateLimiter(),
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    apiBaseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/company`,
    minorVersion: 75,
    ...deps,
  });
}

describe('retry rules', () => {
  it('backoff uses full jitter under an exponentially growing, capped ceiling', () => {
    const p = DEFAULT_RETRY_POLICY;
    const err = fault(503);
    expect(backoffDelayMs(1, err, p, () => 0)).toBe(0);
    expect(backoffDelayMs(1, err, p, () => 0.999999)).toBe(p.baseDelayMs - 1);
    expect(backoffDelayMs(3, err, p, () => 0.999999)).toBe(p.baseDelayMs * 4 - 1);
    expect(backoffDelayMs(30, err, p, () => 0.999999)).toBe(p.maxDelayMs - 1);
    // Throttles wait longer: the per-minute quota refills slowly.
    expect(backoffDelayMs(1, throttled, p, () => 0.5)).toBe(p.throttleBaseDelayMs / 2);
  });

  it('throttles, 5xx and network failures are transient; validation faults are not', () => {
    expect(isTransient(throttled)).toBe(true);
    expect(isTransient(fault(503))).toBe(true);
    expect(isTransient(fault(500))).toBe(true);
    expect(isTransient(new QboNetworkError('x', { requestSent: true }))).toBe(true);
    expect(isTransient(fault(400, '6240'))).toBe(false);
    expect(isTransient(fault(400, '5010'))).toBe(false);
    expect(isTransient(new Error('bug'))).toBe(false);
  });

  it('a write without requestid is repeated only when it provably never left', () => {
    const post = { method: 'POST' as const };
    expect(isSafeToRepeat({ method: 'GET' }, fault(503))).toBe(true);
    expect(isSafeToRepeat({ ...post, requestId: 'r1' }, fault(503))).toBe(true);
    expect(isSafeToRepeat(post, fault(503))).toBe(false);
    expect(isSafeToRepeat(post, throttled)).toBe(false);
    expect(isSafeToRepeat(post, new QboNetworkError('reset', { requestSent: true }))).toBe(false);
    expect(isSafeToRepeat(post, new QboNetworkError('refused', { requestSent: false }))).toBe(true);
    expect(isSafeToRepeat({ ...post, readOnly: true }, fault(503))).toBe(true);
  });
});

describe('giving up', () => {
  it('a caller that aborts while the client waits to retry gets its reason at once, with no new attempt', async () => {
    // QBO answering 503 to everything: every GET is worth a retry, after a backoff wait.
    const qbo = http.createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((r) => qbo.listen(0, '127.0.0.1', r));
    const controller = new AbortController();
    const reason = new Error('the caller gave up');
    const logged: RequestLogRecord[] = [];
    const client = clientOf(qbo, {
      requestLog: {
        write: async (r) => {
          logged.push(r);
          // Once this attempt is logged the client goes straight into its backoff wait.
          setImmediate(() => controller.abort(reason));
        },
      },
      // An hour between attempts: only the abort can end this call within the test's time.
      retry: { baseDelayMs: HOUR_MS, maxDelayMs: HOUR_MS },
      random: () => 0.5,
    });
    try {
      const call = client.request('1', {
        method: 'GET',
        path: '/companyinfo/1',
        signal: controller.signal,
      });
      await expect(call).rejects.toBe(reason);
      expect(logged.map((r) => [r.attempt, r.status])).toEqual([[1, 503]]);
    } finally {
      await new Promise((r) => qbo.close(r));
    }
  });
});

describe('the order calls go in', () => {
  it('calls reach QBO in the order they were made, however their token reads finish', async () => {
    const arrived: string[] = [];
    const qbo = http.createServer((req, res) => {
      arrived.push(new URL(req.url!, 'http://x').pathname.split('/').pop()!);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"Item":{"Id":"1"}}');
    });
    await new Promise<void>((r) => qbo.listen(0, '127.0.0.1', r));
    // The token store answers later the earlier it was asked (slower reads first), and the
    // realm may have one call in flight: the limiter alone decides the order.
    let reads = 0;
    const client = clientOf(qbo, {
      tokens: {
        getAccessToken: async () => {
          const delay = Math.max(0, 40 - 10 * reads++);
          await new Promise((r) => setTimeout(r, delay));
          return 'access-token';
        },
        invalidateAccessToken: async () => {},
      },
      limiter: new MemoryRateLimiter({ ...QBO_RATE_LIMITS, maxInFlight: 1 }),
    });
    try {
      const names = ['a', 'b', 'c', 'd'];
      await Promise.all(
        names.map((n) => client.request('1', { method: 'GET', path: `/item/${n}` })),
      );
      expect(arrived).toEqual(names);
    } finally {
      await new Promise((r) => qbo.close(r));
    }
  });
});

describe('where a call holds its rate-limit place', () => {
  it('a slow answer frees its place from its send; a 429 widens the realm’s transit allowance', async () => {
    // QBO answering after 150 ms, and with a 429 to realm 2's first call.
    let throttle = true;
    const qbo = http.createServer((req, res) => {
      if (throttle && req.url?.includes('/2/')) {
        throttle = false;
        res.writeHead(429, { 'content-type': 'application/json' });
        res.end(
          '{"Fault":{"Error":[{"Message":"ThrottleExceeded","code":"3001"}],"type":"SERVICE"}}',
        );
        return;
      }
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"CompanyInfo":{"Id":"1"},"time":"2026-01-01"}');
      }, 150);
    });
    await new Promise<void>((r) => qbo.listen(0, '127.0.0.1', r));
    const memory = new MemoryRateLimiter();
    const backdates: Record<string, (number | undefined)[]> = {};
    const client = clientOf(qbo, {
      rateTransitMs: 120,
      maxAttempts: 1,
      limiter: {
        acquire: async (realmId, o) => {
          const release = await memory.acquire(realmId, o);
          return async (options) => {
            (backdates[realmId] ??= []).push(options?.backdateMs);
            await release(options);
          };
        },
        usage: (realmId) => memory.usage(realmId),
      },
    });
    const read = (realmId: string) =>
      client.request(realmId, { method: 'GET', path: `/companyinfo/${realmId}` });
    try {
      await read('1');
      await expect(read('2')).rejects.toBeInstanceOf(QboThrottledError);
      await read('2');
      await read('1');
      // Realm 1: sent, then answered ≥ 150 ms later; its place was freed from send + 120 ms.
      expect(backdates['1']).toHaveLength(2);
      for (const b of backdates['1']!) expect(b).toBeGreaterThan(10);
      // Realm 2: the 429 widened its allowance to 240 ms, more than the answer took, so the
      // call after it keeps its place until it ended (the 429 itself never went out slow).
      expect(backdates['2']).toHaveLength(2);
      expect(backdates['2']![1]).toBe(0);
    } finally {
      await new Promise((r) => qbo.close(r));
    }
  });
});

describe('reducing a page', () => {
  it('a query keeps what its reduce makes of the page; a reduce that throws fails the call once, after logging it as answered', async () => {
    let served = 0;
    const qbo = http.createServer((_req, res) => {
      served += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"QueryResponse":{"Customer":[{"Id":"1"},{"Id":"2"}]},"time":"2026-01-01"}');
    });
    await new Promise<void>((r) => qbo.listen(0, '127.0.0.1', r));
    const logged: RequestLogRecord[] = [];
    const client = clientOf(qbo, { requestLog: { write: async (r) => void logged.push(r) } });
    try {
      const ids = await client.query('1', 'select * from Customer', (r) =>
        (r.Customer as { Id: string }[]).map((c) => c.Id),
      );
      expect(ids).toEqual(['1', '2']);
      const bug = new Error('mapper bug');
      const failing = client.query('1', 'select * from Customer', () => {
        throw bug;
      });
      await expect(failing).rejects.toBe(bug);
      expect(served).toBe(2);
      expect(logged.map((r) => [r.status, r.errorCode])).toEqual([
        [200, null],
        [200, null],
      ]);
    } finally {
      await new Promise((r) => qbo.close(r));
    }
  });
});

describe('request-log hygiene', () => {
  it('logged paths lose credential-like query parameters but keep the query text', () => {
    expect(
      sanitizeLogPath('/v3/company/1/query?query=select * from Customer&access_token=abc&code=xyz'),
    ).toBe('/v3/company/1/query?query=select * from Customer');
    expect(sanitizeLogPath('/oauth2/v1/tokens/bearer?refresh_token=r')).toBe(
      '/oauth2/v1/tokens/bearer',
    );
  });

  it('error messages lose bearer tokens, JWTs and any known secret', () => {
    const msg = scrubSecrets(
      'failed with Authorization: Bearer abcdefghijklmnop and eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.sig and sekret-123456',
      ['sekret-123456'],
    );
    expect(msg).not.toMatch(/abcdefghijklmnop|eyJ|sekret/);
  });
});
