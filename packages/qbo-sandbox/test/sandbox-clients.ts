/**
 * Plain HTTP clients for a started sandbox, set up the way a test suite of an integration
 * would: a company, an app and a token pair, each created through the control API.
 */
import { afterAll, beforeAll } from 'vitest';
import { startSandbox, type Sandbox } from '../src/index.ts';

export interface HttpResult {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export async function http(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* XML or empty */
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** The control API of the sandbox at `url`. */
export function controlClient(url: string, token?: string) {
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return (method: string, path: string, body?: unknown): Promise<HttpResult> =>
    http(`${url}${path}`, { method, body, headers: auth });
}

export type ControlClient = ReturnType<typeof controlClient>;

/**
 * A sandbox on a free port for the whole test file (started before its tests, closed after
 * them) and its control API. `url` is there inside tests and hooks.
 */
export function useSandbox(): { readonly url: string; control: ControlClient } {
  let sandbox: Sandbox | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  const started = (): Sandbox => {
    if (!sandbox) throw new Error('the sandbox is not started yet (use it inside tests)');
    return sandbox;
  };
  return {
    get url() {
      return started().url;
    },
    control: (method, path, body) => controlClient(started().url)(method, path, body),
  };
}

export interface Connection {
  realmId: string;
  clientId: string;
  clientSecret: string;
  accessToken: string;
  refreshToken: string;
  base: string;
  /** An Accounting API call as this app on this company. */
  api(path: string, init?: { method?: string; body?: unknown }): Promise<HttpResult>;
}

/** A new company, a new app (unless one is given) and tokens connecting them. */
export async function connect(
  url: string,
  opts: { clientId?: string; clientSecret?: string; realmId?: string } = {},
): Promise<Connection> {
  const control = controlClient(url);
  let realmId = opts.realmId;
  if (!realmId) {
    const company = await control('POST', '/_sandbox/companies', { companyName: 'Limits Co' });
    if (company.status !== 201) throw new Error(`company: ${company.text}`);
    realmId = company.body.realmId as string;
  }
  let clientId = opts.clientId;
  let clientSecret = opts.clientSecret ?? '';
  if (!clientId) {
    const app = await control('POST', '/_sandbox/apps', {
      redirectUris: ['http://localhost:3000/callback'],
    });
    if (app.status !== 201) throw new Error(`app: ${app.text}`);
    clientId = app.body.clientId as string;
    clientSecret = app.body.clientSecret as string;
  }
  const tokens = await control('POST', '/_sandbox/tokens', { clientId, realmId });
  if (tokens.status !== 200) throw new Error(`tokens: ${tokens.text}`);
  const base = `${url}/v3/company/${realmId}`;
  const accessToken = tokens.body.access_token as string;
  return {
    realmId,
    clientId,
    clientSecret,
    accessToken,
    refreshToken: tokens.body.refresh_token as string,
    base,
    api: (path, init = {}) =>
      http(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${accessToken}` } }),
  };
}
