import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../src/index.ts';
import { connect, controlClient, type Connection } from './sandbox-clients.ts';

// Conformance with node-quickbooks 2.0.50 as an integration uses it: only the host changes.
const require = createRequire(import.meta.url);
const QuickBooks = require('node-quickbooks');

let sandbox: Sandbox;
let control: ReturnType<typeof controlClient>;

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
  control = controlClient(sandbox.url);
  QuickBooks.V3_ENDPOINT_BASE_URL = `${sandbox.url}/v3/company/`;
});
afterAll(() => sandbox.close());

function client(c: Connection): any {
  // oauthversion '2.0' through the constructor (never setOauthVersion, which fetches Intuit).
  return new QuickBooks(
    c.clientId,
    c.clientSecret,
    c.accessToken,
    false,
    c.realmId,
    true,
    false,
    75,
    '2.0',
    c.refreshToken,
  );
}

interface Outcome {
  err: any;
  body: any;
}
const batch = (qbo: any, items: unknown[]): Promise<Outcome> =>
  new Promise((resolve) => qbo.batch(items, (err: any, body: any) => resolve({ err, body })));

describe('node-quickbooks 2.0.50 batch()', () => {
  it('gets one BatchItemResponse per item, faults included, with no error for the call', async () => {
    const c = await connect(sandbox.url);
    const qbo = client(c);
    const { err, body } = await batch(qbo, [
      { bId: 'bid1', operation: 'create', Vendor: { DisplayName: 'Boraski Family Store' } },
      { bId: 'bid2', operation: 'delete', Invoice: { Id: '129', SyncToken: '0' } },
      { bId: 'bid3', Query: 'select * from Vendor' },
    ]);
    expect(err).toBeNull();
    const [vendor, missing, query] = body.BatchItemResponse;
    expect(vendor.Vendor.DisplayName).toBe('Boraski Family Store');
    expect(missing).toEqual({
      Fault: {
        Error: [
          {
            Message: 'Object Not Found',
            Detail:
              "Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.",
            code: '610',
            element: '',
          },
        ],
        type: 'ValidationFault',
      },
      bId: 'bid2',
    });
    expect(query.QueryResponse.Vendor.map((v: any) => v.Id)).toEqual([vendor.Vendor.Id]);
  });

  it('gets an axios error carrying the 1040 fault when sending 31 items', async () => {
    const c = await connect(sandbox.url);
    const items = Array.from({ length: 31 }, (_, i) => ({
      bId: String(i),
      operation: 'create',
      Customer: { DisplayName: `Customer ${i}` },
    }));
    const { err, body } = await batch(client(c), items);
    expect(err.isAxiosError).toBe(true);
    expect(err.response.status).toBe(400);
    expect(body.Fault.Error[0].code).toBe('1040');
    expect(body.Fault.type).toBe('ValidationFault');
  });

  it('sees the 41st batch call in a minute refused with 429 ThrottleExceeded, JSON or XML', async () => {
    const c = await connect(sandbox.url);
    const qbo = client(c);
    const query = [{ bId: 'q', Query: 'select * from Customer' }];
    for (let i = 0; i < 40; i++) {
      if (i % 10 === 0) await control('POST', '/_sandbox/clock', { advanceSeconds: 1 });
      const { err } = await batch(qbo, query);
      expect(err).toBeNull();
    }
    await control('POST', '/_sandbox/clock', { advanceSeconds: 1 });
    const json = await batch(qbo, query);
    expect(json.err.response.status).toBe(429);
    expect(json.body.Fault.Error[0]).toMatchObject({
      code: '3001',
      Message: 'message=ThrottleExceeded; errorCode=003001; statusCode=429',
    });

    await control('POST', '/_sandbox/clock', { advanceSeconds: 61 });
    await control('POST', '/_sandbox/faults', {
      kind: 'throttle',
      format: 'xml',
      realmId: c.realmId,
      count: 1,
    });
    const xml = await batch(qbo, query);
    expect(xml.err.response.status).toBe(429);
    expect(typeof xml.body).toBe('string');
    expect(xml.body).toContain('<Error code="3001">');
    const stats = await control(
      'GET',
      `/_sandbox/stats?realmId=${c.realmId}&clientId=${c.clientId}`,
    );
    expect(stats.body.throttledBy).toMatchObject({ batchPerMinute: 1, injected: 1 });
  });
});
