import { describe, expect, it } from 'vitest';
import { startSandbox } from '../src/index.ts';
import { connect, controlClient, http, useSandbox } from './sandbox-clients.ts';

const sandbox = useSandbox();
const { control } = sandbox;

describe('control API: companies', () => {
  it('creates a company with the given name, realm id and zone, shows its entity counts, and deletes it', async () => {
    const realmId = `9341${Date.now()}`;
    const created = await control('POST', '/_sandbox/companies', {
      companyName: 'Acme Plumbing',
      realmId,
      offsetMinutes: -300,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      realmId,
      companyName: 'Acme Plumbing',
      offsetMinutes: -300,
    });

    const c = await connect(sandbox.url, { realmId });
    await c.api('/customer', { body: { DisplayName: 'Counted Customer' } });
    const shown = await control('GET', `/_sandbox/companies/${realmId}`);
    expect(shown.body.counts.Customer).toBe(1);
    const info = await c.api(`/companyinfo/${realmId}`);
    expect(info.body.time).toMatch(/-05:00$/);

    const list = await control('GET', '/_sandbox/companies');
    expect(list.body.companies.map((x: any) => x.realmId)).toContain(realmId);
    expect((await control('POST', '/_sandbox/companies', { realmId })).status).toBe(409);

    expect((await control('DELETE', `/_sandbox/companies/${realmId}`)).status).toBe(204);
    expect((await control('GET', `/_sandbox/companies/${realmId}`)).status).toBe(404);
    // The company's connections went with it.
    expect((await c.api(`/companyinfo/${realmId}`)).status).toBe(401);
  });

  it("a valid access token sent to another company's URL, or to a realm that does not exist, is refused with 401 as QBO does", async () => {
    const a = await connect(sandbox.url);
    const b = await connect(sandbox.url, { clientId: a.clientId, clientSecret: a.clientSecret });
    for (const realm of [b.realmId, `9341${Date.now()}404`]) {
      const res = await http(`${sandbox.url}/v3/company/${realm}/companyinfo/${realm}`, {
        headers: { authorization: `Bearer ${a.accessToken}` },
      });
      expect(res.status, realm).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('invalid_token');
      expect(res.body.fault).toMatchObject({
        type: 'AUTHENTICATION',
        error: [{ code: '100', message: 'General Authentication Error' }],
      });
    }
    // The token still works for the company it was issued for, and B's own token for B.
    expect((await a.api(`/companyinfo/${a.realmId}`)).status).toBe(200);
    expect((await b.api(`/companyinfo/${b.realmId}`)).status).toBe(200);
  });

  it('refuses bad company input with a 400 naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ offsetMinutes: 'x' }, 'offsetMinutes must be an integer'],
      [{ offsetMinutes: 900 }, 'offsetMinutes must be at most 840'],
      [{ realmId: 'has space' }, 'realmId must be 1 to 64 letters, digits, "-" or "_"'],
      [{ companyName: '' }, 'companyName must be a non-empty string'],
      [{ name: 'x' }, 'unknown field(s): name'],
      ['[1]', 'body must be a JSON object'],
      ['{oops', 'body is not valid JSON'],
    ];
    for (const [body, message] of cases) {
      const res = await control('POST', '/_sandbox/companies', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_request' });
      expect(res.body.error_description).toContain(message);
    }
  });
});

