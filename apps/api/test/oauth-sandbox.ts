// A real qbo-sandbox driven only through its HTTP surfaces (Intuit's paths and the /_sandbox
// control API), as an operator or CI would. Used by the *.int.test.ts files of
// lib/quickbooks/connection/ (oauth, token-store).
import { startSandbox, type Sandbox } from 'qbo-sandbox';
import { intuitUrls } from '../src/config.ts';
import { QboOAuth, type QboOAuthOptions } from '../src/lib/quickbooks/connection/oauth.ts';

export const REDIRECT_URI = 'http://localhost:3000/api/quickbooks/callback';
export const TOKEN_PATH = '/oauth2/v1/tokens/bearer';

export interface SandboxApp {
  clientId: string;
  clientSecret: string;
}

export interface JournalEntry {
  seq: number;
  method: string;
  url: string;
  status: number;
  injectedFaults?: { id: string; kind: string }[];
}

export class OAuthSandbox {
  private constructor(readonly sandbox: Sandbox) {}

  static async start(): Promise<OAuthSandbox> {
    return new OAuthSandbox(await startSandbox({ port: 0 }));
  }

  get url(): string {
    return this.sandbox.url;
  }

  close(): Promise<void> {
    return this.sandbox.close();
  }

  async control<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`sandbox ${method} ${path} answered ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async createCompany(): Promise<string> {
    const c = await this.control<{ realmId: string }>('POST', '/_sandbox/companies', {});
    return c.realmId;
  }

  async createApp(): Promise<SandboxApp> {
    return this.control<SandboxApp>('POST', '/_sandbox/apps', { redirectUris: [REDIRECT_URI] });
  }

  oauth(app: SandboxApp, extra: Partial<QboOAuthOptions> = {}): QboOAuth {
    return new QboOAuth({
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      redirectUri: REDIRECT_URI,
      environment: 'sandbox',
      urls: intuitUrls('sandbox', this.url),
      ...extra,
    });
  }

  /** Clicks "Connect" on the consent page for `realmId` and returns the callback's query. */
  async consent(authorizeUrl: string, realmId: string): Promise<URLSearchParams> {
    const params = new URL(authorizeUrl).searchParams;
    const form = new URLSearchParams({
      client_id: params.get('client_id') ?? '',
      redirect_uri: params.get('redirect_uri') ?? '',
      response_type: params.get('response_type') ?? '',
      scope: params.get('scope') ?? '',
      state: params.get('state') ?? '',
      realmId,
      action: 'connect',
    });
    const res = await fetch(`${this.url}/connect/oauth2`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      redirect: 'manual',
    });
    const location = res.headers.get('location');
    if (res.status !== 302 || !location) throw new Error(`consent answered ${res.status}`);
    return new URL(location).searchParams;
  }

  async lastSeq(): Promise<number> {
    return (await this.control<{ lastSeq: number }>('GET', '/_sandbox/requests?limit=1')).lastSeq;
  }

  /** Token-endpoint requests the sandbox received after journal entry `since`. */
  async tokenHits(since: number): Promise<JournalEntry[]> {
    const j = await this.control<{ requests: JournalEntry[] }>(
      'GET',
      `/_sandbox/requests?since=${since}&limit=5000`,
    );
    return j.requests.filter((r) => r.url.startsWith(TOKEN_PATH));
  }

  async injectFault(rule: Record<string, unknown>): Promise<void> {
    await this.control('POST', '/_sandbox/faults', rule);
  }
}
