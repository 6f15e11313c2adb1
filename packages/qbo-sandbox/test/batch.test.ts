import { describe, expect, it } from 'vitest';
import { recordingJson } from './recordings.ts';
import { connect, type Connection, useSandbox } from './sandbox-clients.ts';

const recorded = recordingJson<{
  request: { body: any };
  response: { status: number; headers: any; body: any };
}>('qbo_api/batch/basic.json');
const recordedItems = recorded.response.body.BatchItemResponse as any[];

const sandbox = useSandbox();
const { control } = sandbox;

const counts = async (c: Connection): Promise<Record<string, number>> =>
  (await control('GET', `/_sandbox/companies/${c.realmId}`)).body.counts;

async function invoiceFixture(c: Connection) {
  const customer = await c.api('/customer', { body: { DisplayName: 'Dylan Sollfrank' } });
  const account = await c.api('/account', {
    body: { Name: 'Design income', AccountType: 'Income' },
  });
  const item = await c.api('/item', {
    body: { Name: 'Design', Type: 'Service', IncomeAccountRef: { value: account.body.Account.Id } },
  });
  const created = await c.api('/invoice', {
    body: {
      CustomerRef: { value: customer.body.Customer.Id },
      Line: [
        {
          Amount: 337.5,
          DetailType: 'SalesItemLineDetail',
          SalesItemLineDetail: { ItemRef: { value: item.body.Item.Id } },
        },
      ],
    },
  });
  expect(created.status).toBe(200);
  return created.body.Invoice;
}

