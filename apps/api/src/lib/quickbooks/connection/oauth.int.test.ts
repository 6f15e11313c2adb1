// QboOAuth against a real qbo-sandbox: the consent → code → tokens flow, refresh-token
// rotation, error classification, request-log attempts, and the reason this wrapper
// exists: intuit-oauth's process-global endpoints.
import OAuthClient from 'intuit-oauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intuitUrls } from '../../../config.ts';
import type { RequestLogRecord } from '../ports.ts';
import { OAuthSandbox, REDIRECT_URI, type SandboxApp } from '../../../../test/oauth-sandbox.ts';
import {
  OAuthClientError,
  OAuthGrantError,
  OAuthTransientError,
  type QboOAuthOptions,
} from './oauth.ts';

const DAY = 86_400_000;

let sbx: OAuthSandbox;
beforeAll(async () => {
  sbx = await OAuthSandbox.start();
});
afterAll(async () => {
  await sbx?.close();
});

interface Minted {
  access_token: string;
  refresh_token: string;
}

async function setup(extra: Partial<QboOAuthOptions> = {}) {
  const app = await sbx.createApp();
  const realmId = await sbx.createCompany();
  const attempts: RequestLogRecord[] = [];
  const requestLog = { write: async (a: RequestLogRecord) => void attempts.push(a) };
  const oauth = sbx.oauth(app, { requestLog, ...extra });
  const mint = () =>
    sbx.control<Minted>('POST', '/_sandbox/tokens', { clientId: app.clientId, realmId });
  return { app, realmId, oauth, attempts, mint };
}

describe('QboOAuth', () => {
  it('connects a company: consent page code -> token set with access, rolling and hard expiries', async () => {
    const { oauth, realmId } = await setup();
    const authorizeUrl = oauth.authorizeUrl('state-123');
    const u = new URL(authorizeUrl);
    expect(`${u.origin}${u.pathname}`).toBe(`${sbx.url}/connect/oauth2`);
    expect(u.searchParams.get('scope')).toBe('com.intuit.quickbooks.accounting');
    expect(u.searchParams.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(u.searchParams.get('state')).toBe('state-123');

    const callback = await sbx.consent(authorizeUrl, realmId);
    expect(callback.get('state')).toBe('state-123');
    expect(callback.get('realmId')).toBe(realmId);
    const before = Date.now();
    const t = await oauth.exchangeCode({ code: callback.get('code')!, realmId });
    const after = Date.now();
    expect(t.accessToken).toBeTruthy();
    expect(t.refreshToken).toMatch(/^RT1-/);
    // Counted from when the request left: between our before/after marks plus one hour.
    expect(t.accessTokenExpiresAt.getTime()).toBeGreaterThanOrEqual(before + 3600_000);
    expect(t.accessTokenExpiresAt.getTime()).toBeLessThanOrEqual(after + 3600_000);
    expect(Math.round((t.refreshTokenExpiresAt.getTime() - before) / DAY)).toBe(100);
    expect(Math.round((t.refreshTokenHardExpiresAt!.getTime() - before) / DAY)).toBe(5 * 365);

    // A code is single-use at Intuit; a second exchange is invalid_grant.
    await expect(
      oauth.exchangeCode({ code: callback.get('code')!, realmId }),
    ).rejects.toBeInstanceOf(OAuthGrantError);
  });

  it('a refresh rotates the refresh token and the superseded one still works within the 24-hour grace', async () => {
    const { oauth, mint, realmId } = await setup();
    const first = await mint();
    const a = await oauth.refresh(first.refresh_token, { realmId });
    expect(a.refreshToken).not.toBe(first.refresh_token);
    const b = await oauth.refresh(first.refresh_token, { realmId });
    expect(b.accessToken).not.toBe(a.accessToken);
    // 25 hours later the superseded token is gone, the newest one still works.
    await sbx.control('POST', '/_sandbox/clock', { advanceSeconds: 25 * 3600 });
    try {
      await expect(oauth.refresh(first.refresh_token)).rejects.toBeInstanceOf(OAuthGrantError);
      await expect(oauth.refresh(b.refreshToken)).resolves.toMatchObject({
        accessToken: expect.any(String),
      });
    } finally {
      await sbx.control('POST', '/_sandbox/clock', { reset: true });
    }
  });

  it('a revoked refresh token is invalid_grant; a wrong client secret is a configuration error', async () => {
    const { app, oauth, mint } = await setup();
    const t = await mint();
    await sbx.control('POST', '/_sandbox/tokens/revoke', { refreshToken: t.refresh_token });
    const err = await oauth.refresh(t.refresh_token).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OAuthGrantError);
    expect((err as OAuthGrantError).errorCode).toBe('invalid_grant');
    expect((err as OAuthGrantError).intuitTid).toBeTruthy();

    const wrong = sbx.oauth({ ...app, clientSecret: 'not-the-secret' });
    const t2 = await mint();
    await expect(wrong.refresh(t2.refresh_token)).rejects.toBeInstanceOf(OAuthClientError);
  });

  it('a 5xx, a lost answer or a timeout is transient, is tried exactly once, and never carries a token', async () => {
    const { oauth, mint, attempts } = await setup({ timeoutMs: 1000 });
    const t = await mint();
    for (const fault of [
      { kind: 'error', surface: 'token', count: 1 },
      { kind: 'outage', surface: 'token', count: 1 },
      { kind: 'drop-response', surface: 'token', count: 1 },
      { kind: 'timeout', surface: 'token', count: 1, latencyMs: 4000 },
    ]) {
      const since = await sbx.lastSeq();
      await sbx.injectFault(fault);
      const err = await oauth.refresh(t.refresh_token).catch((e: unknown) => e);
      expect(err, fault.kind).toBeInstanceOf(OAuthTransientError);
      expect(JSON.stringify(err) + String((err as Error).message)).not.toContain(t.refresh_token);
      if (fault.kind !== 'timeout') expect(await sbx.tokenHits(since), fault.kind).toHaveLength(1);
    }
    expect(attempts.map((a) => a.status)).toEqual([500, 503, null, null]);
    expect(attempts[3]!.errorMessage).toBe('timeout');
    expect(attempts[0]).toMatchObject({
      method: 'POST',
      path: '/oauth2/v1/tokens/bearer',
      errorCode: 'server_error',
    });
    expect(attempts[0]!.intuitTid).toBeTruthy();
  });

  it('reports one request-log attempt per HTTP call, with the realm and without tokens', async () => {
    const { oauth, mint, attempts, realmId } = await setup();
    const t = await mint();
    const next = await oauth.refresh(t.refresh_token, { realmId });
    await sbx.control('POST', '/_sandbox/tokens/revoke', { refreshToken: next.refreshToken });
    await oauth.refresh(next.refreshToken, { realmId }).catch(() => {});
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toMatchObject({
      status: 200,
      errorCode: null,
      realmId,
      path: '/oauth2/v1/tokens/bearer',
    });
    expect(attempts[1]).toMatchObject({
      status: 400,
      errorCode: 'invalid_grant',
      errorMessage: 'Token invalid',
    });
    const text = JSON.stringify(attempts);
    for (const secret of [t.refresh_token, next.refreshToken, next.accessToken])
      expect(text).not.toContain(secret);
  });

  it('revoke ends the grant, and revoking an already revoked token is not an error', async () => {
    const { oauth, mint } = await setup();
    const t = await mint();
    await oauth.revoke(t.refresh_token);
    await expect(oauth.refresh(t.refresh_token)).rejects.toBeInstanceOf(OAuthGrantError);
    await expect(oauth.revoke(t.refresh_token)).resolves.toBeUndefined();
  });
});

