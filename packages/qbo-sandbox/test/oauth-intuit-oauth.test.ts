import { createRequire } from 'node:module';
import type IntuitOAuthClient from 'intuit-oauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../src/index.ts';
import { authorizeInBrowser } from './oauth-browser.ts';

// intuit-oauth 4.2.5, unchanged: only its process-global endpoint fields point at the sandbox.
const require = createRequire(import.meta.url);
const OAuthClient = require('intuit-oauth') as typeof IntuitOAuthClient;
type Client = InstanceType<typeof OAuthClient>;

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const REDIRECT = 'http://localhost:3000/api/quickbooks/callback';
const SCOPES = [OAuthClient.scopes.Accounting, OAuthClient.scopes.OpenId, OAuthClient.scopes.Email];

let sandbox: Sandbox;
const saved = {
  authorizeEndpoint: OAuthClient.authorizeEndpoint,
  tokenEndpoint: OAuthClient.tokenEndpoint,
  revokeEndpoint: OAuthClient.revokeEndpoint,
  userinfo_endpoint_sandbox: OAuthClient.userinfo_endpoint_sandbox,
  userinfo_endpoint_production: OAuthClient.userinfo_endpoint_production,
  migrate_sandbox: OAuthClient.migrate_sandbox,
  migrate_production: OAuthClient.migrate_production,
  jwks_uri: OAuthClient.jwks_uri,
  environment: OAuthClient.environment,
  maxRetries: OAuthClient.retryConfig.maxRetries,
};

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
  const u = sandbox.url;
  OAuthClient.authorizeEndpoint = `${u}/connect/oauth2`;
  OAuthClient.tokenEndpoint = `${u}/oauth2/v1/tokens/bearer`;
  OAuthClient.revokeEndpoint = `${u}/v2/oauth2/tokens/revoke`;
  OAuthClient.userinfo_endpoint_sandbox = `${u}/v1/openid_connect/userinfo`;
  OAuthClient.userinfo_endpoint_production = `${u}/v1/openid_connect/userinfo`;
  OAuthClient.migrate_sandbox = `${u}/v2/oauth2/tokens/migrate`;
  OAuthClient.migrate_production = `${u}/v2/oauth2/tokens/migrate`;
  OAuthClient.jwks_uri = `${u}/op/v1/jwks`;
  OAuthClient.environment = { sandbox: `${u}/`, production: `${u}/` };
  // Its own retries (1/2/4 s on 408/429/5xx) would only slow a failing test down.
  OAuthClient.retryConfig.maxRetries = 0;
});

afterAll(async () => {
  const { maxRetries, ...fields } = saved;
  Object.assign(OAuthClient, fields);
  OAuthClient.retryConfig.maxRetries = maxRetries;
  await sandbox?.close();
});

/** A company and an app registered for it, as each test's own. */
function setup(name: string) {
  const company = sandbox.addCompany({ companyName: `${name} Co` });
  const app = sandbox.registerApp({ name, redirectUris: [REDIRECT] });
  const client = (over: Record<string, unknown> = {}): Client =>
    new OAuthClient({
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      environment: 'sandbox',
      redirectUri: REDIRECT,
      ...over,
    });
  return { company, app, client };
}

/** authorizeUri → consent page → Connect for the given company → callback URL. */
async function consent(client: Client, realmId: string, state = 'st-123'): Promise<string> {
  const uri = client.authorizeUri({ scope: SCOPES, state });
  return authorizeInBrowser(uri, 'Connect', { realmId });
}

const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e as { error: string; error_description: string; intuit_tid: string };
  }
  throw new Error('expected the call to fail');
};

