// Guessing the admin token through the login form: after 10 wrong tokens from one address
// within 15 minutes, that address waits (429 with Retry-After), even with the right token;
// scripts with the bearer token are never slowed.
import { expect, it } from 'vitest';
import { forEachService } from './service-harness.ts';

forEachService((env) => {
  const login = (token: string) =>
    env.svc.fetch('/api/admin/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });

  it('ten wrong tokens, then the address waits; bearer requests keep working', async () => {
    // A right token in between resets the count: a typo now and then never locks anyone out.
    for (let i = 0; i < 9; i++)
      expect((await login(`wrong-${i}`.padEnd(32, 'x'))).status).toBe(401);
    expect((await login(env.svc.adminToken)).status).toBe(200);
    for (let i = 0; i < 10; i++)
      expect((await login(`wrong-${i}`.padEnd(32, 'y'))).status).toBe(401);

    const refused = await login(env.svc.adminToken);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(800);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('too_many_attempts');
    expect(body.error.message).toMatch(/try again in 15 minute/);

    expect((await env.svc.admin('GET', '/api/quickbooks/status')).status).toBe(200);
  });
});
