import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from './helpers.ts';
import { startReceiver, sleep } from './webhooks-receiver.ts';
import { issueTokens } from '../src/oauth/tokens.ts';
import type { Company, EntityName, QboObject } from '../src/core/company.ts';
import type { DeepPartial, SandboxConfig } from '../src/config.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Intuit's check, written independently of the sandbox's signer. */
const hmac = (body: string, token: string) =>
  createHmac('sha256', token).update(body).digest('base64');

function obj(company: Company, id: string, extra: Record<string, unknown> = {}): QboObject {
  const now = company.formatTime(Date.now());
  return {
    Id: id,
    SyncToken: '0',
    domain: 'QBO',
    sparse: false,
    MetaData: { CreateTime: now, LastUpdatedTime: now },
    ...extra,
  };
}

function change(
  t: TestSandbox,
  entity: EntityName,
  id: string,
  op: 'Create' | 'Update' | 'Void' = 'Create',
  company: Company = t.company,
) {
  company.put(
    entity,
    obj(company, id, { DisplayName: `${entity} ${id}` }),
    t.sandbox.state.clock.now(),
    op,
  );
}

async function setup(
  webhooks: DeepPartial<SandboxConfig['webhooks']> = {},
  respond?: Parameters<typeof startReceiver>[0],
) {
  const t = await startTestSandbox({
    config: { webhooks: { batchDelayMs: 40, retryScale: 0.001, ...webhooks } },
  });
  const rx = await startReceiver(respond);
  cleanups.push(
    () => rx.close(),
    () => t.close(),
  );
  t.app.webhookUrl = rx.url;
  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${t.sandbox.url}/_sandbox/webhooks${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  return { t, rx, control };
}

/** Connects another app to a company, as the OAuth flow would. */
function connect(t: TestSandbox, clientId: string, realmId: string) {
  return issueTokens(
    { state: t.sandbox.state, config: t.sandbox.config },
    { clientId, realmId, scopes: ['com.intuit.quickbooks.accounting'] },
  );
}

describe('webhook delivery', () => {
  it('changes made within the batch window arrive as one legacy notification signed with the verifier token', async () => {
    const { t, rx } = await setup({ batchDelayMs: 80 });
    change(t, 'Customer', '1', 'Create');
    change(t, 'Customer', '1', 'Update');
    change(t, 'Vendor', '7', 'Create');
    const [hit] = await rx.waitFor(1);
    await sleep(200);
    expect(rx.hits).toHaveLength(1);

    expect(hit!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(hit!.headers['intuit-signature']).toBe(hmac(hit!.body, t.app.verifierToken));
    expect(hit!.headers['intuit-t-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(hit!.headers['intuit-created-time']).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$/,
    );

    const payload = JSON.parse(hit!.body);
    expect(Object.keys(payload)).toEqual(['eventNotifications']);
    expect(payload.eventNotifications).toHaveLength(1);
    const [note] = payload.eventNotifications;
    expect(note.realmId).toBe(t.realmId);
    expect(note.dataChangeEvent.entities.map((e: any) => [e.name, e.id, e.operation])).toEqual([
      ['Customer', '1', 'Create'],
      ['Customer', '1', 'Update'],
      ['Vendor', '7', 'Create'],
    ]);
    for (const e of note.dataChangeEvent.entities) {
      expect(Object.keys(e)).toEqual(['name', 'id', 'operation', 'lastUpdated']);
      expect(e.lastUpdated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
  });

  it('a legacy notification groups changes of several connected companies by realm', async () => {
    const { t, rx } = await setup();
    const second = t.sandbox.addCompany({ companyName: 'Second Co' });
    connect(t, t.app.clientId, second.realmId);
    change(t, 'Invoice', '5', 'Create', second);
    change(t, 'Customer', '2', 'Update');
    change(t, 'Invoice', '6', 'Void', second);
    const [hit] = await rx.waitFor(1);
    const notes = JSON.parse(hit!.body).eventNotifications;
    expect(notes.map((n: any) => n.realmId)).toEqual([second.realmId, t.realmId]);
    expect(notes[0].dataChangeEvent.entities.map((e: any) => `${e.id}:${e.operation}`)).toEqual([
      '5:Create',
      '6:Void',
    ]);
  });

  it('a CloudEvents app receives one event per change in an array that mixes realms', async () => {
    const { t, rx } = await setup();
    t.app.webhookFormat = 'cloudevents';
    const second = t.sandbox.addCompany({ companyName: 'Second Co' });
    connect(t, t.app.clientId, second.realmId);
    change(t, 'Customer', '3', 'Create');
    change(t, 'Invoice', '9', 'Void', second);
    change(t, 'Customer', '3', 'Update');
    const [hit] = await rx.waitFor(1);
    expect(hit!.headers['intuit-signature']).toBe(hmac(hit!.body, t.app.verifierToken));
    expect(hit!.headers['content-type']).toBe('application/json; charset=utf-8');
    const events = JSON.parse(hit!.body);
    expect(Array.isArray(events)).toBe(true);
    expect(events.map((e: any) => [e.type, e.intuitentityid, e.intuitaccountid])).toEqual([
      ['qbo.customer.created.v1', '3', t.realmId],
      ['qbo.invoice.voided.v1', '9', second.realmId],
      ['qbo.customer.updated.v1', '3', t.realmId],
    ]);
    for (const e of events) {
      // Field set and order of the blog 2025-11-12 sample.
      expect(Object.keys(e)).toEqual([
        'specversion',
        'id',
        'source',
        'type',
        'datacontenttype',
        'time',
        'intuitentityid',
        'intuitaccountid',
        'data',
      ]);
      expect(e.specversion).toBe('1.0');
      expect(e.datacontenttype).toBe('application/json');
      expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(e.source).toMatch(/^intuit\.[A-Za-z0-9+/]{43}=$/);
      expect(Date.parse(e.time)).not.toBeNaN();
      expect(e.data).toEqual({});
    }
    expect(new Set(events.map((e: any) => e.id)).size).toBe(3);
  });

  it('entities QuickBooks sends no webhooks for, and seeding without an operation, notify nobody', async () => {
    const { t, rx, control } = await setup();
    t.company.put('CompanyInfo', obj(t.company, '1'), Date.now(), 'Update');
    t.company.put('TaxCode', obj(t.company, '2'), Date.now(), 'Create');
    t.company.put('Customer', obj(t.company, '3'), Date.now(), null);
    change(t, 'Item', '4');
    await control('POST', '/flush');
    expect(rx.hits).toHaveLength(1);
    const entities = JSON.parse(rx.hits[0]!.body).eventNotifications[0].dataChangeEvent.entities;
    expect(entities.map((e: any) => e.name)).toEqual(['Item']);
  });

  it('a disconnected (revoked) app and an app without that company get nothing; the connected one does', async () => {
    const { t, rx, control } = await setup();
    const other = await startReceiver();
    const stranger = await startReceiver();
    cleanups.push(
      () => other.close(),
      () => stranger.close(),
    );
    const revoked = t.sandbox.registerApp({ redirectUris: ['http://x/cb'], webhookUrl: other.url });
    const tokens = connect(t, revoked.clientId, t.realmId);
    tokens.refresh.revoked = true;
    const elsewhere = t.sandbox.addCompany({ companyName: 'Elsewhere' });
    const notHere = t.sandbox.registerApp({
      redirectUris: ['http://x/cb'],
      webhookUrl: stranger.url,
    });
    connect(t, notHere.clientId, elsewhere.realmId);

    change(t, 'Customer', '1');
    await control('POST', '/flush');
    await sleep(100);
    expect(rx.hits).toHaveLength(1);
    expect(other.hits).toHaveLength(0);
    expect(stranger.hits).toHaveLength(0);
  });

  it('an app whose grant has passed its 5-year hard expiry is no longer notified', async () => {
    const { t, rx, control } = await setup();
    t.sandbox.state.clock.advance(5 * 366 * 24 * 3600 * 1000);
    change(t, 'Customer', '1');
    await control('POST', '/flush');
    expect(rx.hits).toHaveLength(0);
  });

  it('an app subscribed only to Invoice is not told about Customer changes', async () => {
    const { t, rx, control } = await setup();
    t.app.webhookEntities = ['invoice'];
    change(t, 'Customer', '1');
    change(t, 'Invoice', '2');
    await control('POST', '/flush');
    expect(rx.hits).toHaveLength(1);
    const entities = JSON.parse(rx.hits[0]!.body).eventNotifications[0].dataChangeEvent.entities;
    expect(entities.map((e: any) => e.name)).toEqual(['Invoice']);
  });

  it('a receiver that answers 500 twice gets the same signed notification on the 3rd attempt, 10 s then 20 s later (scaled)', async () => {
    // retryScale 0.01: Intuit's 10 s and 20 s become 100 ms and 200 ms.
    const { t, rx, control } = await setup({ retryScale: 0.01 }, (n) => (n <= 2 ? 500 : 200));
    change(t, 'Customer', '1');
    const hits = await rx.waitFor(3);
    expect(hits[1]!.at - hits[0]!.at).toBeGreaterThanOrEqual(95);
    expect(hits[2]!.at - hits[1]!.at).toBeGreaterThanOrEqual(195);
    expect(hits[2]!.at - hits[1]!.at).toBeLessThan(2000);
    expect(new Set(hits.map((h) => h.body)).size).toBe(1);
    for (const h of hits)
      expect(h.headers['intuit-signature']).toBe(hmac(h.body, t.app.verifierToken));
    // Each attempt is its own request with its own trace id.
    expect(new Set(hits.map((h) => h.headers['intuit-t-id'])).size).toBe(3);
    await sleep(300);
    expect(rx.hits).toHaveLength(3);

    const { body } = await control('GET', `/deliveries?clientId=${t.app.clientId}`);
    expect(
      body.deliveries.map((d: any) => [d.attempt, d.status, d.result, d.nextAttemptInMs]),
    ).toEqual([
      [1, 500, 'retrying', 100],
      [2, 500, 'retrying', 200],
      [3, 200, 'delivered', null],
    ]);
    const first = body.deliveries[0];
    expect(first.url).toBe(rx.url);
    expect(first.payload).toBe(hits[0]!.body);
    expect(first.signature).toBe(hits[0]!.headers['intuit-signature']);
    expect(first.headers['intuit-t-id']).toBe(hits[0]!.headers['intuit-t-id']);
    expect(first.realmIds).toEqual([t.realmId]);
    expect(first.error).toBe('HTTP 500');
    expect(typeof first.latencyMs).toBe('number');
    expect(Date.parse(first.at)).not.toBeNaN();
  });

  it('later notifications wait until the failing one is acknowledged, then arrive in order', async () => {
    const { t, rx, control } = await setup({ retryScale: 0.05 }, (n) => (n === 1 ? 503 : 200));
    change(t, 'Customer', '1');
    await rx.waitFor(1);
    change(t, 'Customer', '2');
    await sleep(200); // the second batch is sealed while the first waits 500 ms to retry
    expect(rx.hits).toHaveLength(1);
    await rx.waitFor(3);
    const ids = rx.hits.map(
      (h) => JSON.parse(h.body).eventNotifications[0].dataChangeEvent.entities[0].id,
    );
    expect(ids).toEqual(['1', '1', '2']);
    const { body } = await control('GET', '/deliveries');
    expect(body.deliveries.map((d: any) => d.result)).toEqual([
      'retrying',
      'delivered',
      'delivered',
    ]);
  });

  it('a receiver slower than the timeout counts as a failure and is retried', async () => {
    const { t, rx, control } = await setup({ timeoutMs: 100, retryScale: 0.005 }, (n) =>
      n === 1 ? { status: 200, delayMs: 400 } : 200,
    );
    change(t, 'Customer', '1');
    await rx.waitFor(2);
    await sleep(50);
    const { body } = await control('GET', '/deliveries');
    expect(body.deliveries[0]).toMatchObject({
      attempt: 1,
      status: null,
      error: 'timeout after 100 ms',
      result: 'retrying',
    });
    expect(body.deliveries[0].latencyMs).toBeGreaterThanOrEqual(95);
    expect(body.deliveries[1]).toMatchObject({ attempt: 2, status: 200, result: 'delivered' });
  });

  it('an unreachable endpoint is retried and, after maxAttempts, dropped as failed', async () => {
    const { t, rx, control } = await setup({ maxAttempts: 3, retryScale: 0.001 });
    await rx.close();
    change(t, 'Customer', '1');
    const until = Date.now() + 3000;
    let deliveries: any[] = [];
    while (Date.now() < until) {
      deliveries = (await control('GET', '/deliveries')).body.deliveries;
      if (deliveries.length >= 3) break;
      await sleep(20);
    }
    await sleep(150);
    deliveries = (await control('GET', '/deliveries')).body.deliveries;
    expect(deliveries.map((d: any) => [d.attempt, d.result])).toEqual([
      [1, 'retrying'],
      [2, 'retrying'],
      [3, 'failed'],
    ]);
    expect(deliveries[0].error).toMatch(/ECONNREFUSED/);
    expect((await control('GET', '/pending')).body.pending).toEqual([]);
  });
});
