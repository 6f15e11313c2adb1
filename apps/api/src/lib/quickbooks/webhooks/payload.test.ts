import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDelivery, summarise } from './payload.ts';

const fixture = (name: string) =>
  JSON.parse(
    fs.readFileSync(
      new URL(
        `../../../../../../fixtures/qbo-recordings/intuit-dotnet-sdk/webhooks/${name}`,
        import.meta.url,
      ),
      'utf8',
    ),
  ) as { payload_raw: string };

describe('webhook payloads', () => {
  it('reads Intuit’s legacy eventNotifications sample', () => {
    const p = parseDelivery(JSON.parse(fixture('eventNotifications_parse.json').payload_raw));
    expect(p.format).toBe('legacy');
    expect(p.changes).toEqual([
      {
        realmId: '1269959970',
        entity: 'Vendor',
        id: '40',
        operation: 'Update',
        lastUpdatedMs: Date.parse('2016-10-05T03:09:04.000Z'),
      },
      {
        realmId: '1269959970',
        entity: 'Customer',
        id: '43',
        operation: 'Create',
        lastUpdatedMs: Date.parse('2016-10-05T03:07:04.000Z'),
      },
    ]);
  });

  it('reads Intuit’s CloudEvents sample, nanosecond time and extra data included', () => {
    const p = parseDelivery(JSON.parse(fixture('cloudevents_parse.json').payload_raw));
    expect(p.format).toBe('cloudevents');
    expect(p.changes).toEqual([
      {
        realmId: '310687',
        entity: 'Class',
        id: '1234',
        operation: 'Create',
        lastUpdatedMs: Date.parse('2025-10-07T19:59:07.034Z'),
      },
    ]);
  });

  it('keeps a CloudEvents array’s realms apart and reads a merge’s loser', () => {
    const p = parseDelivery([
      {
        type: 'qbo.customer.merged.v1',
        intuitentityid: '5',
        intuitaccountid: 'r1',
        data: { deletedid: '9' },
      },
      {
        type: 'qbo.invoice.voided.v1',
        intuitentityid: '7',
        intuitaccountid: 'r2',
        time: 'not a time',
      },
    ]);
    expect(p.changes).toEqual([
      {
        realmId: 'r1',
        entity: 'Customer',
        id: '5',
        operation: 'Merge',
        lastUpdatedMs: null,
        deletedId: '9',
      },
      { realmId: 'r2', entity: 'Invoice', id: '7', operation: 'Void', lastUpdatedMs: null },
    ]);
    expect(summarise(p)).toEqual({
      realmIds: ['r1', 'r2'],
      entities: ['Customer', 'Invoice'],
      operations: ['Merge', 'Void'],
    });
  });

  it('tolerates unknown fields, operations and entities instead of refusing the delivery', () => {
    const p = parseDelivery({
      eventNotifications: [
        {
          realmId: 'r1',
          newTopLevelThing: { x: 1 },
          dataChangeEvent: {
            entities: [
              {
                name: 'Gizmo',
                id: '1',
                operation: 'Archived',
                lastUpdated: '2026-01-01T00:00:00Z',
                deleted: true,
              },
              { name: 'customer', id: 2, operation: 'Update' },
              { name: 'Customer', operation: 'Update' },
              'junk',
            ],
          },
        },
        { realmId: 'r2' },
      ],
    });
    expect(p.changes.map((c) => [c.entity, c.id, c.operation])).toEqual([
      ['Gizmo', '1', 'Archived'],
      ['Customer', '2', 'Update'],
    ]);
    expect(p.unreadable).toBe(3);
  });

  it('says when a body is neither format', () => {
    expect(parseDelivery({ hello: 'world' }).format).toBeNull();
    expect(parseDelivery('text').format).toBeNull();
    expect(parseDelivery(null).format).toBeNull();
  });
});