describe('intuit-oauth 4.2.5 against the sandbox', () => {
  it('connects, refreshes, honours the 24-hour grace, validates the id_token and revokes', async () => {
    const { company, client } = setup('Full Flow App');
    const oauth = client();
    const callback = await consent(oauth, company.realmId, 'csrf-state-42');
    const cb = new URL(callback);
    expect(cb.origin + cb.pathname).toBe(REDIRECT);
    expect(cb.searchParams.get('state')).toBe('csrf-state-42');
    expect(cb.searchParams.get('realmId')).toBe(company.realmId);

    const created = await oauth.createToken(callback);
    expect(created.json).toMatchObject({
      token_type: 'bearer',
      expires_in: 3600,
      x_refresh_token_expires_in: 100 * 86400,
    });
    expect(Object.keys(created.json)).toEqual([
      'token_type',
      'expires_in',
      'refresh_token',
      'x_refresh_token_expires_in',
      'access_token',
      'id_token',
    ]);
    expect(oauth.getToken().realmId).toBe(company.realmId);
    expect(created.intuit_tid).toMatch(/^1-[0-9a-f]+-[0-9a-f]{24}$/);

    const firstRefreshToken = oauth.getToken().refresh_token;
    const refreshed = await oauth.refresh();
    expect(refreshed.json.refresh_token).not.toBe(firstRefreshToken);
    expect(refreshed.json.access_token).not.toBe(created.json.access_token);

    // The superseded refresh token still works 23 hours later…
    sandbox.state.clock.advance(23 * HOUR);
    await oauth.refreshUsingToken(firstRefreshToken);
    // …and no longer 25 hours after the newer one was issued.
    sandbox.state.clock.advance(2 * HOUR);
    const late = await failure(oauth.refreshUsingToken(firstRefreshToken));
    expect(late).toMatchObject({ error: 'invalid_grant', error_description: 'Token invalid' });
    expect(late.intuit_tid).toMatch(/^1-/);

    await oauth.refresh();
    await expect(oauth.validateIdToken()).resolves.toBe(true);
    const info = await oauth.getUserInfo();
    expect(info.json).toMatchObject({ email: 'sandbox.user@example.com', emailVerified: true });

    const lastRefreshToken = oauth.getToken().refresh_token;
    const revoked = await oauth.revoke();
    expect(revoked.response.status).toBe(200);
    // intuit-oauth revoked the access token; Intuit then disconnects the whole grant.
    const afterRevoke = await failure(client().refreshUsingToken(lastRefreshToken));
    expect(afterRevoke.error).toBe('invalid_grant');
  });

  it('Cancel on the consent page sends access_denied and the state back to the app', async () => {
    const { company, client } = setup('Refused App');
    const uri = client().authorizeUri({ scope: SCOPES, state: 'keep me' });
    const location = new URL(await authorizeInBrowser(uri, 'Cancel', { realmId: company.realmId }));
    expect(location.origin + location.pathname).toBe(REDIRECT);
    expect(Object.fromEntries(location.searchParams)).toEqual({
      error: 'access_denied',
      state: 'keep me',
    });
  });

  it('a reused authorization code is refused and kills the tokens issued from it', async () => {
    const { company, client } = setup('Replay App');
    const first = client();
    const callback = await consent(first, company.realmId);
    await first.createToken(callback);
    await expect(first.getUserInfo()).resolves.toBeTruthy();

    const replay = await failure(client().createToken(callback));
    expect(replay).toMatchObject({ error: 'invalid_grant', error_description: 'Token invalid' });
    expect((await failure(first.refresh())).error).toBe('invalid_grant');
    await expect(first.getUserInfo()).rejects.toBeTruthy();
  });

  it('a wrong client secret is invalid_client and leaves the code usable', async () => {
    const { company, client } = setup('Wrong Secret App');
    const callback = await consent(client(), company.realmId);
    const wrong = await failure(client({ clientSecret: 'not-the-secret' }).createToken(callback));
    expect(wrong.error).toBe('invalid_client');
    const good = await client().createToken(callback);
    expect(good.json.access_token).toBeTruthy();
  });

  it('a refresh token unused for 100 days expires; used within them it rolls on', async () => {
    const { company, client } = setup('Idle App');
    const active = client();
    await active.createToken(await consent(active, company.realmId));
    const idle = client();
    await idle.createToken(await consent(idle, company.realmId));

    sandbox.state.clock.advance(99 * DAY);
    await active.refresh();
    sandbox.state.clock.advance(DAY + 1000);
    const expired = await failure(idle.refresh());
    expect(expired).toMatchObject({ error: 'invalid_grant', error_description: 'Token invalid' });

    // 198 days after consent, but only 99 after its last use.
    sandbox.state.clock.advance(98 * DAY);
    const rolled = await active.refresh();
    expect(rolled.json.x_refresh_token_expires_in).toBe(100 * 86400);
  });

  it('the grant ends at its 5-year hard expiry however often it is refreshed', async () => {
    const { company, client } = setup('Five Year App');
    const oauth = client({ includeRefreshTokenHardExpiresIn: true });
    const created = await oauth.createToken(await consent(oauth, company.realmId));
    const hardAtStart = created.json.x_refresh_token_hard_expires_in as number;
    expect(hardAtStart).toBe(5 * 365 * 86400);

    let last = created.json as Record<string, number>;
    for (let elapsedDays = 99; elapsedDays <= 5 * 365 - 1; elapsedDays += 99) {
      sandbox.state.clock.advance(99 * DAY);
      last = (await oauth.refresh()).json;
      expect(last.x_refresh_token_hard_expires_in).toBeCloseTo(
        hardAtStart - elapsedDays * 86400,
        -1,
      );
    }
    // Near the end the rolling expiry is capped by the hard one.
    expect(last.x_refresh_token_hard_expires_in).toBeLessThan(100 * 86400);
    expect(last.x_refresh_token_expires_in).toBe(last.x_refresh_token_hard_expires_in);

    sandbox.state.clock.advance(last.x_refresh_token_hard_expires_in! * 1000 + 1000);
    const dead = await failure(oauth.refresh());
    expect(dead).toMatchObject({ error: 'invalid_grant', error_description: 'Token invalid' });
  });
});
