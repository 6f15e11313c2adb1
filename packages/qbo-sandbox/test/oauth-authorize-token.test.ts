import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../src/index.ts';
import { clickButton, openConsentPage } from './oauth-browser.ts';
import {
  ACCOUNTING,
  HOUR,
  http,
  INVALID_GRANT,
  REDIRECT,
  setup as harnessSetup,
} from './oauth-harness.ts';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
});
afterAll(async () => {
  await sandbox?.close();
});
const setup = (name: string, s: Sandbox = sandbox) => harnessSetup(s, name);

describe('authorize: consent page', () => {
  it('shows the app, the scopes and every company, and carries the request in hidden fields', async () => {
    const t = setup('Consent Shop');
    const other = sandbox.addCompany({ companyName: 'Second & <Co>' });
    const state = 'a b&c<d>"e';
    const page = await openConsentPage(
      t.authorizeUrl({ scope: `${ACCOUNTING} openid email`, state }),
    );
    expect(page.status).toBe(200);
    expect(page.html).toContain('Consent Shop wants to connect');
    expect(page.html).toContain('QuickBooks Online accounting data');
    expect(page.html).toContain('Second &amp; &lt;Co&gt;');
    expect(page.companies.map((c) => c.realmId)).toEqual(
      expect.arrayContaining([t.company.realmId, other.realmId]),
    );
    expect(Object.fromEntries(page.fields.filter(([k]) => k !== 'realmId'))).toEqual({
      client_id: t.app.clientId,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: `${ACCOUNTING} openid email`,
      state,
    });
    expect(page.buttons.map((b) => b.text)).toEqual(['Connect', 'Cancel']);

    const res = await clickButton(page, 'Connect', { realmId: other.realmId });
    const loc = new URL(res.headers.get('location')!);
    expect(res.status).toBe(302);
    expect([...loc.searchParams.keys()]).toEqual(['code', 'state', 'realmId']);
    expect(loc.searchParams.get('state')).toBe(state);
    expect(loc.searchParams.get('realmId')).toBe(other.realmId);
  });

  it('a realmId hint preselects that company', async () => {
    const t = setup('Hint App');
    const page = await openConsentPage(t.authorizeUrl({ realmId: t.company.realmId }));
    expect(page.companies.filter((c) => c.checked).map((c) => c.realmId)).toEqual([
      t.company.realmId,
    ]);
  });

  it('an unknown client or an unregistered redirect_uri gets an error page, never a redirect', async () => {
    const t = setup('Strict App');
    const cases: Record<string, string>[] = [
      { client_id: 'nope' },
      { client_id: '' },
      { redirect_uri: 'https://evil.example.com/cb' },
      { redirect_uri: '' },
    ];
    for (const params of cases) {
      const res = await http(t.authorizeUrl(params));
      expect(res.status, JSON.stringify(params)).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.text).not.toContain('<form');
    }
  });

  it('a bad response_type or scope goes back to the app as an OAuth error with the state', async () => {
    const t = setup('Scope App');
    const cases: [Record<string, string>, string][] = [
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ scope: 'com.intuit.quickbooks.unknown' }, 'invalid_scope'],
      [{ scope: '' }, 'invalid_scope'],
    ];
    for (const [params, error] of cases) {
      const res = await http(t.authorizeUrl(params));
      expect(res.status).toBe(302);
      const loc = new URL(res.headers.get('location')!);
      expect(loc.origin + loc.pathname).toBe(REDIRECT);
      expect(loc.searchParams.get('error')).toBe(error);
      expect(loc.searchParams.get('state')).toBe('xyz');
    }
  });

  it('Connect without a company chosen redisplays the page with a message', async () => {
    const t = setup('Picky App');
    const page = await openConsentPage(t.authorizeUrl({}));
    const res = await fetch(page.action, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams([
        ...page.fields.filter(([k]) => k !== 'realmId'),
        ['action', 'connect'],
      ]).toString(),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Choose a company to connect.');
  });

  it('a sandbox without companies says so and disables Connect', async () => {
    const empty = await startSandbox({ port: 0 });
    try {
      const app = empty.registerApp({ redirectUris: [REDIRECT] });
      const url = `${empty.url}/connect/oauth2?${new URLSearchParams({
        client_id: app.clientId,
        response_type: 'code',
        scope: ACCOUNTING,
        redirect_uri: REDIRECT,
        state: 's',
      }).toString()}`;
      const page = await openConsentPage(url);
      expect(page.html).toContain('no company yet');
      expect(page.buttons.find((b) => b.text === 'Connect')?.disabled).toBe(true);
    } finally {
      await empty.close();
    }
  });
});