describe('two configurations in one process (intuit-oauth endpoints are process-global)', () => {
  let other: OAuthSandbox;
  beforeAll(async () => {
    other = await OAuthSandbox.start();
  });
  afterAll(async () => {
    await other?.close();
  });

  it('plain intuit-oauth sends one configuration’s refresh to the other’s host (the hazard)', async () => {
    const [appA, appB] = [await sbx.createApp(), await other.createApp()];
    const realmA = await sbx.createCompany();
    const t = await sbx.control<Minted>('POST', '/_sandbox/tokens', {
      clientId: appA.clientId,
      realmId: realmA,
    });
    const endpoints = (url: string) => {
      const u = intuitUrls('sandbox', url);
      return {
        authorizeEndpoint: u.authorize,
        tokenEndpoint: u.token,
        revokeEndpoint: u.revoke,
        userInfoEndpoint: u.userinfo,
      };
    };
    const saved = { token: OAuthClient.tokenEndpoint, retry: OAuthClient.retryConfig };
    try {
      OAuthClient.retryConfig = { ...OAuthClient.retryConfig, maxRetries: 0 };
      const a = new OAuthClient({
        clientId: appA.clientId,
        clientSecret: appA.clientSecret,
        environment: 'sandbox',
        redirectUri: REDIRECT_URI,
      });
      a.setAuthorizeURLs(endpoints(sbx.url));
      const b = new OAuthClient({
        clientId: appB.clientId,
        clientSecret: appB.clientSecret,
        environment: 'sandbox',
        redirectUri: REDIRECT_URI,
      });
      b.setAuthorizeURLs(endpoints(other.url));
      const since = await other.lastSeq();
      await expect(a.refreshUsingToken(t.refresh_token)).rejects.toBeTruthy();
      // A's client id, secret and refresh token went to B's host.
      expect(await other.tokenHits(since)).toHaveLength(1);
    } finally {
      OAuthClient.tokenEndpoint = saved.token;
      OAuthClient.retryConfig = saved.retry;
    }
  });

  it('two QboOAuth instances on two sandboxes, used concurrently, each reach only their own host', async () => {
    const setupOn = async (s: OAuthSandbox) => {
      const app: SandboxApp = await s.createApp();
      const realmId = await s.createCompany();
      const tokens = await Promise.all(
        Array.from({ length: 20 }, () =>
          s.control<Minted>('POST', '/_sandbox/tokens', { clientId: app.clientId, realmId }),
        ),
      );
      return { s, app, realmId, tokens, oauth: s.oauth(app), since: await s.lastSeq() };
    };
    const [a, b] = [await setupOn(sbx), await setupOn(other)];
    // Slow answers on A keep A's requests in flight while B re-pins the statics.
    await sbx.injectFault({ kind: 'latency', surface: 'token', latencyMs: 40, count: 20 });
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      for (const side of [a, b]) {
        calls.push(side.oauth.refresh(side.tokens[i]!.refresh_token, { realmId: side.realmId }));
        const url = side.oauth.authorizeUrl(`s${i}`);
        expect(url.startsWith(`${side.s.url}/connect/oauth2?`)).toBe(true);
        expect(new URL(url).searchParams.get('client_id')).toBe(side.app.clientId);
      }
    }
    const results = await Promise.allSettled(calls);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    for (const side of [a, b]) {
      const hits = await side.s.tokenHits(side.since);
      expect(hits).toHaveLength(20);
      expect(hits.every((h) => h.status === 200)).toBe(true);
    }
  });
});
