// The HTTP contract at the edges: authentication on every admin route, the admin session,
// actionable 4xx answers for bad input, and one error shape everywhere.
import { beforeAll, expect, it } from 'vitest';
import { ErrorResponse, StatusResponse } from '@qbo-sync/contract';
import {
  Browser,
  addCompany,
  connectRealm,
  leaks,
  login,
  forEachService,
} from './service-harness.ts';

const ADMIN_ROUTES = [
  ['GET', '/api/quickbooks/connect'],
  ['POST', '/api/quickbooks/disconnect'],
  ['GET', '/api/quickbooks/status'],
  ['POST', '/api/quickbooks/refresh'],
  ['GET', '/api/quickbooks/test-connection'],
  ['GET', '/api/quickbooks/request-log'],
  ['GET', '/api/quickbooks/metrics'],
] as const;

forEachService((env) => {
  let realmId: string;
  beforeAll(async () => {
    realmId = addCompany(env.sandbox, 'Contract Co').realmId;
    await connectRealm(env.svc, realmId);
  });

  const json = async (res: Response) => {
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  };

  it('every admin route answers 401 without credentials or with a wrong token', async () => {
    for (const [method, path] of ADMIN_ROUTES) {
      const variants: Record<string, string>[] = [
        {},
        { authorization: 'Bearer not-the-token' },
        { authorization: 'Basic abc' },
      ];
      for (const headers of variants) {
        const res = await env.svc.fetch(path, { method, headers });
        expect(res.status, `${method} ${path}`).toBe(401);
        const body = ErrorResponse.parse(await json(res));
        expect(body.error.code).toBe('unauthorized');
        expect(body.error.message).toMatch(/ADMIN_API_TOKEN/);
      }
    }
    // /callback is not admin-authenticated: it answers with a redirect, never a 401.
    const cb = await env.svc.fetch('/api/quickbooks/callback?state=x&code=y&realmId=1');
    expect(cb.status).toBe(302);
  });

  it('a browser logs in with the admin token, uses the session cookie, and logs out', async () => {
    const wrong = await env.svc.fetch('/api/admin/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'guess' }),
    });
    expect(wrong.status).toBe(401);
    expect((await json(wrong)).error.code).toBe('invalid_admin_token');
    expect(wrong.headers.getSetCookie()).toEqual([]);

    const browser = await login(env.svc);
    const res = await env.svc.fetch('/api/admin/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: env.svc.adminToken }),
    });
    const cookie = res.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(/^qbo_admin_session=/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);

    const status = await env.svc.fetch('/api/quickbooks/status', { browser });
    expect(status.status).toBe(200);
    StatusResponse.parse(await json(status));

    // A tampered cookie is worth nothing.
    const forged = new Browser();
    forged.cookies.set(
      'qbo_admin_session',
      browser.cookies.get('qbo_admin_session')!.replace(/.$/, 'x'),
    );
    expect((await env.svc.fetch('/api/quickbooks/status', { browser: forged })).status).toBe(401);

    const out = await env.svc.fetch('/api/admin/session', { method: 'DELETE', browser });
    expect(out.status).toBe(204);
    expect(browser.cookies.has('qbo_admin_session')).toBe(false);
    expect((await env.svc.fetch('/api/quickbooks/status', { browser })).status).toBe(401);
  });

  it('a session expires after 12 hours', async () => {
    const browser = await login(env.svc);
    env.svc.clock.advance(12 * 3600_000 + 1000);
    try {
      expect((await env.svc.fetch('/api/quickbooks/status', { browser })).status).toBe(401);
    } finally {
      env.svc.clock.advance(-(12 * 3600_000 + 1000));
    }
  });

  it('a cookie-authenticated POST from another site is refused', async () => {
    const browser = await login(env.svc);
    const res = await env.svc.fetch(`/api/quickbooks/refresh?realmId=${realmId}`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
      browser,
    });
    expect(res.status).toBe(403);
    expect((await json(res)).error.code).toBe('cross_origin_request');
  });

  it('a cookie-authenticated POST with no Origin is checked against its Referer, and refused with neither', async () => {
    const browser = await login(env.svc);
    const post = (headers: Record<string, string>) =>
      env.svc.fetch(`/api/quickbooks/refresh?realmId=${realmId}`, {
        method: 'POST',
        headers,
        browser,
      });
    const bare = await post({});
    expect(bare.status).toBe(403);
    expect((await json(bare)).error).toMatchObject({
      code: 'cross_origin_request',
      message: expect.stringMatching(/Origin or Referer/),
    });
    const evil = await post({ referer: 'https://evil.example/page' });
    expect(evil.status).toBe(403);
    expect((await json(evil)).error.message).toMatch(/Referer mismatch/);
    // From the service's own pages, by Referer or by Origin, the request goes through.
    expect((await post({ referer: `${env.svc.url}/admin` })).status).toBe(200);
    expect((await post({ origin: env.svc.url })).status).toBe(200);
    // Scripts with the bearer token send neither header and need neither.
    expect((await env.svc.admin('POST', `/api/quickbooks/refresh?realmId=${realmId}`)).status).toBe(
      200,
    );
  });

  it('JSON answers, errors included, carry Cache-Control: no-store', async () => {
    const browser = await login(env.svc);
    const answers = [
      await env.svc.fetch('/api/quickbooks/status', { browser }),
      await env.svc.fetch(`/api/quickbooks/request-log?realmId=${realmId}`, { browser }),
      await env.svc.fetch('/api/quickbooks/status'),
      await env.svc.fetch('/api/quickbooks/status?realmId=bad%20realm', { browser }),
      await env.svc.fetch('/api/quickbooks/nope', { browser }),
    ];
    for (const res of answers) {
      expect(res.headers.get('content-type'), res.url).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control'), `${res.status}`).toBe('no-store');
    }
  });

  it('bad input gets a 4xx naming the field and how to fix it', async () => {
    const cases: [string, string, number, RegExp][] = [
      ['GET', '/api/quickbooks/status?realmId=not%20a%20realm', 400, /realmId/],
      ['GET', '/api/quickbooks/status?realmid=123', 400, /realmid/],
      ['GET', '/api/quickbooks/status?realmId=1&realmId=2', 400, /realmId/],
      ['GET', '/api/quickbooks/connect?foo=bar', 400, /foo/],
      ['POST', '/api/quickbooks/disconnect?realmId=%24%24', 400, /realmId/],
      ['POST', '/api/quickbooks/refresh?realmId=', 400, /realmId/],
      ['GET', '/api/quickbooks/test-connection?realmId=a/b', 400, /realmId/],
      ['GET', '/api/quickbooks/metrics?window=7d', 400, /window/],
      ['GET', '/api/quickbooks/request-log?status=teapot', 400, /status/],
      ['GET', '/api/quickbooks/request-log?limit=0', 400, /limit/],
      ['GET', '/api/quickbooks/request-log?limit=5000', 400, /limit/],
      ['GET', '/api/quickbooks/request-log?limit=ten', 400, /limit/],
      ['GET', '/api/quickbooks/request-log?from=yesterday', 400, /from.*ISO 8601/],
      ['GET', '/api/quickbooks/request-log?to=2026-13-01', 400, /to/],
      [
        'GET',
        '/api/quickbooks/request-log?from=2026-02-02T00:00:00Z&to=2026-02-01T00:00:00Z',
        400,
        /from must not be after to/,
      ],
      ['GET', '/api/quickbooks/request-log?method=G3T', 400, /method/],
      ['GET', '/api/quickbooks/request-log?cursor=garbage', 400, /cursor/],
      ['GET', '/api/quickbooks/nope', 404, /no route/],
    ];
    for (const [method, path, status, message] of cases) {
      const res = await env.svc.admin(method, path);
      expect(res.status, `${method} ${path}`).toBe(status);
      const body = ErrorResponse.parse(res.body);
      expect(body.error.message, `${method} ${path}`).toMatch(message);
    }
  });

  it('the request log answers input the database would refuse with a 400 saying why, never a 500', async () => {
    const cursor = (at: string, id: string) =>
      Buffer.from(JSON.stringify([at, id])).toString('base64url');
    const log = '/api/quickbooks/request-log';
    const refused: [string, RegExp][] = [
      [`${log}?from=0000-01-01T00:00:00Z`, /from must be between 0001-01-01/],
      [`${log}?to=0001-01-01T00:30:00%2B01:00`, /to must be between 0001-01-01/],
      [`${log}?path=/v3%00x`, /path must not contain the NUL character/],
      [`${log}?error_code=3200%00`, /error_code must not contain the NUL character/],
      [`${log}?cursor=${cursor('2026-02-01T00:00:00.000000Z', '9223372036854775808')}`, /cursor/],
      [`${log}?cursor=${cursor('2026-02-30T00:00:00.000000Z', '1')}`, /cursor/],
      [`${log}?cursor=${cursor('0000-01-01T00:00:00.000000Z', '1')}`, /cursor/],
      [`${log}?cursor=a%00b`, /cursor/],
    ];
    for (const [path, message] of refused) {
      const res = await env.svc.admin('GET', path);
      expect(res.status, path).toBe(400);
      expect(ErrorResponse.parse(res.body).error.message, path).toMatch(message);
    }
    // The edges of what is accepted are answered, not refused.
    const accepted = [
      `${log}?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59.999Z`,
      `${log}?cursor=${cursor('2026-02-28T00:00:00.000000Z', '9223372036854775807')}`,
      `${log}?path=%2Fv3%2Fcompany%2F%25_%5C&error_code=%E2%80%8B`,
    ];
    for (const path of accepted) {
      const res = await env.svc.admin('GET', path);
      expect(res.status, path).toBe(200);
    }
  });

  it('the session endpoint refuses a malformed body with a clear message', async () => {
    const post = (body: string, type = 'application/json') =>
      env.svc.fetch('/api/admin/session', {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
    const cases: [Response, number, string][] = [
      [await post('{"token":'), 400, 'invalid_json'],
      [await post('{}'), 400, 'invalid_request'],
      [await post('{"token":""}'), 400, 'invalid_request'],
      [await post('{"token":"x","extra":1}'), 400, 'invalid_request'],
      [await post('token=x', 'text/plain'), 415, 'unsupported_media_type'],
    ];
    for (const [res, status, code] of cases) {
      expect(res.status).toBe(status);
      expect((await json(res)).error.code).toBe(code);
    }
  });

  it('a malformed callback still ends on the admin page with an error code', async () => {
    const browser = await login(env.svc);
    const long = 'x'.repeat(5000);
    for (const q of [`state=${long}`, 'realmId=bad%20realm', 'code=a&code=b']) {
      const res = await env.svc.fetch(`/api/quickbooks/callback?${q}`, { browser });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/admin?qbo_error=invalid_callback');
    }
  });

  it('the /admin page is served without authentication, never echoing its query', async () => {
    const res = await env.svc.fetch('/admin?qbo_error=%3Cscript%3E');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain('qbo-sync admin');
    expect(html).not.toContain('<script>');
  });

  it('no response or log line ever contains a token, code or secret', async () => {
    // Exercise the routes that handle tokens once more, then search everything recorded.
    for (const [method, path] of ADMIN_ROUTES) {
      if (path.endsWith('/disconnect')) continue;
      await env.svc.admin(method, `${path}?realmId=${realmId}`);
    }
    expect(env.svc.bodies.length).toBeGreaterThan(30);
    expect(leaks(env.svc)).toEqual([]);
  });
});
