// Living with connections: reconnecting, several companies at once, disconnecting, manual
// refresh and the connection probe — over HTTP against qbo-sandbox and a real database.
import { expect, it } from 'vitest';
import { toJson } from '../src/db/schema.ts';
import {
  DisconnectResponse,
  MetricsResponse,
  RefreshResponse,
  StatusResponse,
  TestConnectionResponse,
} from '@qbo-sync/contract';
import { addCompany, connectRealm, control, leaks, forEachService } from './service-harness.ts';

forEachService((env) => {
  it('reconnecting the same company updates its row instead of adding another', async () => {
    const company = addCompany(env.sandbox, 'Reconnect Ltd');
    await connectRealm(env.svc, company.realmId);
    const before = await env.db
      .selectFrom('qbo_connections')
      .selectAll()
      .where('realm_id', '=', company.realmId)
      .executeTakeFirstOrThrow();
    // Renamed in QuickBooks meanwhile (CompanyInfo was created by the first read).
    const info = company.get('CompanyInfo', '1') as Record<string, unknown> | undefined;
    expect(info?.CompanyName).toBe('Reconnect Ltd');
    info!.CompanyName = 'Reconnect Ltd (renamed)';

    await connectRealm(env.svc, company.realmId);
    const rows = await env.db
      .selectFrom('qbo_connections')
      .selectAll()
      .where('realm_id', '=', company.realmId)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).toBe(before.id);
    expect(rows[0]!.company_name).toBe('Reconnect Ltd (renamed)');
    const tokens = await env.db
      .selectFrom('qbo_tokens')
      .select('version')
      .where('realm_id', '=', company.realmId)
      .execute();
    expect(tokens).toHaveLength(1);
  });

  it('several companies can be connected at once and realmId selects one', async () => {
    const a = addCompany(env.sandbox, 'Alpha Inc');
    const b = addCompany(env.sandbox, 'Beta LLC');
    await connectRealm(env.svc, a.realmId);
    await connectRealm(env.svc, b.realmId);

    const sa = await env.svc.admin('GET', `/api/quickbooks/status?realmId=${a.realmId}`);
    const sb = await env.svc.admin('GET', `/api/quickbooks/status?realmId=${b.realmId}`);
    expect(StatusResponse.parse(sa.body).company_name).toBe('Alpha Inc');
    expect(StatusResponse.parse(sb.body).company_name).toBe('Beta LLC');
    const listed = sb.body.connections.map((c: { realm_id: string }) => c.realm_id);
    expect(listed).toEqual(expect.arrayContaining([a.realmId, b.realmId]));

    // Without realmId: the most recently connected company.
    const dflt = await env.svc.admin('GET', '/api/quickbooks/status');
    expect(dflt.body.realm_id).toBe(b.realmId);

    const probe = await env.svc.admin(
      'GET',
      `/api/quickbooks/test-connection?realmId=${a.realmId}`,
    );
    expect(probe.body).toMatchObject({ ok: true, realm_id: a.realmId, company_name: 'Alpha Inc' });

    for (const path of ['status', 'metrics', 'request-log', 'test-connection']) {
      const r = await env.svc.admin('GET', `/api/quickbooks/${path}?realmId=123404040404`);
      expect(r.status, path).toBe(404);
      expect(r.body.error.code).toBe('realm_not_found');
      expect(r.body.error.message).toContain('123404040404');
    }
    for (const path of ['disconnect', 'refresh']) {
      const r = await env.svc.admin('POST', `/api/quickbooks/${path}?realmId=123404040404`);
      expect(r.status, path).toBe(404);
    }
  });

  it('disconnect revokes the grant at Intuit, wipes tokens, and keeps mirror rows and the request log', async () => {
    const company = addCompany(env.sandbox, 'Leaving Co');
    await connectRealm(env.svc, company.realmId);
    const db = env.db;
    await db
      .insertInto('qbo_customers')
      .values({
        realm_id: company.realmId,
        qbo_id: '1',
        sync_token: '0',
        display_name: 'Kept Customer',
        raw: toJson({ Id: '1', DisplayName: 'Kept Customer' }),
      })
      .execute();
    const logBefore = await db
      .selectFrom('qbo_request_log')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('realm_id', '=', company.realmId)
      .executeTakeFirstOrThrow();
    expect(Number(logBefore.n)).toBeGreaterThan(0);

    const res = await env.svc.admin(
      'POST',
      `/api/quickbooks/disconnect?realmId=${company.realmId}`,
    );
    expect(res.status).toBe(200);
    const body = DisconnectResponse.parse(res.body);
    expect(body.kept.mirror_rows).toBe(1);
    expect(body.kept.request_log_rows).toBeGreaterThanOrEqual(Number(logBefore.n));

    expect(
      await db
        .selectFrom('qbo_tokens')
        .selectAll()
        .where('realm_id', '=', company.realmId)
        .execute(),
    ).toHaveLength(0);
    const conn = await db
      .selectFrom('qbo_connections')
      .selectAll()
      .where('realm_id', '=', company.realmId)
      .executeTakeFirstOrThrow();
    expect(conn.status).toBe('disconnected');
    expect(conn.disconnected_at).not.toBeNull();
    expect(
      await db
        .selectFrom('qbo_customers')
        .selectAll()
        .where('realm_id', '=', company.realmId)
        .execute(),
    ).toHaveLength(1);

    // The sandbox shows every refresh token of this app's grant for the realm revoked.
    const grants = [...env.sandbox.state.refreshTokens.values()].filter(
      (r) => r.realmId === company.realmId && r.clientId === env.svc.clientId,
    );
    expect(grants.length).toBeGreaterThan(0);
    expect(grants.every((r) => r.revoked)).toBe(true);

    const status = StatusResponse.parse(
      (await env.svc.admin('GET', `/api/quickbooks/status?realmId=${company.realmId}`)).body,
    );
    expect(status).toMatchObject({ connected: false, status: 'disconnected', tokens: null });
    expect(status.entity_counts.Customer).toBe(1);

    // A disconnected company cannot be refreshed or probed until it is connected again.
    for (const [method, path] of [
      ['POST', 'refresh'],
      ['GET', 'test-connection'],
      ['POST', 'disconnect'],
    ] as const) {
      const r = await env.svc.admin(method, `/api/quickbooks/${path}?realmId=${company.realmId}`);
      expect(r.status, path).toBe(409);
      expect(r.body.error.code).toBe('not_connected');
    }
    // The request log of the disconnected company is still readable.
    const logs = await env.svc.admin(
      'GET',
      `/api/quickbooks/request-log?realmId=${company.realmId}`,
    );
    expect(logs.body.logs.length).toBeGreaterThan(0);
    // /metrics no longer claims QuickBooks accepts tokens that were revoked and wiped.
    const m = MetricsResponse.parse(
      (await env.svc.admin('GET', `/api/quickbooks/metrics?realmId=${company.realmId}`)).body,
    );
    expect(m.alerts.needs_reauth.message).toBe('the company is disconnected: no tokens are held');
    expect(m.alerts.refresh_token_expiring).toMatchObject({ active: false, value: null });
  });

  it("/status counts the company's reads of this month (a sandbox's: counted, not metered)", async () => {
    const company = addCompany(env.sandbox);
    await connectRealm(env.svc, company.realmId);
    const q = `?realmId=${company.realmId}`;
    const before = StatusResponse.parse(
      (await env.svc.admin('GET', `/api/quickbooks/status${q}`)).body,
    );
    for (let i = 0; i < 3; i++) await env.svc.admin('GET', `/api/quickbooks/test-connection${q}`);
    await env.svc.admin('POST', `/api/quickbooks/refresh${q}`); // OAuth: never metered
    const after = StatusResponse.parse(
      (await env.svc.admin('GET', `/api/quickbooks/status${q}`)).body,
    );
    const cp = after.api_quota.coreplus;
    expect(cp.used_by_realm - before.api_quota.coreplus.used_by_realm).toBe(3);
    expect(cp).toMatchObject({ metered: false, alert: false, allowance: 500_000 });
    const m = MetricsResponse.parse(
      (await env.svc.admin('GET', `/api/quickbooks/metrics${q}`)).body,
    );
    expect(m.coreplus.used_by_realm).toBe(cp.used_by_realm);
    expect(m.alerts.coreplus_allowance.message).toMatch(/not metered \(a sandbox\)/);
  });

  it('POST /refresh rotates the tokens and reports the new expiries', async () => {
    const company = addCompany(env.sandbox);
    await connectRealm(env.svc, company.realmId);
    const before = await env.db
      .selectFrom('qbo_tokens')
      .selectAll()
      .where('realm_id', '=', company.realmId)
      .executeTakeFirstOrThrow();
    const res = await env.svc.admin('POST', `/api/quickbooks/refresh?realmId=${company.realmId}`);
    expect(res.status).toBe(200);
    const body = RefreshResponse.parse(res.body);
    expect(body.result).toBe('refreshed');
    expect(body.last_refresh_at).not.toBeNull();
    const after = await env.db
      .selectFrom('qbo_tokens')
      .selectAll()
      .where('realm_id', '=', company.realmId)
      .executeTakeFirstOrThrow();
    expect(after.refresh_token_ciphertext).not.toBe(before.refresh_token_ciphertext);
    expect(Number(after.version)).toBeGreaterThan(Number(before.version));

    // Once Intuit has revoked the grant, refresh reports that the company must reconnect.
    await control(env.sandbox, 'POST', '/tokens/revoke', { realmId: company.realmId });
    const dead = await env.svc.admin('POST', `/api/quickbooks/refresh?realmId=${company.realmId}`);
    expect(dead.status).toBe(409);
    expect(dead.body.error.code).toBe('needs_reauth');
    const status = await env.svc.admin('GET', `/api/quickbooks/status?realmId=${company.realmId}`);
    expect(status.body).toMatchObject({
      connected: false,
      needs_reauth: true,
      status: 'needs_reauth',
    });
    expect(status.body.last_refresh.status).toBe('invalid_grant');
  });

  it("after a reconnect /status shows the new grant's refresh state, not the old grant's invalid_grant", async () => {
    const company = addCompany(env.sandbox, 'Reconnected Co');
    await connectRealm(env.svc, company.realmId);
    await control(env.sandbox, 'POST', '/tokens/revoke', { realmId: company.realmId });
    const dead = await env.svc.admin('POST', `/api/quickbooks/refresh?realmId=${company.realmId}`);
    expect(dead.body.error.code).toBe('needs_reauth');

    await connectRealm(env.svc, company.realmId);
    const status = await env.svc.admin('GET', `/api/quickbooks/status?realmId=${company.realmId}`);
    expect(status.body).toMatchObject({
      connected: true,
      needs_reauth: false,
      status: 'connected',
      last_refresh: { at: null, status: null, error: null },
    });
    const refreshed = await env.svc.admin(
      'POST',
      `/api/quickbooks/refresh?realmId=${company.realmId}`,
    );
    expect(refreshed.status).toBe(200);
    const after = await env.svc.admin('GET', `/api/quickbooks/status?realmId=${company.realmId}`);
    expect(after.body.last_refresh).toMatchObject({ status: 'success', error: null });
  });

  it('GET /test-connection reads CompanyInfo and reports the latency; a QBO outage is reported, not thrown', async () => {
    const company = addCompany(env.sandbox, 'Probe Corp');
    await connectRealm(env.svc, company.realmId);
    const ok = await env.svc.admin(
      'GET',
      `/api/quickbooks/test-connection?realmId=${company.realmId}`,
    );
    expect(ok.status).toBe(200);
    const body = TestConnectionResponse.parse(ok.body);
    expect(body).toMatchObject({ ok: true, company_name: 'Probe Corp' });
    expect(body.latency_ms).toBeGreaterThanOrEqual(0);

    await control(env.sandbox, 'POST', '/faults', {
      kind: 'latency',
      latencyMs: 120,
      surface: 'accounting',
      realmId: company.realmId,
      count: 1,
    });
    const slow = TestConnectionResponse.parse(
      (await env.svc.admin('GET', `/api/quickbooks/test-connection?realmId=${company.realmId}`))
        .body,
    );
    expect(slow.ok).toBe(true);
    expect(slow.latency_ms).toBeGreaterThanOrEqual(100);

    const fault = await control(env.sandbox, 'POST', '/faults', {
      kind: 'outage',
      surface: 'accounting',
      realmId: company.realmId,
    });
    try {
      const down = await env.svc.admin(
        'GET',
        `/api/quickbooks/test-connection?realmId=${company.realmId}`,
      );
      expect(down.status).toBe(200);
      expect(down.body.ok).toBe(false);
      expect(down.body.error.code).toBe('qbo_unavailable');
    } finally {
      await control(env.sandbox, 'DELETE', `/faults/${fault.body.id}`);
    }
  });

  it('no response or log line ever contains a token, code or secret', () => {
    expect(leaks(env.svc)).toEqual([]);
  });
});
