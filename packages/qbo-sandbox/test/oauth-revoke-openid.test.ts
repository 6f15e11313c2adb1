import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../src/index.ts';
import {
  ACCOUNTING,
  HOUR,
  http,
  INVALID_GRANT,
  recording,
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

describe('revoke endpoint', () => {
  it('revokes a refresh token sent form-encoded, and with it the grant’s access tokens', async () => {
    const t = setup('Form Revoke App');
    const tokens = await t.connect(`${ACCOUNTING} openid`);
    expect((await t.userinfo(tokens.access_token as string)).status).toBe(200);
    const res = await t.revoke(
      new URLSearchParams({ token: tokens.refresh_token as string }).toString(),
      'application/x-www-form-urlencoded',
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('intuit_tid')).toMatch(/^1-/);
    expect((await t.userinfo(tokens.access_token as string)).status).toBe(401);
    expect((await t.refresh(tokens.refresh_token as string)).json).toEqual(INVALID_GRANT);
  });

  it('a token that is unknown or already revoked answers 400 with an empty body', async () => {
    const t = setup('Twice Revoke App');
    const tokens = await t.connect();
    const body = JSON.stringify({ token: tokens.refresh_token });
    expect((await t.revoke(body, 'application/json')).status).toBe(200);
    const again = await t.revoke(body, 'application/json');
    expect(again.status).toBe(400);
    expect(again.text).toBe('');
    expect((await t.revoke('{"token":"nope"}', 'application/json')).status).toBe(400);
  });

  it('rejects bad credentials and malformed bodies with OAuth errors', async () => {
    const t = setup('Revoke Input App');
    const tokens = await t.connect();
    const token = JSON.stringify({ token: tokens.access_token });
    const wrong = `Basic ${Buffer.from(`${t.app.clientId}:bad`).toString('base64')}`;
    expect((await t.revoke(token, 'application/json', wrong)).json).toEqual({
      error: 'invalid_client',
    });
    for (const [body, type] of [
      ['{not json', 'application/json'],
      ['[]', 'application/json'],
      ['{}', 'application/json'],
      ['', 'application/x-www-form-urlencoded'],
    ] as const) {
      const res = await t.revoke(body, type);
      expect(res.status, body).toBe(400);
      expect(res.json.error, body).toBe('invalid_request');
    }
  });

  it("revokeAccessToken 'token' revokes only the access token and keeps the grant", async () => {
    const s = await startSandbox({ port: 0, config: { oauth: { revokeAccessToken: 'token' } } });
    try {
      const t = setup('Token Only App', s);
      const tokens = await t.connect(`${ACCOUNTING} openid`);
      const res = await t.revoke(
        JSON.stringify({ token: tokens.access_token }),
        'application/json',
      );
      expect(res.status).toBe(200);
      expect((await t.userinfo(tokens.access_token as string)).status).toBe(401);
      expect((await t.refresh(tokens.refresh_token as string)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('OpenID Connect', () => {
  it('serves the discovery document at both paths, pointing at the sandbox with Intuit’s issuer', async () => {
    const expected = recording('intuit-dotnet-sdk/oauth/discovery.json');
    for (const path of [
      '/.well-known/openid_sandbox_configuration',
      '/.well-known/openid_configuration',
      '/.well-known/openid_sandbox_configuration/',
    ]) {
      const res = await http(`${sandbox.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(Object.keys(res.json)).toEqual(Object.keys(expected));
      expect(res.json.issuer).toBe('https://oauth.platform.intuit.com/op/v1');
      for (const key of Object.keys(expected).filter(
        (k) => k.endsWith('_endpoint') || k === 'jwks_uri',
      ))
        expect(res.json[key], key).toMatch(new RegExp(`^${sandbox.url}/`));
      expect(res.json.token_endpoint).toBe(`${sandbox.url}/oauth2/v1/tokens/bearer`);
      expect(res.json.id_token_signing_alg_values_supported).toEqual(['RS256']);
    }
  });

  it('signs an RS256 id_token that verifies against the JWKS with the documented claims', async () => {
    const t = setup('Id Token App');
    const tokens = await t.connect(`${ACCOUNTING} openid`);
    const jwks = await http(`${sandbox.url}/op/v1/jwks`);
    expect(Object.keys(jwks.json.keys[0])).toEqual(
      Object.keys((recording('intuit-oauth-jsclient/mocks/jwkResponse.json').keys as object[])[0]!),
    );
    const { payload, protectedHeader } = await jwtVerify(
      tokens.id_token as string,
      createRemoteJWKSet(new URL(`${sandbox.url}/op/v1/jwks`)),
      {
        issuer: 'https://oauth.platform.intuit.com/op/v1',
        audience: t.app.clientId,
        currentDate: new Date(sandbox.state.clock.now()),
      },
    );
    expect(protectedHeader.alg).toBe('RS256');
    expect(Object.keys(payload)).toEqual(
      Object.keys(recording('intuit-oauth-jsclient/mocks/validateIdToken.json')),
    );
    expect(payload.aud).toEqual([t.app.clientId]);
    expect(payload.realmid).toBe(t.company.realmId);
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it('userinfo returns the recorded shape for the granted scopes, and refuses bad tokens', async () => {
    const t = setup('Userinfo App');
    const all = await t.connect('openid profile email phone address');
    const info = await t.userinfo(all.access_token as string);
    expect(info.status).toBe(200);
    const expected = recording('intuit-dotnet-sdk/oauth/success_userinfo_response.json');
    expect(Object.keys(info.json).sort()).toEqual(Object.keys(expected).sort());
    expect(info.json.sub).toBe(decodeJwt(all.id_token as string).sub);

    const noOpenId = await t.connect(ACCOUNTING);
    const forbidden = await t.userinfo(noOpenId.access_token as string);
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.error).toBe('insufficient_scope');

    const missing = await t.userinfo();
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('invalid_token');
    expect((await t.userinfo('eyJunknown')).status).toBe(401);
    sandbox.state.clock.advance(HOUR + 1000);
    expect((await t.userinfo(all.access_token as string)).status).toBe(401);
  });
});
