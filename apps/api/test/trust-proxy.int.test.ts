// Behind a TLS-terminating reverse proxy (TRUST_PROXY names it): the proxy talks plain http
// to the service and says what the browser used in X-Forwarded-Proto/-For/-Host.
import { expect, it } from 'vitest';
import { forEachService, login } from './service-harness.ts';

forEachService(
  (env) => {
    const proxied = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' };

    it('a login through the trusted proxy gets a Secure session cookie and logs the client address', async () => {
      const res = await env.svc.fetch('/api/admin/session', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...proxied },
        body: JSON.stringify({ token: env.svc.adminToken }),
      });
      expect(res.status).toBe(200);
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith('qbo_admin_session='));
      expect(cookie).toMatch(/; Secure$/);
      const line = env.svc.logs
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'request' && l.path === '/api/admin/session');
      expect(line).toMatchObject({ ip: '203.0.113.7', status: 200 });
    });

    it('a request the proxy did not mark as https gets no Secure cookie', async () => {
      const browser = await login(env.svc);
      expect(browser.cookies.has('qbo_admin_session')).toBe(true);
      const res = await env.svc.fetch('/api/admin/session', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'http' },
        body: JSON.stringify({ token: env.svc.adminToken }),
      });
      expect(res.headers.getSetCookie().join('\n')).not.toContain('Secure');
    });

    it('a cookie-authenticated POST from the public origin the proxy forwards is accepted', async () => {
      const browser = await login(env.svc);
      const refused = await env.svc.fetch('/api/quickbooks/refresh', {
        method: 'POST',
        headers: {
          ...proxied,
          'x-forwarded-host': 'qbo.example.com',
          origin: 'https://evil.example',
        },
        browser,
      });
      expect(refused.status).toBe(403);
      const sameSite = await env.svc.fetch('/api/quickbooks/refresh', {
        method: 'POST',
        headers: {
          ...proxied,
          'x-forwarded-host': 'qbo.example.com',
          origin: 'https://qbo.example.com',
        },
        browser,
      });
      // Past the origin check: no company is connected in this service, so 409, not 403.
      expect(sameSite.status).not.toBe(403);
    });
  },
  // The test service listens on 127.0.0.1: the proxy is the loopback peer.
  { trustProxy: ['loopback'] },
);
