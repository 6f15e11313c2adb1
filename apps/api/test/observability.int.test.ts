// /request-log and /metrics after a known sequence of QBO calls (successes, injected 503s,
// injected throttles, refreshes, a revoked grant), against qbo-sandbox and a real database.
import { beforeAll, expect, it, vi } from 'vitest';
import { MetricsResponse, RequestLogResponse } from '@qbo-sync/contract';
import { addCompany, connectRealm, control, leaks, forEachService } from './service-harness.ts';

forEachService((env) => {
  let realmId: string;
  const metrics = async () => {
    const r = await env.svc.admin('GET', `/api/quickbooks/metrics?realmId=${realmId}`);
    expect(r.status).toBe(200);
    return MetricsResponse.parse(r.body);
  };
  const probe = async () => {
    const r = await env.svc.admin('GET', `/api/quickbooks/test-connection?realmId=${realmId}`);
    expect(r.body.ok).toBe(true);
  };

  beforeAll(async () => {
    const company = addCompany(env.sandbox, 'Metrics Co');
    realmId = company.realmId;
    await connectRealm(env.svc, realmId); // 1 token exchange + 1 CompanyInfo read
    // 5 probes while the next 3 accounting calls fail with 503: each failure is retried.
    await control(env.sandbox, 'POST', '/faults', {
      kind: 'error',
      status: 503,
      count: 3,
      surface: 'accounting',
      realmId,
    });
    for (let i = 0; i < 5; i++) await probe();
    // 1 probe through 2 throttles.
    await control(env.sandbox, 'POST', '/faults', {
      kind: 'throttle',
      count: 2,
      surface: 'accounting',
      realmId,
    });
    await probe();
  });

  it('/metrics counts every attempt: error rate, throttle rate and latency percentiles', async () => {
    const m = await metrics();
    // 1 (callback) + 5 probes + 3 injected 503s + 1 probe + 2 injected 429s
    expect(m.api.calls).toBe(12);
    expect(m.api.errors).toBe(5);
    expect(m.api.throttled).toBe(2);
    expect(m.api.error_rate).toBeCloseTo(5 / 12, 3);
    expect(m.api.throttle_rate).toBeCloseTo(2 / 12, 3);
    const { p50, p95, p99 } = m.api.latency_ms;
    expect(p50).not.toBeNull();
    expect(p50!).toBeLessThanOrEqual(p95!);
    expect(p95!).toBeLessThanOrEqual(p99!);
    expect(m.alerts.throttle_rate_high).toMatchObject({ active: true, threshold: 0.05 });
    expect(m.alerts.needs_reauth.active).toBe(false);
    expect(m.alerts.refresh_token_expiring.active).toBe(false);
    expect(m.alerts.refresh_token_expiring.value).toBeGreaterThan(99);
    expect(m.webhooks).toMatchObject({ received: 0, processed: 0, failed: 0, lag_seconds: 0 });
    expect(m.alerts.webhook_lag_high.active).toBe(false);
  });

  it('/metrics splits the window into hours for the charts: every hour present, the calls in the last', async () => {
    const m = await metrics();
    const hours = m.api.hourly;
    expect(hours.length).toBeGreaterThanOrEqual(24);
    expect(hours.length).toBeLessThanOrEqual(25);
    for (const h of hours) expect(new Date(h.hour).getUTCMinutes()).toBe(0);
    const total = hours.reduce((n: number, h: any) => n + h.calls, 0);
    expect(total).toBe(m.api.calls);
    expect(hours.reduce((n: number, h: any) => n + h.throttled, 0)).toBe(2);
    expect(hours.at(-1)!.latency_ms.p50).not.toBeNull();
  });

  it('/request-log filters by status, error code, method, path and time, newest first', async () => {
    const list = async (query: string) => {
      const r = await env.svc.admin(
        'GET',
        `/api/quickbooks/request-log?realmId=${realmId}&${query}`,
      );
      expect(r.status, query).toBe(200);
      return RequestLogResponse.parse(r.body).logs;
    };
    const s503 = await list('status=503');
    expect(s503).toHaveLength(3);
    expect(s503.every((l) => l.status === 503 && l.realm_id === realmId)).toBe(true);
    expect(await list('status=5xx')).toHaveLength(3);
    const throttled = await list('status=429');
    expect(throttled).toHaveLength(2);
    expect(await list('error_code=3001')).toHaveLength(2);
    expect(await list('status=error')).toHaveLength(5);

    const tokenCalls = await list('method=post');
    expect(tokenCalls.length).toBeGreaterThanOrEqual(1);
    expect(tokenCalls.every((l) => l.path.startsWith('/oauth2/v1/tokens/bearer'))).toBe(true);
    expect(await list('path=/oauth2')).toHaveLength(tokenCalls.length);
    // Each row says what it is: the callback's code exchange, then the Accounting API calls.
    const exchanges = await list('kind=oauth_token_exchange');
    expect(exchanges.map((l) => [l.method, l.path])).toEqual([
      ['POST', '/oauth2/v1/tokens/bearer'],
    ]);
    expect(await list('kind=accounting')).toHaveLength(12);
    const api = await list(`path=${encodeURIComponent(`/v3/company/${realmId}/companyinfo`)}`);
    expect(api).toHaveLength(12);
    const times = api.map((l) => Date.parse(l.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    expect(await list('to=2020-01-01T00:00:00Z')).toHaveLength(0);
    expect(
      await list(`from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`),
    ).toHaveLength(0);
  });

  it('/request-log pages with next_cursor without skipping or repeating rows', async () => {
    const all = await env.svc.admin(
      'GET',
      `/api/quickbooks/request-log?realmId=${realmId}&limit=500`,
    );
    const total = all.body.logs.length;
    expect(total).toBeGreaterThanOrEqual(13);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `realmId=${realmId}&limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await env.svc.admin('GET', `/api/quickbooks/request-log?${q}`);
      const page = RequestLogResponse.parse(r.body);
      expect(page.logs.length).toBeLessThanOrEqual(4);
      seen.push(...page.logs.map((l) => l.id));
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor && pages < 20);
    expect(seen).toEqual(all.body.logs.map((l: { id: string }) => l.id));
    expect(new Set(seen).size).toBe(total);
  });

  it('/metrics reports webhook lag and sync lag from the database, with their alerts', async () => {
    const db = env.db;
    const now = Date.now();
    await db
      .insertInto('qbo_webhook_events')
      .values([
        {
          realm_id: realmId,
          event_id: `evt-pending-${realmId}`,
          raw_body: '{}',
          signature_valid: true,
          status: 'pending',
          received_at: new Date(now - 20 * 60_000),
        },
        {
          realm_id: realmId,
          event_id: `evt-done-${realmId}`,
          raw_body: '{}',
          signature_valid: true,
          status: 'processed',
          received_at: new Date(now - 10 * 60_000),
          processed_at: new Date(now - 9 * 60_000),
        },
      ])
      .execute();
    await db
      .insertInto('qbo_sync_cursors')
      .values({
        realm_id: realmId,
        entity_type: 'Customer',
        last_cdc_at: new Date(now - 300_000),
        status: 'success',
      })
      .execute();

    const m = await metrics();
    expect(m.webhooks).toMatchObject({ received: 2, processed: 1, pending: 1, failed: 0 });
    expect(m.webhooks.lag_seconds).toBeGreaterThanOrEqual(20 * 60 - 5);
    expect(m.webhooks.processing_seconds.p50).toBeCloseTo(60, 0);
    expect(m.alerts.webhook_lag_high).toMatchObject({ active: true, threshold: 900 });
    const customer = m.sync_lag.find((s) => s.entity_type === 'Customer')!;
    expect(customer.lag_seconds).toBeGreaterThanOrEqual(295);
    expect(customer.lag_seconds).toBeLessThan(400);
    expect(m.sync_lag.find((s) => s.entity_type === 'Invoice')!.lag_seconds).toBeNull();
  });

  it('/metrics counts token refreshes by outcome and raises the re-auth and expiry alerts', async () => {
    expect((await env.svc.admin('POST', `/api/quickbooks/refresh?realmId=${realmId}`)).status).toBe(
      200,
    );
    expect((await env.svc.admin('POST', `/api/quickbooks/refresh?realmId=${realmId}`)).status).toBe(
      200,
    );

    // A refresh token close to its end: the 14-day alert fires.
    await env.db
      .updateTable('qbo_tokens')
      .set({ refresh_token_expires_at: new Date(Date.now() + 10 * 86_400_000) })
      .where('realm_id', '=', realmId)
      .execute();
    const expiring = await metrics();
    expect(expiring.alerts.refresh_token_expiring.active).toBe(true);
    expect(expiring.alerts.refresh_token_expiring.value).toBeCloseTo(10, 0);

    await control(env.sandbox, 'POST', '/tokens/revoke', { realmId });
    expect((await env.svc.admin('POST', `/api/quickbooks/refresh?realmId=${realmId}`)).status).toBe(
      409,
    );
    await vi.waitFor(async () => {
      const m = await metrics();
      expect(m.token_refreshes).toEqual({ total: 3, success: 2, invalid_grant: 1, error: 0 });
      expect(m.alerts.needs_reauth.active).toBe(true);
    });
  });

  it('no response or log line ever contains a token, code or secret', () => {
    expect(leaks(env.svc)).toEqual([]);
  });
});
