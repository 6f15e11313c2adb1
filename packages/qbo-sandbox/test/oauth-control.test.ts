import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../src/index.ts';
import { ACCOUNTING, INVALID_GRANT, setup as harnessSetup } from './oauth-harness.ts';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
});
afterAll(async () => {
  await sandbox?.close();
});
const setup = (name: string, s: Sandbox = sandbox) => harnessSetup(s, name);

describe('control API /_sandbox/tokens', () => {
  it('mints a token pair that works like one from the token endpoint', async () => {
    const t = setup('Mint App');
    const res = await t.control('', {
      clientId: t.app.clientId,
      realmId: t.company.realmId,
      scopes: [ACCOUNTING, 'openid'],
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
    expect(res.json.id_token).toBeTruthy();
    expect((await t.userinfo(res.json.access_token)).status).toBe(200);
    expect((await t.refresh(res.json.refresh_token)).status).toBe(200);
  });

  it('expires and revokes tokens by access token, refresh token or realm', async () => {
    const t = setup('Expire App');
    const mint = async () =>
      (
        await t.control('', {
          clientId: t.app.clientId,
          realmId: t.company.realmId,
          scopes: ['openid', ACCOUNTING],
        })
      ).json;
    const a = await mint();
    expect((await t.control('/expire', { accessToken: a.access_token })).json).toEqual({
      expired: { accessTokens: 1, refreshTokens: 0 },
    });
    expect((await t.userinfo(a.access_token)).status).toBe(401);
    expect((await t.refresh(a.refresh_token)).status).toBe(200);

    const b = await mint();
    await t.control('/expire', { refreshToken: b.refresh_token });
    expect((await t.refresh(b.refresh_token)).json).toEqual(INVALID_GRANT);

    const c = await mint();
    await t.control('/revoke', { accessToken: c.access_token });
    expect((await t.userinfo(c.access_token)).status).toBe(401);
    expect((await t.refresh(c.refresh_token)).status).toBe(200);

    const d = await mint();
    const all = await t.control('/revoke', { realmId: t.company.realmId });
    expect(all.json.revoked.refreshTokens).toBeGreaterThanOrEqual(4);
    expect((await t.refresh(d.refresh_token)).json).toEqual(INVALID_GRANT);
  });

  it('rejects bad input with a clear message', async () => {
    const t = setup('Control Input App');
    const cases: [string, unknown, number, RegExp][] = [
      ['', 'not json', 400, /JSON/],
      ['', { realmId: t.company.realmId }, 400, /clientId/],
      ['', { clientId: 'nope', realmId: t.company.realmId }, 400, /No app/],
      ['', { clientId: t.app.clientId, realmId: '1' }, 400, /No company/],
      ['', { clientId: t.app.clientId, realmId: t.company.realmId, scopes: ['x'] }, 400, /scope/],
      ['/expire', {}, 400, /exactly one/],
      ['/expire', { accessToken: 'a', realmId: t.company.realmId }, 400, /exactly one/],
      ['/revoke', { accessToken: 'unknown' }, 404, /No such access token/],
      ['/revoke', { realmId: '42' }, 404, /No company/],
    ];
    for (const [path, body, status, message] of cases) {
      const res = await t.control(path, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.json.error_description, JSON.stringify(body)).toMatch(message);
    }
  });
});
