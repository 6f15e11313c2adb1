import { afterEach, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from './helpers.ts';
import type { EntityName, QboObject } from '../src/core/company.ts';
import type { StartSandboxOptions } from '../src/index.ts';
import { issueTokens } from '../src/oauth/tokens.ts';
import { load, recordedObjects, recording } from './query-recordings.ts';

const DAY = 86_400_000;
let t: TestSandbox;
afterEach(() => t.close());

async function start(opts: StartSandboxOptions = {}) {
  token = undefined;
  t = await startTestSandbox({ ...opts, config: { limits: { enabled: false }, ...opts.config } });
}

function put(entity: EntityName, id: string, fields: Record<string, unknown>, at: number): void {
  const meta = { CreateTime: t.company.formatTime(at), LastUpdatedTime: t.company.formatTime(at) };
  const obj = { Id: id, SyncToken: '0', domain: 'QBO', sparse: false, MetaData: meta, ...fields };
  t.company.put(entity, obj as QboObject, at, null);
}

const iso = (ms: number) => new Date(ms).toISOString();
let token: string | undefined;
function cdc(entities: string, since: string) {
  const path = `/cdc?entities=${entities}&changedSince=${encodeURIComponent(since)}&minorversion=75`;
  return t.api(path, token ? { token } : {});
}

describe('change data capture', () => {
  it('answers changed objects per entity, oldest first, {} for an entity without changes', async () => {
    await start();
    const now = t.sandbox.state.clock.now();
    put('Customer', '2', { DisplayName: 'B' }, now - 2000);
    put('Customer', '1', { DisplayName: 'A' }, now - 1000);
    put('Customer', '3', { DisplayName: 'Old' }, now - 10 * DAY);
    const res = await cdc('Customer,Invoice', iso(now - DAY));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json;charset=utf-8');
    const [first, ...others] = res.body.CDCResponse as unknown[];
    expect(others).toEqual([]);
    const qr = (first as { QueryResponse: Array<Record<string, unknown>> }).QueryResponse;
    expect(qr).toHaveLength(2);
    expect(qr[0]).toMatchObject({ startPosition: 1, maxResults: 2 });
    expect((qr[0]!.Customer as QboObject[]).map((c) => c.Id)).toEqual(['2', '1']);
    expect(qr[1]).toEqual({});
  });

  it('answers [{}] when nothing changed', async () => {
    await start();
    const res = await cdc('Invoice', iso(t.sandbox.state.clock.now() - DAY));
    expect(res.body.CDCResponse).toEqual([{ QueryResponse: [{}] }]);
  });

  it('includes inactive names, and deleted transactions as status Deleted stubs after the rest', async () => {
    await start();
    const now = t.sandbox.state.clock.now();
    put('Customer', '7', { DisplayName: 'Gone (deleted)', Active: false }, now - 5000);
    put('Invoice', '979', { TotalAmt: 5 }, now - 4000);
    put('Invoice', '980', { TotalAmt: 6 }, now - 3000);
    t.company.remove('Invoice', '979', now - 2000, null);
    const res = await cdc('invoice,customer', iso(now - DAY));
    const [inv, cust] = res.body.CDCResponse[0].QueryResponse;
    expect(cust.Customer.map((c: QboObject) => [c.Id, c.Active])).toEqual([['7', false]]);
    expect(inv.maxResults).toBe(2);
    expect(inv.Invoice[0].Id).toBe('980');
    expect(inv.Invoice[1]).toEqual({
      domain: 'QBO',
      status: 'Deleted',
      Id: '979',
      MetaData: { LastUpdatedTime: t.company.formatTime(now - 2000) },
    });
  });

  it('refuses a changedSince more than 30 days back', async () => {
    await start();
    const created = t.sandbox.state.clock.now();
    put('Invoice', '1', { TotalAmt: 5 }, created);
    t.sandbox.state.clock.advance(31 * DAY);
    // The first access token expired an hour in: connect again, as an app would.
    const ctx = { state: t.sandbox.state, config: t.sandbox.config };
    const scopes = ['com.intuit.quickbooks.accounting'];
    token = issueTokens(ctx, { clientId: t.app.clientId, realmId: t.realmId, scopes }).access.token;
    const old = await cdc('Invoice', iso(created - 1000));
    expect(old.status).toBe(400);
    expect(old.body.Fault.type).toBe('ValidationFault');
    expect(old.body.Fault.Error[0].Detail).toContain('older than fixed days is not supported');
    const recent = await cdc('Invoice', iso(created + 2 * DAY));
    expect(recent.status).toBe(200);
    expect(recent.body.CDCResponse).toEqual([{ QueryResponse: [{}] }]);
  });

  it('caps a response at 1,000 objects, keeping the oldest so the caller can continue', async () => {
    await start();
    const now = t.sandbox.state.clock.now();
    for (let i = 1; i <= 1200; i += 1)
      put('Invoice', String(i), { TotalAmt: i }, now - 2 * DAY + i * 1000);
    const res = await cdc('Invoice', iso(now - 3 * DAY));
    const invoices = res.body.CDCResponse[0].QueryResponse[0].Invoice as QboObject[];
    expect(invoices).toHaveLength(1000);
    expect(res.body.CDCResponse[0].QueryResponse[0].maxResults).toBe(1000);
    expect(invoices[0]!.Id).toBe('1');
    expect(invoices[999]!.Id).toBe('1000');
    const next = await cdc('Invoice', invoices[999]!.MetaData.LastUpdatedTime);
    const rest = next.body.CDCResponse[0].QueryResponse[0].Invoice as QboObject[];
    expect(rest.map((i) => i.Id)).toEqual(Array.from({ length: 201 }, (_, k) => String(1000 + k)));
  });

  it('honours a configured object cap', async () => {
    await start({ config: { cdc: { maxObjects: 3 } } });
    const now = t.sandbox.state.clock.now();
    for (let i = 1; i <= 5; i += 1)
      put('Customer', String(i), { DisplayName: `C${i}` }, now - i * 1000);
    const res = await cdc('Customer', iso(now - DAY));
    expect(res.body.CDCResponse[0].QueryResponse[0].Customer.map((c: QboObject) => c.Id)).toEqual([
      '5',
      '4',
      '3',
    ]);
  });

  it('answers missing or bad parameters with faults', async () => {
    await start();
    const since = iso(t.sandbox.state.clock.now() - DAY);
    const noEntities = await t.api(`/cdc?changedSince=${encodeURIComponent(since)}`);
    expect(noEntities.status).toBe(400);
    expect(noEntities.body.Fault.Error[0]).toMatchObject({ code: '2020', element: 'entities' });
    const noSince = await t.api('/cdc?entities=Invoice');
    expect(noSince.body.Fault.Error[0]).toMatchObject({ code: '2020', element: 'changedSince' });
    const badSince = await cdc('Invoice', 'last tuesday');
    expect(badSince.status).toBe(400);
    expect(badSince.body.Fault.Error[0].code).toBe('4001');
    const badEntity = await cdc('Invoice,Custmoer', since);
    expect(badEntity.body.Fault.Error[0].Detail).toBe(
      'QueryValidationError: invalid context declaration: Custmoer',
    );
  });

  it('answers in the recorded shape and order (cdc/basic, replayed on invoices)', async () => {
    // The recording asked back to 2011 and QBO answered: the window check is configurable.
    await start({ config: { cdc: { maxLookbackDays: 100_000 } } });
    const rec = recording('cdc/basic');
    const recorded = rec.response.body.CDCResponse[0].QueryResponse[0];
    load(t.company, 'Invoice', [...(recorded.Estimate as QboObject[])].reverse());
    const res = await cdc('invoice', '2011-10-10T09:00:00-07:00');
    const { Estimate, ...envelope } = recorded as Record<string, unknown>;
    expect(res.body.CDCResponse).toEqual([{ QueryResponse: [{ Invoice: Estimate, ...envelope }] }]);
    expect(recordedObjects('all/customers-2', 'Customer').length).toBeGreaterThan(0);
  });
});