describe('control API: apps', () => {
  it('registers an app with its secret and webhook settings, lists it, and patches it', async () => {
    const created = await control('POST', '/_sandbox/apps', {
      name: 'Sync service',
      redirectUris: ['http://localhost:3000/api/quickbooks/callback'],
      webhookUrl: 'http://localhost:3000/api/quickbooks/webhooks',
      webhookFormat: 'cloudevents',
      webhookEntities: ['Invoice', 'Customer'],
    });
    expect(created.status).toBe(201);
    const app = created.body;
    expect(app.clientId).toMatch(/^AB/);
    expect(app.clientSecret).toBeTruthy();
    expect(app.verifierToken).toBeTruthy();
    expect(app.webhookFormat).toBe('cloudevents');

    const listed = await control('GET', '/_sandbox/apps');
    expect(listed.body.apps.map((a: any) => a.clientId)).toContain(app.clientId);

    const patched = await control('PATCH', `/_sandbox/apps/${app.clientId}`, {
      webhookFormat: 'legacy',
      webhookEntities: null,
      redirectUris: ['https://example.com/cb'],
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      webhookFormat: 'legacy',
      redirectUris: ['https://example.com/cb'],
    });
    expect(patched.body.webhookEntities).toBeUndefined();
    expect((await control('GET', `/_sandbox/apps/${app.clientId}`)).body.webhookFormat).toBe(
      'legacy',
    );

    const fixed = await control('POST', '/_sandbox/apps', {
      clientId: 'ABfixed-client-id',
      clientSecret: 'fixed-secret',
      redirectUris: ['http://localhost/cb'],
    });
    expect(fixed.body).toMatchObject({
      clientId: 'ABfixed-client-id',
      clientSecret: 'fixed-secret',
    });
    expect(
      (
        await control('POST', '/_sandbox/apps', {
          clientId: 'ABfixed-client-id',
          redirectUris: ['http://localhost/cb'],
        })
      ).status,
    ).toBe(409);
  });

  it('refuses bad app input with a 400 naming the field', async () => {
    const cases: [string, string, unknown, string][] = [
      ['POST', '/_sandbox/apps', {}, 'redirectUris is required'],
      ['POST', '/_sandbox/apps', { redirectUris: [] }, 'redirectUris must not be empty'],
      [
        'POST',
        '/_sandbox/apps',
        { redirectUris: ['not a url'] },
        'redirectUris: "not a url" is not an absolute URL',
      ],
      [
        'POST',
        '/_sandbox/apps',
        { redirectUris: ['http://x/cb'], webhookFormat: 'xml' },
        'webhookFormat must be one of: legacy, cloudevents',
      ],
      [
        'POST',
        '/_sandbox/apps',
        { redirectUris: ['http://x/cb'], webhookUrl: 'ftp://x' },
        'webhookUrl: "ftp://x" must be an http or https URL',
      ],
    ];
    for (const [method, path, body, message] of cases) {
      const res = await control(method, path, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error_description).toContain(message);
    }
    const app = (await control('POST', '/_sandbox/apps', { redirectUris: ['http://x/cb'] })).body;
    const renamed = await control('PATCH', `/_sandbox/apps/${app.clientId}`, { clientId: 'other' });
    expect(renamed.status).toBe(400);
    expect(renamed.body.error_description).toBe('clientId cannot be changed');
    expect((await control('PATCH', '/_sandbox/apps/nope', { name: 'x' })).status).toBe(404);
  });
});

describe('the Sandbox object', () => {
  it('finds, changes and lists apps and companies for code that embeds the sandbox', async () => {
    const sb = await startSandbox({ port: 0 });
    try {
      expect(sb.listCompanies()).toEqual([]);
      const a = sb.addCompany({ companyName: 'First' });
      const b = sb.addCompany({ companyName: 'Second' });
      expect(sb.listCompanies().map((c) => c.realmId)).toEqual([a.realmId, b.realmId]);

      const app = sb.registerApp({ name: 'embedded', redirectUris: ['http://localhost:1/cb'] });
      expect(sb.findApp('embedded')).toBe(app);
      expect(sb.findApp('nobody')).toBeUndefined();
      const changed = sb.updateApp(app.clientId, {
        redirectUris: ['http://localhost:2/cb'],
        webhookUrl: 'http://localhost:2/webhook',
      });
      expect(changed).toMatchObject({
        clientId: app.clientId,
        redirectUris: ['http://localhost:2/cb'],
        webhookUrl: 'http://localhost:2/webhook',
      });
      const shown = await controlClient(sb.url)('GET', `/_sandbox/apps/${app.clientId}`);
      expect(shown.body.redirectUris).toEqual(['http://localhost:2/cb']);
      expect(() => sb.updateApp('ABunknown', { name: 'x' })).toThrow(/no app/);
    } finally {
      await sb.close();
    }
  });
});

