import { expect } from 'vitest';
import type { Sandbox } from '../src/index.ts';
import { authorizeInBrowser } from './oauth-browser.ts';
import { recordingJson } from './recordings.ts';

export const recording = (path: string): Record<string, unknown> => recordingJson(path);

export const HOUR = 3600_000;
export const REDIRECT = 'https://app.example.com/qbo/callback';
export const ACCOUNTING = 'com.intuit.quickbooks.accounting';

export interface Http {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export async function http(url: string, init: RequestInit = {}): Promise<Http> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export function setup(s: Sandbox, name: string) {
  const company = s.addCompany({ companyName: `${name} Co` });
  const app = s.registerApp({ name, redirectUris: [REDIRECT] });
  const basic = `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`;
  const authorizeUrl = (params: Record<string, string>) =>
    `${s.url}/connect/oauth2?${new URLSearchParams({
      client_id: app.clientId,
      response_type: 'code',
      scope: ACCOUNTING,
      redirect_uri: REDIRECT,
      state: 'xyz',
      ...params,
    }).toString()}`;
  const token = (
    form: Record<string, string>,
    headers: Record<string, string> = { authorization: basic },
  ) =>
    http(`${s.url}/oauth2/v1/tokens/bearer`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    });
  const code = async (scope = ACCOUNTING): Promise<string> => {
    const loc = new URL(
      await authorizeInBrowser(authorizeUrl({ scope, realmId: company.realmId })),
    );
    return loc.searchParams.get('code')!;
  };
  const connect = async (scope = ACCOUNTING, headers?: Record<string, string>) => {
    const res = await token(
      { grant_type: 'authorization_code', code: await code(scope), redirect_uri: REDIRECT },
      { authorization: basic, ...headers },
    );
    expect(res.status).toBe(200);
    return res.json as Record<string, string | number>;
  };
  const refresh = (refreshToken: string) =>
    token({ grant_type: 'refresh_token', refresh_token: refreshToken });
  const revoke = (body: string, contentType: string, authorization = basic) =>
    http(`${s.url}/v2/oauth2/tokens/revoke`, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization, accept: 'application/json' },
      body,
    });
  const userinfo = (accessToken?: string) =>
    http(`${s.url}/v1/openid_connect/userinfo`, {
      headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {},
    });
  const control = (path: string, body: unknown) =>
    http(`${s.url}/_sandbox/tokens${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return {
    company,
    app,
    basic,
    authorizeUrl,
    token,
    code,
    connect,
    refresh,
    revoke,
    userinfo,
    control,
  };
}

export const INVALID_GRANT = { error_description: 'Token invalid', error: 'invalid_grant' };
