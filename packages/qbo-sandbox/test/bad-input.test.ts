import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from './helpers.ts';
import { startReceiver } from './webhooks-receiver.ts';

/**
 * Hostile input to every endpoint: whatever arrives, the sandbox answers as QBO would — a
 * 4xx in the endpoint's own dialect (a QBO Fault on the Accounting API, an OAuth error on
 * the OAuth endpoints, a 400 naming the field on the control API) — never a 5xx or a crash.
 */

const BODIES: { name: string; body: string | undefined; contentType?: string }[] = [
  { name: 'no body', body: undefined },
  { name: 'empty JSON body', body: '', contentType: 'application/json' },
  { name: 'malformed JSON', body: '{"DisplayName": ', contentType: 'application/json' },
  { name: 'JSON array', body: '[1,2,3]', contentType: 'application/json' },
  { name: 'JSON string', body: '"hello"', contentType: 'application/json' },
  { name: 'JSON null', body: 'null', contentType: 'application/json' },
  {
    name: 'deeply wrong types',
    body: '{"Id":{"x":1},"SyncToken":[],"Line":"x","CustomerRef":5,"DisplayName":7}',
    contentType: 'application/json',
  },
  {
    name: 'huge number',
    body: '{"Amount":1e309,"TotalAmt":-1e400}',
    contentType: 'application/json',
  },
  { name: 'form body', body: 'a=1&b=%ZZ', contentType: 'application/x-www-form-urlencoded' },
  {
    name: 'xml body',
    body: '<Customer><DisplayName>x</DisplayName></Customer>',
    contentType: 'application/xml',
  },
  {
    name: 'binary noise',
    body: '\u0000\u0001\uFFFD\uD800',
    contentType: 'application/octet-stream',
  },
];

const ACCOUNTING = (realm: string): [string, string][] => [
  ['GET', `/v3/company/${realm}/customer/1`],
  ['GET', `/v3/company/${realm}/customer/-1`],
  ['GET', `/v3/company/${realm}/customer/99999999999999999999999`],
  ['GET', `/v3/company/${realm}/customer/%E0%A4%A`],
  ['GET', `/v3/company/${realm}/nosuchentity/1`],
  ['GET', `/v3/company/${realm}/invoice`],
  ['POST', `/v3/company/${realm}/customer`],
  ['POST', `/v3/company/${realm}/invoice`],
  ['POST', `/v3/company/${realm}/invoice?operation=delete`],
  ['POST', `/v3/company/${realm}/invoice?operation=void`],
  ['POST', `/v3/company/${realm}/payment?operation=update&include=void`],
  ['POST', `/v3/company/${realm}/customer?operation=explode`],
  ['POST', `/v3/company/${realm}/customer?requestid=${'x'.repeat(80)}`],
  ['POST', `/v3/company/${realm}/preferences`],
  ['GET', `/v3/company/${realm}/query`],
  ['GET', `/v3/company/${realm}/query?query=`],
  ['GET', `/v3/company/${realm}/query?query=select%20*%20from`],
  ['GET', `/v3/company/${realm}/query?query=select%20*%20from%20Customer%20maxresults%20-5`],
  ['POST', `/v3/company/${realm}/query`],
  ['GET', `/v3/company/${realm}/cdc`],
  ['GET', `/v3/company/${realm}/cdc?entities=Customer&changedSince=yesterday`],
  ['GET', `/v3/company/${realm}/cdc?entities=Nope&changedSince=2026-01-01`],
  ['POST', `/v3/company/${realm}/batch`],
  ['GET', `/v3/company/${realm}/batch`],
  ['DELETE', `/v3/company/${realm}/customer/1`],
  ['GET', `/v3/company/${realm}/customer/1/5`],
];

// Odd but valid, so answered like any request: QBO ignores a minorversion it does not use
// (docs/qbo-facts.md), and a number compared with a non-numeric string matches nothing
// (docs/query.md, typed comparisons).
const TOLERATED = (realm: string): [string, string][] => [
  ['GET', `/v3/company/${realm}/companyinfo/${realm}?minorversion=abc`],
  [
    'GET',
    `/v3/company/${realm}/query?query=select%20*%20from%20Invoice%20where%20TotalAmt%20%3E%20'abc'`,
  ],
];

const OAUTH: [string, string][] = [
  ['GET', '/connect/oauth2'],
  ['GET', '/connect/oauth2?client_id=nope&response_type=token&redirect_uri=javascript:alert(1)'],
  ['POST', '/connect/oauth2'],
  ['POST', '/oauth2/v1/tokens/bearer'],
  ['POST', '/v2/oauth2/tokens/revoke'],
  ['GET', '/v1/openid_connect/userinfo'],
];

// Routes whose fields are all optional: an empty body is a valid request there.
const EMPTY_IS_VALID = new Set(['POST /_sandbox/companies', 'PATCH /_sandbox/limits']);
const CONTROL: [string, string][] = [
  ['POST', '/_sandbox/companies'],
  ['POST', '/_sandbox/apps'],
  ['PATCH', '/_sandbox/apps/nope'],
  ['POST', '/_sandbox/clock'],
  ['POST', '/_sandbox/faults'],
  ['DELETE', '/_sandbox/faults/nope'],
  ['PATCH', '/_sandbox/limits'],
  ['GET', '/_sandbox/requests?limit=-3&since=abc'],
  ['POST', '/_sandbox/tokens'],
  ['POST', '/_sandbox/tokens/expire'],
  ['POST', '/_sandbox/tokens/revoke'],
  ['POST', '/_sandbox/seed'],
  ['POST', '/_sandbox/companies/nope/seed'],
  ['POST', '/_sandbox/companies/nope/entities/customer'],
  ['POST', '/_sandbox/snapshot/load'],
  ['POST', '/_sandbox/webhooks/failures'],
  ['PATCH', '/_sandbox/webhooks/options'],
  ['POST', '/_sandbox/webhooks/notify'],
  ['GET', '/_sandbox/webhooks/deliveries?limit=abc'],
];