describe('control API: clock, journal, health', () => {
  it('moves the sandbox clock forward, to an instant, and back to real time', async () => {
    const before = (await control('GET', '/_sandbox/clock')).body;
    const advanced = await control('POST', '/_sandbox/clock', { advanceSeconds: 3600 });
    expect(advanced.body.nowMs - before.nowMs).toBeGreaterThanOrEqual(3600_000);
    const set = await control('POST', '/_sandbox/clock', { now: '2030-01-02T03:04:05Z' });
    expect(set.body.now.slice(0, 19)).toBe('2030-01-02T03:04:05');
    const reset = await control('POST', '/_sandbox/clock', { reset: true });
    expect(Math.abs(reset.body.offsetMs)).toBeLessThan(1000);
    for (const body of [
      {},
      { advanceSeconds: -1 },
      { now: 'tomorrow' },
      { advanceSeconds: 1, reset: true },
    ]) {
      expect((await control('POST', '/_sandbox/clock', body)).status, JSON.stringify(body)).toBe(
        400,
      );
    }
  });

  it('the journal lists what the sandbox received and answered, filtered by realm, app and seq', async () => {
    const c = await connect(sandbox.url);
    await c.api(`/companyinfo/${c.realmId}`);
    const first = await control(
      'GET',
      `/_sandbox/requests?realmId=${c.realmId}&clientId=${c.clientId}`,
    );
    expect(first.body.requests).toHaveLength(1);
    expect(first.body.requests[0]).toMatchObject({
      method: 'GET',
      url: `/v3/company/${c.realmId}/companyinfo/${c.realmId}`,
      status: 200,
      realmId: c.realmId,
      clientId: c.clientId,
    });
    expect(first.body.requests[0].intuitTid).toMatch(/^1-[0-9a-f]+-[0-9a-f]+$/);
    const since = first.body.requests[0].seq;
    await c.api('/customer/999999');
    const next = await control('GET', `/_sandbox/requests?realmId=${c.realmId}&since=${since}`);
    expect(next.body.requests.map((e: any) => e.status)).toEqual([400]);
    expect((await control('GET', '/_sandbox/requests?limit=0')).status).toBe(400);
    expect((await control('GET', '/_sandbox/requests?since=yesterday')).status).toBe(400);
  });

  it('health answers ok', async () => {
    const res = await control('GET', '/_sandbox/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', limitsEnabled: true });
  });
});

describe('control token', () => {
  it('with controlToken set, every /_sandbox route (of any module) needs it; Intuit endpoints do not', async () => {
    const guarded = await startSandbox({ port: 0, config: { controlToken: 's3cret-token' } });
    try {
      const open = controlClient(guarded.url);
      const wrong = controlClient(guarded.url, 'nope');
      const right = controlClient(guarded.url, 's3cret-token');
      for (const [method, path] of [
        ['GET', '/_sandbox/health'],
        ['POST', '/_sandbox/companies'],
        ['GET', '/_sandbox/faults'],
        ['POST', '/_sandbox/tokens'],
        ['POST', '/_sandbox/seed'],
        ['GET', '/_sandbox/webhooks/deliveries'],
      ] as const) {
        const res = await open(method, path, method === 'POST' ? {} : undefined);
        expect(res.status, path).toBe(401);
        expect(res.headers.get('www-authenticate')).toContain('Bearer');
        expect((await wrong(method, path, method === 'POST' ? {} : undefined)).status).toBe(401);
      }
      expect((await right('GET', '/_sandbox/health')).status).toBe(200);
      const company = await right('POST', '/_sandbox/companies', {});
      expect(company.status).toBe(201);
      const discovery = await http(`${guarded.url}/.well-known/openid_sandbox_configuration`);
      expect(discovery.status).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});
