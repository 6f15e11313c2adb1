import { describe, expect, it } from 'vitest';
import { recordingText } from './recordings.ts';
import { connect, http, type Connection, useSandbox } from './sandbox-clients.ts';

const sandbox = useSandbox();
const { control } = sandbox;

const inject = async (rule: Record<string, unknown>): Promise<string> => {
  const res = await control('POST', '/_sandbox/faults', rule);
  expect(res.status).toBe(201);
  return res.body.id as string;
};
const companyInfo = (c: Connection) => c.api(`/companyinfo/${c.realmId}`);

describe('fault injection', () => {
  it('latency: the answer comes late but complete', async () => {
    const c = await connect(sandbox.url);
    const id = await inject({
      kind: 'latency',
      latencyMs: 1_000,
      realmId: c.realmId,
      path: '/companyinfo',
      count: 1,
    });
    // Late means after a request sent later, which no rule delays: order, not wall time.
    const answered: string[] = [];
    const track = <T>(name: string, p: Promise<T>) =>
      p.then((r) => {
        answered.push(name);
        return r;
      });
    const [slow, other] = await Promise.all([
      track('delayed', companyInfo(c)),
      track('sent later', c.api(`/query?query=${encodeURIComponent('select * from Customer')}`)),
    ]);
    expect(slow.status).toBe(200);
    expect(slow.body.CompanyInfo).toBeDefined();
    expect(other.status).toBe(200);
    expect(answered).toEqual(['sent later', 'delayed']);
    // count: 1 — the rule delayed one answer, and the next one is not held.
    expect((await companyInfo(c)).status).toBe(200);
    expect((await control('GET', `/_sandbox/faults/${id}`)).body).toMatchObject({
      hits: 1,
      remaining: 0,
    });
    const journal = await control('GET', `/_sandbox/requests?realmId=${c.realmId}`);
    const infos = journal.body.requests.filter((e: any) => e.url.includes('/companyinfo/'));
    expect(infos.map((e: any) => e.injectedFaults?.map((f: any) => f.kind) ?? [])).toEqual([
      ['latency'],
      [],
    ]);
  });

  it('error: a SystemFault 500 by default, or the status asked for, for the next N matching requests', async () => {
    const c = await connect(sandbox.url);
    await inject({ kind: 'error', realmId: c.realmId, count: 1 });
    const res = await companyInfo(c);
    expect(res.status).toBe(500);
    expect(res.body.Fault).toMatchObject({ type: 'SystemFault', Error: [{ code: '10000' }] });
    await inject({ kind: 'error', status: 502, realmId: c.realmId, method: 'POST', count: 2 });
    expect((await companyInfo(c)).status).toBe(200); // GET does not match
    const post = () => c.api('/customer', { body: { DisplayName: `Err ${Math.random()}` } });
    expect((await post()).status).toBe(502);
    expect((await post()).status).toBe(502);
    expect((await post()).status).toBe(200);
  });

  it('outage: every matching request gets 503 for the duration, then service resumes', async () => {
    const c = await connect(sandbox.url);
    const other = await connect(sandbox.url);
    await inject({ kind: 'outage', realmId: c.realmId, durationMs: 60_000 });
    for (let i = 0; i < 3; i++) expect((await companyInfo(c)).status).toBe(503);
    expect((await companyInfo(other)).status).toBe(200);
    await control('POST', '/_sandbox/clock', { advanceSeconds: 61 });
    expect((await companyInfo(c)).status).toBe(200);
  });

  it('throttle: a 429 ThrottleExceeded, in XML like quickbooks-ruby too_many_requests_error.xml when asked', async () => {
    const c = await connect(sandbox.url);
    await inject({ kind: 'throttle', realmId: c.realmId, count: 1, format: 'xml' });
    const xml = await companyInfo(c);
    expect(xml.status).toBe(429);
    expect(xml.headers.get('content-type')).toBe('application/xml');
    const fixture = recordingText('quickbooks-ruby/fixtures/too_many_requests_error.xml');
    const withoutTime = (s: string) => s.replace(/time="[^"]*"/, 'time=""').trim();
    expect(withoutTime(xml.text)).toBe(withoutTime(fixture));

    await inject({ kind: 'throttle', realmId: c.realmId, count: 1 });
    const json = await companyInfo(c);
    expect(json.status).toBe(429);
    expect(json.body.Fault.Error[0].code).toBe('3001');
    const stats = await control(
      'GET',
      `/_sandbox/stats?realmId=${c.realmId}&clientId=${c.clientId}`,
    );
    expect(stats.body.throttledBy.injected).toBe(2);
  });

  it('drop-response: the write happens but the client sees the connection close without an answer', async () => {
    const c = await connect(sandbox.url);
    const id = await inject({
      kind: 'drop-response',
      realmId: c.realmId,
      method: 'POST',
      pathRegex: '/customer($|\\?)',
      count: 1,
    });
    const err = await c.api('/customer', { body: { DisplayName: 'Dropped Co' } }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err.cause?.code ?? err.cause?.message)).toMatch(/SOCKET|closed|reset/i);
    const found = await c.api(
      `/query?query=${encodeURIComponent("select * from Customer where DisplayName = 'Dropped Co'")}`,
    );
    expect(found.body.QueryResponse.Customer).toHaveLength(1);

    const journal = await control('GET', `/_sandbox/requests?realmId=${c.realmId}`);
    const dropped = journal.body.requests.find((e: any) => e.injectedFaults?.[0]?.id === id);
    expect(dropped).toMatchObject({ method: 'POST', status: 200 });
    expect((await control('GET', `/_sandbox/faults/${id}`)).body).toMatchObject({
      hits: 1,
      remaining: 0,
      active: false,
    });
  });

  it('drop-response on the token endpoint: a lost refresh response, after which the old refresh token still works', async () => {
    const c = await connect(sandbox.url);
    await inject({ kind: 'drop-response', surface: 'token', clientId: c.clientId, count: 1 });
    const refresh = () =>
      http(`${sandbox.url}/oauth2/v1/tokens/bearer`, {
        method: 'POST',
        body: `grant_type=refresh_token&refresh_token=${c.refreshToken}`,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`,
        },
      });
    await expect(refresh()).rejects.toThrow();
    const journal = await control('GET', '/_sandbox/requests?limit=5');
    const lost = journal.body.requests.findLast((e: any) => e.url.includes('/tokens/bearer'));
    expect(lost).toMatchObject({ status: 200, injectedFaults: [{ kind: 'drop-response' }] });
    const retry = await refresh();
    expect(retry.status).toBe(200);
    expect(retry.body.access_token).toBeTruthy();
  });

  it('timeout: the request is held without an answer until the client gives up', async () => {
    const c = await connect(sandbox.url);
    const id = await inject({ kind: 'timeout', realmId: c.realmId, count: 1 });
    const err = await fetch(`${c.base}/companyinfo/${c.realmId}`, {
      headers: { authorization: `Bearer ${c.accessToken}` },
      signal: AbortSignal.timeout(400),
    }).catch((e: Error) => e);
    expect((err as Error).name).toBe('TimeoutError');
    expect((await control('GET', `/_sandbox/faults/${id}`)).body).toMatchObject({ hits: 1 });
    await expect
      .poll(async () => {
        const j = await control('GET', `/_sandbox/requests?realmId=${c.realmId}`);
        return j.body.requests.at(-1)?.injectedFaults?.[0]?.kind;
      })
      .toBe('timeout');
    expect((await companyInfo(c)).status).toBe(200);
  });

  it('rules match by realm, path and probability, and can be listed and deleted', async () => {
    const c = await connect(sandbox.url);
    const other = await connect(sandbox.url);
    const never = await inject({ kind: 'error', realmId: c.realmId, path: '/nothing-like-this' });
    const always = await inject({ kind: 'error', realmId: c.realmId, probability: 1 });
    expect((await companyInfo(other)).status).toBe(200);
    expect((await companyInfo(c)).status).toBe(500);
    const list = await control('GET', '/_sandbox/faults');
    const mine = list.body.faults.filter((f: any) => f.realmId === c.realmId);
    expect(mine.map((f: any) => [f.id, f.hits])).toEqual([
      [never, 0],
      [always, 1],
    ]);
    expect((await control('DELETE', `/_sandbox/faults/${always}`)).status).toBe(204);
    expect((await companyInfo(c)).status).toBe(200);
    expect((await control('DELETE', `/_sandbox/faults/${always}`)).status).toBe(404);
    expect((await control('DELETE', '/_sandbox/faults')).status).toBe(204);
    expect((await control('GET', '/_sandbox/faults')).body.faults).toEqual([]);
  });

  it('bad rules are refused with a 400 that names the problem', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'kind is required: one of latency, error, outage, throttle, drop-response, timeout'],
      [
        { kind: 'explode' },
        'kind must be one of: latency, error, outage, throttle, drop-response, timeout',
      ],
      [{ kind: 'latency' }, 'latencyMs is required for kind "latency"'],
      [{ kind: 'error', probability: 0 }, 'probability must be greater than 0'],
      [{ kind: 'error', count: 1.5 }, 'count must be an integer'],
      [{ kind: 'error', pathRegex: '(' }, 'pathRegex is not a valid regular expression'],
      [
        { kind: 'error', surface: 'billing' },
        'surface must be one of: accounting, token, revoke, userinfo',
      ],
      [{ kind: 'throttle', status: 500 }, 'status applies only to kind "error" or "outage"'],
      [{ kind: 'error', realmid: '1' }, 'unknown field(s): realmid'],
    ];
    for (const [rule, message] of cases) {
      const res = await control('POST', '/_sandbox/faults', rule);
      expect(res.status, JSON.stringify(rule)).toBe(400);
      expect(res.body.error).toBe('invalid_request');
      expect(res.body.error_description).toContain(message);
    }
  });
});