describe('token endpoint', () => {
  it('accepts client_secret_post as well as HTTP Basic, with no-store headers and intuit_tid', async () => {
    const t = setup('Post Auth App');
    const res = await t.token(
      {
        grant_type: 'authorization_code',
        code: await t.code(),
        redirect_uri: REDIRECT,
        client_id: t.app.clientId,
        client_secret: t.app.clientSecret,
      },
      {},
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json;charset=UTF-8');
    expect(res.headers.get('cache-control')).toBe('no-cache, no-store');
    expect(res.headers.get('intuit_tid')).toMatch(/^1-/);
    expect(res.json).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
    expect(res.json.id_token).toBeUndefined();
    expect(res.json.x_refresh_token_hard_expires_in).toBeUndefined();
  });

  it('answers each malformed request with the matching OAuth error', async () => {
    const t = setup('Bad Input App');
    const good = await t.code();
    const cases: [Record<string, string>, Record<string, string> | undefined, number, object][] = [
      [
        { grant_type: 'authorization_code', code: good, redirect_uri: REDIRECT },
        {},
        401,
        { error: 'invalid_client' },
      ],
      [
        { grant_type: 'authorization_code', code: good, redirect_uri: REDIRECT },
        { authorization: 'Basic !!!' },
        401,
        { error: 'invalid_client' },
      ],
      [{ code: good, redirect_uri: REDIRECT }, undefined, 400, { error: 'invalid_request' }],
      [
        { grant_type: 'password', username: 'u' },
        undefined,
        400,
        { error: 'unsupported_grant_type' },
      ],
      [
        { grant_type: 'authorization_code', redirect_uri: REDIRECT },
        undefined,
        400,
        { error: 'invalid_request' },
      ],
      [
        { grant_type: 'authorization_code', code: good },
        undefined,
        400,
        { error: 'invalid_request' },
      ],
      [
        { grant_type: 'authorization_code', code: 'AB11nope', redirect_uri: REDIRECT },
        undefined,
        400,
        INVALID_GRANT,
      ],
      [
        {
          grant_type: 'authorization_code',
          code: good,
          redirect_uri: 'https://app.example.com/other',
        },
        undefined,
        400,
        INVALID_GRANT,
      ],
      [{ grant_type: 'refresh_token' }, undefined, 400, { error: 'invalid_request' }],
      [{ grant_type: 'refresh_token', refresh_token: 'RT1-nope' }, undefined, 400, INVALID_GRANT],
    ];
    for (const [form, headers, status, body] of cases) {
      const res = await t.token(form, headers);
      expect(res.status, JSON.stringify(form)).toBe(status);
      expect(res.json, JSON.stringify(form)).toEqual(expect.objectContaining(body));
    }
    const repeated = await http(`${sandbox.url}/oauth2/v1/tokens/bearer`, {
      method: 'POST',
      headers: { authorization: t.basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=a&refresh_token=b`,
    });
    expect(repeated.status).toBe(400);
    expect(repeated.json.error).toBe('invalid_request');
  });

  it('an authorization code expires after authCodeTtlSec', async () => {
    const t = setup('Slow App');
    const code = await t.code();
    sandbox.state.clock.advance((sandbox.config.authCodeTtlSec + 1) * 1000);
    const res = await t.token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(res.status).toBe(400);
    expect(res.json).toEqual(INVALID_GRANT);
  });

  it('a code or refresh token of another app is invalid_grant', async () => {
    const a = setup('App A');
    const b = setup('App B');
    const tokens = await a.connect();
    expect((await b.refresh(tokens.refresh_token as string)).json).toEqual(INVALID_GRANT);
    const code = await a.code();
    const res = await b.token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(res.json).toEqual(INVALID_GRANT);
  });

  it('x-include-refresh-token-hard-expires-in adds the seconds left before the hard expiry', async () => {
    const t = setup('Hard Header App');
    const body = await t.connect(ACCOUNTING, { 'x-include-refresh-token-hard-expires-in': 'true' });
    expect(Object.keys(body)).toEqual([
      'token_type',
      'expires_in',
      'refresh_token',
      'x_refresh_token_expires_in',
      'x_refresh_token_hard_expires_in',
      'access_token',
    ]);
    expect(body.x_refresh_token_hard_expires_in).toBe(sandbox.config.refreshTokenHardTtlSec);
  });
});

describe('refresh-token rotation policy', () => {
  it("'daily' returns the same refresh token until it is a day old, then rotates with a grace", async () => {
    const s = await startSandbox({ port: 0, config: { oauth: { refreshTokenRotation: 'daily' } } });
    try {
      const t = setup('Daily App', s);
      const first = await t.connect();
      const rt1 = first.refresh_token as string;
      s.state.clock.advance(2 * HOUR);
      const again = await t.refresh(rt1);
      expect(again.json.refresh_token).toBe(rt1);
      expect(again.json.access_token).not.toBe(first.access_token);
      expect(again.json.x_refresh_token_expires_in).toBe(100 * 86400);

      s.state.clock.advance(23 * HOUR);
      const rotated = await t.refresh(rt1);
      const rt2 = rotated.json.refresh_token as string;
      expect(rt2).not.toBe(rt1);
      s.state.clock.advance(23 * HOUR);
      expect((await t.refresh(rt1)).status).toBe(200);
      s.state.clock.advance(2 * HOUR);
      expect((await t.refresh(rt1)).json).toEqual(INVALID_GRANT);
      expect((await t.refresh(rt2)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});
