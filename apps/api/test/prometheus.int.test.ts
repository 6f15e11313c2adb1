// GET /metrics/prometheus as a scraper reads it: QBO calls by realm, status and code, their
// latency, throttles and token refreshes, fed by the same attempts the request log records;
// the state an operator watches; the alerts of /metrics.
import { expect, it } from 'vitest';
import {
  addCompany,
  connectRealm,
  control,
  forEachService,
  type ServiceEnv,
  type TestService,
} from './service-harness.ts';
import { seededRealm } from './sync-helpers.ts';

/** One scrape as the admin's scraper makes it; `value` reads one sample (undefined if absent). */
async function scrape(svc: TestService) {
  const text = await (
    await svc.fetch('/metrics/prometheus', {
      headers: { authorization: `Bearer ${svc.adminToken}` },
    })
  ).text();
  const value = (metric: string, labels: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${metric}{${labels}}`));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };
  return { text, value };
}

/**
 * A new company connected, then one probe of it that QBO throttles once: one throttled
 * attempt, then the client's retry succeeds.
 */
async function connectedThenThrottledOnce(env: ServiceEnv, companyName: string): Promise<string> {
  const realm = addCompany(env.sandbox, companyName).realmId;
  await connectRealm(env.svc, realm);
  await control(env.sandbox, 'POST', '/faults', {
    kind: 'throttle',
    surface: 'accounting',
    realmId: realm,
    count: 1,
  });
  expect(
    (await env.svc.admin('GET', `/api/quickbooks/test-connection?realmId=${realm}`)).body,
  ).toMatchObject({ ok: true });
  return realm;
}

forEachService((env) => {
  it('counts QBO calls by realm, status and code, throttles and refreshes, for an authenticated scraper', async () => {
    const realm = await connectedThenThrottledOnce(env, 'Scraped Co');
    expect((await env.svc.admin('POST', `/api/quickbooks/refresh?realmId=${realm}`)).status).toBe(
      200,
    );

    expect((await env.svc.fetch('/metrics/prometheus')).status).toBe(401);
    const res = await env.svc.fetch('/metrics/prometheus', {
      headers: { authorization: `Bearer ${env.svc.adminToken}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const { text, value } = await scrape(env.svc);
    const r = `realm_id="${realm}"`;
    // The callback's proof of the realm and the probe's retry: two 200s; the throttle: one 429.
    expect(value('qbo_requests_total', `${r},kind="accounting",status="200",code=""`)).toBe(2);
    expect(value('qbo_requests_total', `${r},kind="accounting",status="429",code="3001"`)).toBe(1);
    expect(value('qbo_throttled_total', r)).toBe(1);
    expect(value('qbo_token_refreshes_total', `${r},outcome="success"`)).toBe(1);
    expect(
      value('qbo_requests_total', `${r},kind="oauth_token_exchange",status="200",code=""`),
    ).toBe(1);
    expect(text).toContain('qbo_request_duration_seconds_bucket{le="0.025",kind="accounting"');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('exports the state an operator watches: mirror rows and drift, queues, webhook backlog, metered reads', async () => {
    const { realmId } = await seededRealm(env.svc, env.sandbox, 60);
    const accepted = await env.svc.admin('POST', '/api/quickbooks/sync/full', {
      realm_id: realmId,
      entity: 'Customer',
    });
    expect(accepted.status).toBe(202);
    // The run ends in the database; poll its status as the admin page does.
    for (let i = 0; i < 100; i++) {
      const s = await env.svc.admin('GET', `/api/quickbooks/sync/status?realmId=${realmId}`);
      if (s.body.realms[0]?.last_run?.status === 'success') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const mirrored = await env.db
      .selectFrom('qbo_customers')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('realm_id', '=', realmId)
      .where('is_deleted', '=', false)
      .executeTakeFirstOrThrow();

    const { text } = await scrape(env.svc);
    const line = (prefix: string) => text.split('\n').find((l) => l.startsWith(prefix));
    expect(line(`qbo_mirror_rows{realm_id="${realmId}",entity="Customer"}`)).toBe(
      `qbo_mirror_rows{realm_id="${realmId}",entity="Customer"} ${mirrored.n}`,
    );
    expect(line('qbo_job_queue_depth{queue="qbo.sync",state="waiting"}')).toMatch(/ 0$/);
    expect(line('qbo_webhook_backlog_seconds')).toMatch(/^qbo_webhook_backlog_seconds \d/);
    expect(line('qbo_coreplus_calls{realm_id="allowance"}')).toBe(
      'qbo_coreplus_calls{realm_id="allowance"} 500000',
    );
    expect(
      Number(line(`qbo_coreplus_calls{realm_id="${realmId}"}`)?.split(' ')[1]),
    ).toBeGreaterThan(0);
  });

  it('exports every /metrics alert per realm by the same rules: whether raised, what it measured, its limit', async () => {
    // One call in three throttled (the callback's, the probe's and its retry), then the grant
    // revoked at Intuit.
    const realm = await connectedThenThrottledOnce(env, 'Alerting Co');
    await control(env.sandbox, 'POST', '/tokens/revoke', { realmId: realm });
    expect((await env.svc.admin('POST', `/api/quickbooks/refresh?realmId=${realm}`)).status).toBe(
      409,
    );

    const json = (await env.svc.admin('GET', `/api/quickbooks/metrics?realmId=${realm}`)).body
      .alerts as Record<string, { active: boolean; value: number | null; threshold: number }>;
    const { value } = await scrape(env.svc);
    const gauges = (alert: string) => {
      const labels = `realm_id="${realm}",alert="${alert}"`;
      return {
        active: value('qbo_alert_active', labels),
        value: value('qbo_alert_value', labels),
        threshold: value('qbo_alert_threshold', labels),
      };
    };
    expect(Object.keys(json).sort()).toEqual([
      'coreplus_allowance',
      'daily_job_overdue',
      'drift_found',
      'needs_reauth',
      'refresh_token_expiring',
      'throttle_rate_high',
      'webhook_lag_high',
    ]);
    for (const [alert, a] of Object.entries(json)) {
      expect({ alert, ...gauges(alert) }).toEqual({
        alert,
        active: a.active ? 1 : 0,
        value: a.value ?? undefined,
        threshold: a.threshold,
      });
    }
    expect(gauges('needs_reauth').active).toBe(1);
    expect(gauges('throttle_rate_high')).toEqual({ active: 1, value: 0.3333, threshold: 0.05 });
    expect(gauges('webhook_lag_high').active).toBe(0);
  });
});
