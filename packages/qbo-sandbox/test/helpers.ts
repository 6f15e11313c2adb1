import { startSandbox, type Sandbox, type StartSandboxOptions } from '../src/index.ts';
import type { Company } from '../src/core/company.ts';
import type { AppRecord } from '../src/core/state.ts';
import { issueTokens } from '../src/oauth/tokens.ts';

export interface TestSandbox {
  sandbox: Sandbox;
  company: Company;
  app: AppRecord;
  realmId: string;
  accessToken: string;
  refreshToken: string;
  /** `${url}/v3/company/${realmId}` */
  base: string;
  /** fetch against the Accounting API with the bearer token; JSON bodies stringified. */
  api(
    path: string,
    init?: { method?: string; body?: unknown; contentType?: string; token?: string },
  ): Promise<{ status: number; headers: Headers; body: any; text: string }>;
  close(): Promise<void>;
}

/** A sandbox on a free port with one company, one app and a token pair for it. */
export async function startTestSandbox(opts: StartSandboxOptions = {}): Promise<TestSandbox> {
  const sandbox = await startSandbox({ port: 0, ...opts });
  const company = sandbox.addCompany({ companyName: 'Test Company' });
  const app = sandbox.registerApp({
    redirectUris: ['http://localhost:3000/api/quickbooks/callback'],
  });
  const { access, refresh } = issueTokens(
    { state: sandbox.state, config: sandbox.config },
    {
      clientId: app.clientId,
      realmId: company.realmId,
      scopes: ['com.intuit.quickbooks.accounting'],
    },
  );
  const base = `${sandbox.url}/v3/company/${company.realmId}`;
  return {
    sandbox,
    company,
    app,
    realmId: company.realmId,
    accessToken: access.token,
    refreshToken: refresh.token,
    base,
    async api(path, init = {}) {
      const headers: Record<string, string> = {
        accept: 'application/json',
        authorization: `Bearer ${init.token ?? access.token}`,
      };
      let body: string | undefined;
      if (init.body !== undefined) {
        body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
        headers['content-type'] = init.contentType ?? 'application/json';
      }
      const res = await fetch(path.startsWith('http') ? path : `${base}${path}`, {
        method: init.method ?? (body ? 'POST' : 'GET'),
        headers,
        body,
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON (XML faults) */
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    close: () => sandbox.close(),
  };
}
