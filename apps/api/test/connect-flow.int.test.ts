// The OAuth connect flow over HTTP, as a browser walks it, against a real qbo-sandbox and a
// real database: success, refusal, and every way a callback can be forged or replayed.
import { expect, it } from 'vitest';
import { ConnectResponse, StatusResponse } from '@qbo-sync/contract';
import {
  Browser,
  addCompany,
  connectFlow,
  connectRealm,
  consent,
  leaks,
  login,
  forEachService,
} from './service-harness.ts';

forEachService((env) => {
  const storedFor = async (realmId: string) => ({
    connections: await env.db
      .selectFrom('qbo_connections')
      .selectAll()
      .where('realm_id', '=', realmId)
      .execute(),
    tokens: await env.db
      .selectFrom('qbo_tokens')
      .selectAll()
      .where('realm_id', '=', realmId)
      .execute(),
  });

  it('a logged-in browser connects a company and /status then shows it connected', async () => {
    const company = addCompany(env.sandbox, 'Acme Landscaping');
    const browser = await login(env.svc);
    expect(browser.cookies.has('qbo_admin_session')).toBe(true);

    const { location } = await connectFlow(env.svc, browser, company.realmId);
    const landed = new URL(location, env.svc.url);
    expect(landed.pathname).toBe('/admin');
    expect(landed.searchParams.get('qbo_connected')).toBe('true');

    // The landing page answers something useful.
    const page = await env.svc.fetch(location, { browser });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('qbo-sync admin');

    const res = await env.svc.fetch(`/api/quickbooks/status?realmId=${company.realmId}`, {
      browser,
    });
    expect(res.status).toBe(200);
    const status = StatusResponse.parse(await res.json());
    expect(status).toMatchObject({
      connected: true,
      realm_id: company.realmId,
      company_name: 'Acme Landscaping',
      environment: 'sandbox',
      status: 'connected',
      needs_reauth: false,
    });
    const now = Date.now();
    const access = Date.parse(status.tokens!.access_token_expires_at);
    expect(access).toBeGreaterThan(now + 50 * 60_000);
    expect(access).toBeLessThanOrEqual(now + 61 * 60_000);
    expect(Date.parse(status.tokens!.refresh_token_expires_at)).toBeGreaterThan(
      now + 99 * 86_400_000,
    );
    expect(Date.parse(status.tokens!.refresh_token_hard_expires_at!)).toBeGreaterThan(
      now + 4 * 365 * 86_400_000,
    );
    expect(status.connections.map((c) => c.realm_id)).toContain(company.realmId);

    const stored = await storedFor(company.realmId);
    expect(stored.connections).toHaveLength(1);
    expect(stored.tokens).toHaveLength(1);
    // Tokens are stored encrypted, never as issued.
    const issued = [...env.sandbox.state.refreshTokens.values()].filter(
      (r) => r.realmId === company.realmId,
    );
    expect(issued.length).toBeGreaterThan(0);
    for (const r of issued) expect(JSON.stringify(stored.tokens)).not.toContain(r.token);
  });

  it('clicking Cancel on the consent page lands on /admin?qbo_error=access_denied and stores nothing', async () => {
    const company = addCompany(env.sandbox);
    const browser = await login(env.svc);
    const { location } = await connectFlow(env.svc, browser, company.realmId, 'cancel');
    expect(new URL(location, env.svc.url).searchParams.get('qbo_error')).toBe('access_denied');
    const stored = await storedFor(company.realmId);
    expect(stored.connections).toHaveLength(0);
    expect(stored.tokens).toHaveLength(0);
  });

  it('a forged state is refused and nothing is stored', async () => {
    const company = addCompany(env.sandbox);
    const browser = await login(env.svc);
    const res = await env.svc.fetch('/api/quickbooks/connect', { browser });
    const { auth_url } = ConnectResponse.parse(await res.json());
    const c = await consent(auth_url, 'connect', company.realmId);
    const forged = new URL(c.callbackUrl);
    // Same shape, tampered expiry: the signature no longer matches.
    const parts = c.state.split('.');
    parts[2] = String(Number(parts[2]) + 3_600_000);
    forged.searchParams.set('state', parts.join('.'));
    const cb = await env.svc.fetch(forged.toString(), { browser });
    expect(cb.status).toBe(302);
    expect(cb.headers.get('location')).toBe('/admin?qbo_error=state_forged');

    // A state that was never issued at all.
    forged.searchParams.set('state', 'attacker-chosen-state');
    const cb2 = await env.svc.fetch(forged.toString(), { browser });
    expect(cb2.headers.get('location')).toBe('/admin?qbo_error=state_forged');

    // No state.
    forged.searchParams.delete('state');
    const cb3 = await env.svc.fetch(forged.toString(), { browser });
    expect(cb3.headers.get('location')).toBe('/admin?qbo_error=state_missing');

    const stored = await storedFor(company.realmId);
    expect(stored.connections).toHaveLength(0);
    expect(stored.tokens).toHaveLength(0);
  });

  it('a replayed callback is refused and does not create a second grant', async () => {
    const company = addCompany(env.sandbox);
    const browser = await login(env.svc);
    const first = await connectFlow(env.svc, browser, company.realmId);
    expect(first.location).toContain('qbo_connected=true');
    const tokensBefore = await storedFor(company.realmId);

    const replay = await env.svc.fetch(first.consent.callbackUrl, { browser });
    expect(replay.headers.get('location')).toBe('/admin?qbo_error=state_replayed');
    const tokensAfter = await storedFor(company.realmId);
    expect(tokensAfter.connections).toHaveLength(1);
    expect(tokensAfter.tokens[0]!.version).toBe(tokensBefore.tokens[0]!.version);
  });

  it('a state issued to another admin session is refused, and stays usable by its owner', async () => {
    const company = addCompany(env.sandbox);
    const alice = await login(env.svc);
    const res = await env.svc.fetch('/api/quickbooks/connect', { browser: alice });
    const { auth_url } = ConnectResponse.parse(await res.json());
    const c = await consent(auth_url, 'connect', company.realmId);

    // Mallory (logged in herself) is tricked into following Alice's callback URL, or
    // a browser with no session at all follows it.
    const mallory = await login(env.svc);
    const cb = await env.svc.fetch(c.callbackUrl, { browser: mallory });
    expect(cb.headers.get('location')).toBe('/admin?qbo_error=state_wrong_session');
    const anonymous = await env.svc.fetch(c.callbackUrl, { browser: new Browser() });
    expect(anonymous.headers.get('location')).toBe('/admin?qbo_error=state_wrong_session');
    expect((await storedFor(company.realmId)).connections).toHaveLength(0);

    const own = await env.svc.fetch(c.callbackUrl, { browser: alice });
    expect(own.headers.get('location')).toContain('qbo_connected=true');
  });

  it('a state older than 10 minutes is refused as expired', async () => {
    const company = addCompany(env.sandbox);
    const browser = await login(env.svc);
    const res = await env.svc.fetch('/api/quickbooks/connect', { browser });
    const { auth_url } = ConnectResponse.parse(await res.json());
    const c = await consent(auth_url, 'connect', company.realmId);
    env.svc.clock.advance(11 * 60_000);
    try {
      const cb = await env.svc.fetch(c.callbackUrl, { browser });
      expect(cb.headers.get('location')).toBe('/admin?qbo_error=state_expired');
    } finally {
      env.svc.clock.advance(-11 * 60_000);
    }
    expect((await storedFor(company.realmId)).connections).toHaveLength(0);
  });

  it('a script using the bearer token binds the flow to the browser holding its nonce cookie', async () => {
    const company = addCompany(env.sandbox);
    const browser = new Browser();
    const res = await env.svc.fetch('/api/quickbooks/connect', {
      headers: { authorization: `Bearer ${env.svc.adminToken}` },
      browser,
    });
    expect(res.status).toBe(200);
    expect(browser.cookies.has('qbo_oauth_binding')).toBe(true);
    const { auth_url } = ConnectResponse.parse(await res.json());
    const c = await consent(auth_url, 'connect', company.realmId);
    const elsewhere = await env.svc.fetch(c.callbackUrl, { browser: new Browser() });
    expect(elsewhere.headers.get('location')).toBe('/admin?qbo_error=state_wrong_session');
    const cb = await env.svc.fetch(c.callbackUrl, { browser });
    expect(cb.headers.get('location')).toContain('qbo_connected=true');
  });

  it('an invalid or used-up authorization code ends on /admin with token_exchange_failed', async () => {
    const company = addCompany(env.sandbox);
    const browser = await login(env.svc);
    const res = await env.svc.fetch('/api/quickbooks/connect', { browser });
    const { auth_url } = ConnectResponse.parse(await res.json());
    const c = await consent(auth_url, 'connect', company.realmId);
    const bad = new URL(c.callbackUrl);
    bad.searchParams.set('code', 'AB11not-a-real-code');
    const cb = await env.svc.fetch(bad.toString(), { browser });
    expect(cb.headers.get('location')).toBe('/admin?qbo_error=token_exchange_failed');
    expect((await storedFor(company.realmId)).connections).toHaveLength(0);
  });

  it('a callback whose realmId was changed to another connected company, or to none at all, is refused and stores nothing', async () => {
    const a = addCompany(env.sandbox, 'Consenting Co');
    const b = addCompany(env.sandbox, 'Victim Co');
    const browser = await login(env.svc);
    expect((await connectFlow(env.svc, browser, b.realmId)).location).toContain(
      'qbo_connected=true',
    );
    const bBefore = await storedFor(b.realmId);
    const grantsOf = (realmId: string) =>
      [...env.sandbox.state.refreshTokens.values()].filter((r) => r.realmId === realmId);

    const nowhere = `9130${Date.now()}`;
    for (const target of [b.realmId, nowhere]) {
      const res = await env.svc.fetch('/api/quickbooks/connect', { browser });
      const { auth_url } = ConnectResponse.parse(await res.json());
      const c = await consent(auth_url, 'connect', a.realmId);
      const tampered = new URL(c.callbackUrl);
      expect(tampered.searchParams.get('realmId')).toBe(a.realmId);
      tampered.searchParams.set('realmId', target);
      const cb = await env.svc.fetch(tampered.toString(), { browser });
      expect(cb.headers.get('location'), target).toBe('/admin?qbo_error=realm_not_verified');
    }

    // B keeps its row, its tokens (same version, same ciphertext) and its working grant.
    expect(await storedFor(b.realmId)).toEqual(bBefore);
    expect(grantsOf(b.realmId).every((r) => !r.revoked)).toBe(true);
    const probe = await env.svc.fetch(`/api/quickbooks/test-connection?realmId=${b.realmId}`, {
      browser,
    });
    expect(await probe.json()).toMatchObject({ ok: true, company_name: 'Victim Co' });
    // Neither A (never proved) nor the realm that does not exist became a connection.
    for (const r of [a.realmId, nowhere]) expect((await storedFor(r)).connections).toEqual([]);
  });

  it('reconnecting a company revokes the grant it replaces and keeps the new one working', async () => {
    const company = addCompany(env.sandbox, 'Twice Connected');
    const browser = await connectRealm(env.svc, company.realmId);
    const firstGrant = [...env.sandbox.state.refreshTokens.values()].find(
      (r) => r.realmId === company.realmId,
    )!;
    expect(firstGrant.revoked).toBe(false);

    const again = await connectFlow(env.svc, browser, company.realmId);
    expect(again.location).toContain('qbo_connected=true');
    const grants = [...env.sandbox.state.refreshTokens.values()].filter(
      (r) => r.realmId === company.realmId,
    );
    expect(grants.filter((r) => r.grantId === firstGrant.grantId).every((r) => r.revoked)).toBe(
      true,
    );
    expect(grants.some((r) => r.grantId !== firstGrant.grantId && !r.revoked)).toBe(true);
    const probe = await env.svc.fetch(
      `/api/quickbooks/test-connection?realmId=${company.realmId}`,
      { browser },
    );
    expect(await probe.json()).toMatchObject({ ok: true });
  });

  it('no response or log line ever contains a token, code or secret', () => {
    expect(env.svc.bodies.length).toBeGreaterThan(10);
    expect(leaks(env.svc)).toEqual([]);
  });
});