let t: TestSandbox;
beforeAll(async () => {
  t = await startTestSandbox({ config: { limits: { enabled: false } } });
});
afterAll(async () => t.close());

async function send(method: string, path: string, body: string | undefined, contentType?: string) {
  const headers: Record<string, string> = {
    authorization: `Bearer ${t.accessToken}`,
    accept: 'application/json',
  };
  if (contentType) headers['content-type'] = contentType;
  const res = await fetch(`${t.sandbox.url}${path}`, {
    method,
    headers,
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
  });
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    text: await res.text(),
  };
}

describe('hostile input never crashes the sandbox', () => {
  it('the Accounting API answers every malformed request with a QBO Fault: a 4xx, never a 2xx or a 5xx', async () => {
    const failures: string[] = [];
    for (const [method, path] of ACCOUNTING(t.realmId))
      for (const b of BODIES) {
        const r = await send(method, path, b.body, b.contentType);
        const where = `${method} ${path} (${b.name}) → ${r.status}`;
        if (r.status >= 500 || r.status < 400) {
          failures.push(`${where}: ${r.text.slice(0, 200)}`);
          continue;
        }
        let parsed: any;
        try {
          parsed = JSON.parse(r.text);
        } catch {
          failures.push(`${where}: not JSON: ${r.text.slice(0, 120)}`);
          continue;
        }
        const errors = parsed?.Fault?.Error;
        if (
          !Array.isArray(errors) ||
          !errors.every((e: any) => typeof e.code === 'string' && e.Message)
        )
          failures.push(`${where}: no QBO Fault envelope: ${r.text.slice(0, 160)}`);
      }
    expect(failures).toEqual([]);
  });

  it('odd but valid Accounting API requests are answered, not refused', async () => {
    const failures: string[] = [];
    for (const [method, path] of TOLERATED(t.realmId))
      for (const b of BODIES) {
        const r = await send(method, path, b.body, b.contentType);
        if (r.status !== 200)
          failures.push(`${method} ${path} (${b.name}) → ${r.status}: ${r.text.slice(0, 160)}`);
      }
    expect(failures).toEqual([]);
  });

  it('the OAuth endpoints answer malformed requests with 4xx OAuth errors or an error page', async () => {
    const failures: string[] = [];
    for (const [method, path] of OAUTH)
      for (const b of BODIES) {
        const r = await send(method, path, b.body, b.contentType);
        if (r.status >= 500 || r.status < 400)
          failures.push(`${method} ${path} (${b.name}) → ${r.status}: ${r.text.slice(0, 160)}`);
      }
    expect(failures).toEqual([]);
  });

  it('the control API answers malformed requests with a 4xx that says what is wrong', async () => {
    const failures: string[] = [];
    for (const [method, path] of CONTROL)
      for (const b of BODIES) {
        if (EMPTY_IS_VALID.has(`${method} ${path}`) && (b.body === undefined || b.body === ''))
          continue;
        const r = await send(method, path, b.body, b.contentType);
        const where = `${method} ${path} (${b.name}) → ${r.status}`;
        if (r.status >= 500 || r.status < 400) {
          failures.push(`${where}: ${r.text.slice(0, 160)}`);
          continue;
        }
        if (!/\w{4,}/.test(r.text)) failures.push(`${where}: no message`);
      }
    expect(failures).toEqual([]);
  });

  it('after all of it the sandbox still serves normal requests', async () => {
    const created = await t.api('/customer', { body: { DisplayName: 'Still Standing Ltd' } });
    expect(created.status).toBe(200);
    const read = await t.api(`/customer/${created.body.Customer.Id}`);
    expect(read.body.Customer.DisplayName).toBe('Still Standing Ltd');
  });
});

describe('an edit made "in QuickBooks" reaches the app', () => {
  it('a change through the control API is delivered to the connected app as a signed webhook', async () => {
    const receiver = await startReceiver();
    const s = await startTestSandbox({ config: { webhooks: { batchDelayMs: 10 } } });
    try {
      const patch = await fetch(`${s.sandbox.url}/_sandbox/apps/${s.app.clientId}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ webhookUrl: receiver.url }),
      });
      expect(patch.status).toBe(200);
      const edit = await fetch(
        `${s.sandbox.url}/_sandbox/companies/${s.realmId}/entities/customer`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            operation: 'create',
            body: { DisplayName: 'Edited In QuickBooks' },
          }),
        },
      );
      expect(edit.status).toBe(200);
      const id = ((await edit.json()) as any).Customer.Id as string;
      const [hit] = await receiver.waitFor(1);
      const expected = createHmac('sha256', s.app.verifierToken).update(hit!.body).digest('base64');
      expect(hit!.headers['intuit-signature']).toBe(expected);
      const payload = JSON.parse(hit!.body);
      expect(payload.eventNotifications[0].realmId).toBe(s.realmId);
      expect(payload.eventNotifications[0].dataChangeEvent.entities).toContainEqual(
        expect.objectContaining({ name: 'Customer', id, operation: 'Create' }),
      );
    } finally {
      await s.close();
      await receiver.close();
    }
  });
});