describe('POST /batch', () => {
  it('answers the recorded batch/basic request item by item: an entity, a 610 and a 5010 fault, a query', async () => {
    const c = await connect(sandbox.url);
    const invoice = await invoiceFixture(c);
    // Someone else changed the invoice, so SyncToken 0 is stale (the recording's bid3).
    const changed = await c.api('/invoice', {
      body: { Id: invoice.Id, SyncToken: invoice.SyncToken, sparse: true, PrivateNote: 'edited' },
    });
    expect(changed.status).toBe(200);

    const [bid1, bid2, , bid4] = recorded.request.body.BatchItemRequest;
    const res = await c.api('/batch?minorversion=75', {
      body: {
        BatchItemRequest: [
          bid1, // create Vendor "Boraski Family Store"
          bid2, // delete Invoice 129, which does not exist
          {
            bId: 'bid3',
            operation: 'update',
            Invoice: {
              sparse: true,
              Id: invoice.Id,
              SyncToken: '0',
              PrivateNote: 'A private note.',
            },
          },
          { ...bid4, Query: "select * from Vendor where DisplayName = 'Boraski Family Store'" },
        ],
      },
    });
    expect(res.status).toBe(recorded.response.status);
    expect(res.headers.get('content-type')).toBe(recorded.response.headers['content-type']);
    expect(res.headers.get('qbo-version')).toBeTruthy();
    expect(Object.keys(res.body)).toEqual(['BatchItemResponse', 'time']);
    const items = res.body.BatchItemResponse;
    expect(items.map((i: any) => i.bId)).toEqual(['bid1', 'bid2', 'bid3', 'bid4']);

    expect(Object.keys(items[0])).toEqual(Object.keys(recordedItems[0])); // ["Vendor","bId"]
    expect(items[0].Vendor).toMatchObject({
      DisplayName: 'Boraski Family Store',
      domain: 'QBO',
      sparse: false,
      SyncToken: '0',
      Active: true,
    });
    expect(items[1]).toEqual(recordedItems[1]);
    const stale = items[2].Fault;
    const recordedStale = recordedItems[2].Fault;
    expect(stale.type).toBe(recordedStale.type);
    expect(stale.Error.map((e: any) => [e.Message, e.code, e.element])).toEqual(
      recordedStale.Error.map((e: any) => [e.Message, e.code, e.element]),
    );
    expect(items[3].QueryResponse).toMatchObject({ startPosition: 1, maxResults: 1 });
    expect(items[3].QueryResponse.Vendor[0].Id).toBe(items[0].Vendor.Id);

    const after = await c.api(`/invoice/${invoice.Id}`);
    expect(after.body.Invoice.PrivateNote).toBe('edited');
  });

  it('runs 30 items in order and refuses 31 as a whole with fault 1040, performing none', async () => {
    const c = await connect(sandbox.url);
    const items = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => ({
        bId: `${prefix}${i}`,
        operation: 'create',
        Customer: { DisplayName: `${prefix} customer ${i}` },
      }));
    const ok = await c.api('/batch', { body: { BatchItemRequest: items(30, 'a') } });
    expect(ok.status).toBe(200);
    expect(ok.body.BatchItemResponse.map((i: any) => i.Customer.DisplayName)).toEqual(
      items(30, 'a').map((i) => i.Customer.DisplayName),
    );
    const ids = ok.body.BatchItemResponse.map((i: any) => Number(i.Customer.Id));
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);

    const before = (await counts(c)).Customer;
    const tooMany = await c.api('/batch', { body: { BatchItemRequest: items(31, 'b') } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.headers.get('content-type')).toBe('application/json');
    expect(tooMany.body.Fault.type).toBe('ValidationFault');
    expect(tooMany.body.Fault.Error[0]).toMatchObject({
      Message: 'Batch size exceeds allowed limit',
      code: '1040',
    });
    expect((await counts(c)).Customer).toBe(before);
  });

  it('answers an unknown operation or a missing entity in its own item and still runs the others', async () => {
    const c = await connect(sandbox.url);
    const res = await c.api('/batch', {
      body: {
        BatchItemRequest: [
          { bId: '1', operation: 'merge', Customer: { DisplayName: 'Merged' } },
          { bId: '2', operation: 'create' },
          { bId: '3', operation: 'create', Customer: { DisplayName: 'Still Created' } },
          { bId: '4', Query: 'select * from Nothing' },
        ],
      },
    });
    expect(res.status).toBe(200);
    const [merge, empty, created, badQuery] = res.body.BatchItemResponse;
    expect(merge.Fault.Error[0]).toMatchObject({ Message: 'Unsupported Operation', code: '500' });
    expect(empty.Fault.Error[0].code).toBe('2020');
    expect(created.Customer.DisplayName).toBe('Still Created');
    expect(badQuery.Fault.type).toBe('ValidationFault');
    expect(badQuery.Fault.Error[0].code).toMatch(/^400[0-9]$/);
  });

  it('refuses a whole batch whose bIds are missing or repeated, performing nothing', async () => {
    const c = await connect(sandbox.url);
    const before = (await counts(c)).Customer;
    const missing = await c.api('/batch', {
      body: { BatchItemRequest: [{ operation: 'create', Customer: { DisplayName: 'No bId' } }] },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.Fault.Error[0]).toMatchObject({ code: '2020', element: 'bId' });
    const repeated = await c.api('/batch', {
      body: {
        BatchItemRequest: [
          { bId: 'x', operation: 'create', Customer: { DisplayName: 'First x' } },
          { bId: 'x', operation: 'create', Customer: { DisplayName: 'Second x' } },
        ],
      },
    });
    expect(repeated.status).toBe(400);
    expect(repeated.body.Fault.Error[0].Detail).toContain('bId "x"');
    const malformed = await c.api('/batch', { body: '{"BatchItemRequest": [' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.Fault.Error[0].code).toBe('2010');
    expect((await counts(c)).Customer).toBe(before);
  });

  it('a batch repeated with the same requestid replays the whole response without redoing the items', async () => {
    const c = await connect(sandbox.url);
    const body = {
      BatchItemRequest: [
        { bId: 'c1', operation: 'create', Customer: { DisplayName: 'Replay One' } },
        { bId: 'c2', operation: 'create', Customer: { DisplayName: 'Replay One' } }, // 6240
      ],
    };
    const first = await c.api('/batch?requestid=8f0e0c1e-batch-1', { body });
    expect(first.body.BatchItemResponse[1].Fault.Error[0].code).toBe('6240');
    const before = (await counts(c)).Customer;
    const second = await c.api('/batch?requestid=8f0e0c1e-batch-1', { body });
    expect(second.status).toBe(200);
    expect(second.body.BatchItemResponse).toEqual(first.body.BatchItemResponse);
    expect((await counts(c)).Customer).toBe(before);
  });

  it('with a requestid, each item whose requestid + bId exceeds 50 characters gets fault 6000 (Java SDK issue #180)', async () => {
    const c = await connect(sandbox.url);
    const requestId = '86e1e8438fd9413587c2bd17f4185b13'; // 32 characters, as in the issue
    const longBId = '6f1c3c4e-2a5b-4c59-9d8e-0f1a2b3c4d5e'; // 36: 68 together
    const res = await c.api(`/batch?requestid=${requestId}`, {
      body: {
        BatchItemRequest: [
          { bId: longBId, operation: 'create', Customer: { DisplayName: 'Long bId' } },
          { bId: 'short', operation: 'create', Customer: { DisplayName: 'Short bId' } },
        ],
      },
    });
    expect(res.status).toBe(200);
    const [long, short] = res.body.BatchItemResponse;
    expect(long.Fault.Error[0]).toEqual({
      Message: 'A business validation error has occurred while processing your request',
      Detail:
        'Business Validation Error: You cannot enter more than 50 characters in the request_id field. You tried entering 86e1e8438f..., which is 68 characters.',
      code: '6000',
    });
    expect(short.Customer.DisplayName).toBe('Short bId');
  });
});
