// POST /webhook and GET /webhook-events against the real service (PGlite; Postgres too when
// DATABASE_URL is set). Processing is covered by lib/quickbooks/webhooks/*.int.test.ts.
import { randomBytes } from 'node:crypto';
import { WebhookAck, WebhookEventsResponse } from '@qbo-sync/contract';
import { describe, expect, it } from 'vitest';
import { forEachService, type TestService } from '../../../test/service-harness.ts';
import { DEFAULT_INVALID_STORE_PER_MINUTE } from '../../lib/quickbooks/webhooks/webhook-receiver.ts';
import {
  legacy,
  postSigned as signed,
  postWebhook as post,
} from '../../../test/webhook-helpers.ts';

const realm = () => `wh${randomBytes(5).toString('hex')}`;

async function row(svc: TestService, id: string) {
  return svc.db
    .selectFrom('qbo_webhook_events')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

describe('POST /api/quickbooks/webhook', () => {
  forEachService((env) => {
    it('stores a signed legacy delivery as sent and acknowledges it', async () => {
      const r = realm();
      const body = legacy(r, [
        { name: 'Customer', id: '1', operation: 'Update', lastUpdated: '2026-03-01T10:00:00.000Z' },
        { name: 'Invoice', id: '2', operation: 'Void', lastUpdated: '2026-03-01T10:00:01.000Z' },
      ]);
      const res = await signed(env.svc, body, { 'intuit-t-id': 'tid-123' });
      expect(res.status).toBe(200);
      const ack = WebhookAck.parse(res.body);
      expect(ack.duplicate).toBe(false);
      const stored = await row(env.svc, ack.id);
      expect(stored).toMatchObject({
        raw_body: body,
        signature_valid: true,
        format: 'legacy',
        status: 'pending',
        realm_id: r,
        realm_ids: [r],
        entities: ['Customer', 'Invoice'],
        operations: ['Update', 'Void'],
        notification_count: 2,
        intuit_t_id: 'tid-123',
        deliveries: 1,
      });
    });

    it('counts a repeated delivery on the first row instead of storing it twice', async () => {
      const body = legacy(realm(), [{ name: 'Vendor', id: '9', operation: 'Create' }]);
      const first = WebhookAck.parse((await signed(env.svc, body)).body);
      const again = await signed(env.svc, body);
      expect(again.status).toBe(200);
      expect(WebhookAck.parse(again.body)).toEqual({
        received: true,
        id: first.id,
        duplicate: true,
      });
      expect((await row(env.svc, first.id)).deliveries).toBe(2);
    });

    it('a burst of deliveries is acknowledged post by post; copies in it count on one row', async () => {
      const r = realm();
      const bodies = Array.from({ length: 12 }, (_, i) =>
        legacy(r, [{ name: 'Customer', id: String(i + 1), operation: 'Update' }]),
      );
      const copied = bodies[0]!;
      const answers = await Promise.all([
        ...bodies.map((b) => signed(env.svc, b)),
        signed(env.svc, copied),
        signed(env.svc, copied),
        signed(env.svc, copied),
        post(env.svc, copied, { 'intuit-signature': 'forged' }),
      ]);
      expect(answers.map((a) => a.status)).toEqual([...Array(15).fill(200), 401]);
      const acks = answers.slice(0, 15).map((a) => WebhookAck.parse(a.body));
      const copies = [acks[0]!, ...acks.slice(12)];
      expect(new Set(copies.map((a) => a.id)).size).toBe(1);
      expect(copies.filter((a) => !a.duplicate)).toHaveLength(1);
      expect(new Set(acks.map((a) => a.id)).size).toBe(12);
      expect(acks.slice(1, 12).every((a) => !a.duplicate)).toBe(true);
      const rows = await env.svc.db
        .selectFrom('qbo_webhook_events')
        .select(['id', 'raw_body', 'deliveries', 'status'])
        .where('realm_id', '=', r)
        .execute();
      expect(rows.filter((x) => x.status === 'pending')).toHaveLength(12);
      expect(rows.find((x) => x.id === acks[0]!.id)!.deliveries).toBe(4);
      expect(rows.filter((x) => x.status === 'rejected').map((x) => x.raw_body)).toEqual([copied]);
    });

    it('stores a CloudEvents array that mixes realms, with every realm named', async () => {
      const [a, b] = [realm(), realm()];
      const body = JSON.stringify([
        {
          specversion: '1.0',
          id: 'e1',
          type: 'qbo.customer.updated.v1',
          intuitentityid: '3',
          intuitaccountid: a,
          data: {},
        },
        {
          specversion: '1.0',
          id: 'e2',
          type: 'qbo.payment.created.v1',
          intuitentityid: '4',
          intuitaccountid: b,
          data: {},
        },
      ]);
      const res = await signed(env.svc, body);
      expect(res.status).toBe(200);
      const stored = await row(env.svc, WebhookAck.parse(res.body).id);
      expect(stored).toMatchObject({
        format: 'cloudevents',
        realm_ids: [a, b],
        entities: ['Customer', 'Payment'],
        operations: ['Update', 'Create'],
        status: 'pending',
      });
    });

    it('accepts unknown fields, operations and entities in a signed delivery', async () => {
      const body = JSON.stringify({
        eventNotifications: [
          {
            realmId: realm(),
            brandNew: true,
            dataChangeEvent: {
              entities: [{ name: 'Gizmo', id: '1', operation: 'Archived', deleted: true }],
            },
          },
        ],
        alsoNew: [1, 2],
      });
      const res = await signed(env.svc, body);
      expect(res.status).toBe(200);
      const stored = await row(env.svc, WebhookAck.parse(res.body).id);
      expect(stored).toMatchObject({
        status: 'pending',
        entities: ['Gizmo'],
        operations: ['Archived'],
      });
    });

    it('acknowledges a signed body it cannot read, stored as skipped with the reason', async () => {
      const res = await signed(env.svc, JSON.stringify({ somethingElse: true }));
      expect(res.status).toBe(200);
      const stored = await row(env.svc, WebhookAck.parse(res.body).id);
      expect(stored.status).toBe('skipped');
      expect(stored.reason).toMatch(/neither an eventNotifications object nor a CloudEvents array/);
    });

    it('refuses a bad or missing signature with 401, storing the post as rejected', async () => {
      const r = realm();
      const body = legacy(r, [{ name: 'Customer', id: '1', operation: 'Delete' }]);
      const bad = await post(env.svc, body, { 'intuit-signature': 'AAAA' + 'A'.repeat(40) });
      expect(bad.status).toBe(401);
      expect(bad.body.error.code).toBe('invalid_signature');
      expect(bad.body.error.message).toMatch(/INTUIT_WEBHOOK_VERIFIER_TOKEN/);
      const none = await post(env.svc, body);
      expect(none.status).toBe(401);
      expect(none.body.error.message).toMatch(/no intuit-signature header/);
      const rows = await env.db
        .selectFrom('qbo_webhook_events')
        .select(['status', 'signature_valid', 'reason'])
        .where('realm_id', '=', r)
        .execute();
      expect(rows).toHaveLength(2);
      for (const x of rows) expect(x).toMatchObject({ status: 'rejected', signature_valid: false });
    });

    it('keeps a flood of unsigned posts out of the database past the cap, and still takes Intuit’s', async () => {
      const r = realm();
      const junk = legacy(r, [{ name: 'Customer', id: '1', operation: 'Update' }]);
      const cap = DEFAULT_INVALID_STORE_PER_MINUTE;
      const droppedBefore = env.svc.services.webhooks.receiver.droppedInvalid;
      const answers = await Promise.all(
        Array.from({ length: cap + 15 }, (_, i) =>
          post(env.svc, junk, { 'intuit-signature': `forged${i}` }),
        ),
      );
      expect(answers.every((a) => a.status === 401)).toBe(true);
      const stored = await env.db
        .selectFrom('qbo_webhook_events')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('realm_id', '=', r)
        .executeTakeFirstOrThrow();
      // Posts past the cap were answered without a row: stored + dropped = posted.
      const dropped = env.svc.services.webhooks.receiver.droppedInvalid - droppedBefore;
      expect(dropped).toBeGreaterThan(0);
      expect(Number(stored.n)).toBe(cap + 15 - dropped);
      const genuine = await signed(
        env.svc,
        legacy(r, [{ name: 'Customer', id: '2', operation: 'Update' }]),
      );
      expect(genuine.status).toBe(200);
      expect((await row(env.svc, WebhookAck.parse(genuine.body).id)).status).toBe('pending');
    });

    it('answers 4xx to what is not a webhook: wrong media type, empty or oversized body', async () => {
      const text = await env.svc.fetch('/api/quickbooks/webhook', {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hello',
      });
      expect(text.status).toBe(415);
      expect((await post(env.svc, '')).status).toBe(400);
      const huge = Buffer.alloc(1024 * 1024 + 10, 0x20);
      const big = await post(env.svc, huge, { 'intuit-signature': 'x' });
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe('payload_too_large');
    });

    it('stores a NUL byte or a \\u0000 escape without a 500', async () => {
      const nul = await signed(env.svc, `{"eventNotifications":[],"x":"a\u0000b"}`);
      expect(nul.status).toBe(200);
      const esc = await signed(env.svc, '{"eventNotifications":[],"x":"a\\u0000b \\ud800"}');
      expect(esc.status).toBe(200);
      expect((await row(env.svc, WebhookAck.parse(esc.body).id)).payload).toBeNull();
    });
  });
});

describe('GET /api/quickbooks/webhook-events', () => {
  forEachService((env) => {
    it('lists events newest first with filters and a cursor', async () => {
      const r = realm();
      for (const id of ['1', '2', '3']) {
        await signed(env.svc, legacy(r, [{ name: 'Customer', id, operation: 'Update' }]));
      }
      await signed(env.svc, legacy(r, [{ name: 'Bill', id: '7', operation: 'Create' }]));
      await post(env.svc, legacy(r, [{ name: 'Customer', id: '8', operation: 'Update' }]));

      const all = await env.svc.admin('GET', `/api/quickbooks/webhook-events?realmId=${r}`);
      expect(all.status).toBe(200);
      const parsed = WebhookEventsResponse.parse(all.body);
      expect(parsed.events).toHaveLength(5);
      expect(parsed.events[0]!.status).toBe('rejected');

      const bills = WebhookEventsResponse.parse(
        (await env.svc.admin('GET', `/api/quickbooks/webhook-events?realmId=${r}&entity=Bill`))
          .body,
      );
      expect(bills.events.map((e) => e.entities)).toEqual([['Bill']]);

      const rejected = WebhookEventsResponse.parse(
        (await env.svc.admin('GET', `/api/quickbooks/webhook-events?realmId=${r}&status=rejected`))
          .body,
      );
      expect(rejected.events).toHaveLength(1);
      expect(rejected.events[0]!.signature_valid).toBe(false);

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = `/api/quickbooks/webhook-events?realmId=${r}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const page = WebhookEventsResponse.parse((await env.svc.admin('GET', q)).body);
        seen.push(...page.events.map((e) => e.id));
        cursor = page.next_cursor;
      } while (cursor);
      expect(seen).toEqual(parsed.events.map((e) => e.id));

      const future = WebhookEventsResponse.parse(
        (
          await env.svc.admin(
            'GET',
            `/api/quickbooks/webhook-events?realmId=${r}&from=2999-01-01T00:00:00Z`,
          )
        ).body,
      );
      expect(future.events).toEqual([]);
    });

    it('needs the admin and answers 400 to bad filters', async () => {
      const anon = await env.svc.fetch('/api/quickbooks/webhook-events');
      expect(anon.status).toBe(401);
      for (const q of [
        'status=done',
        'cursor=nonsense',
        'limit=0',
        'from=0000-00-00T00:00:00Z',
        'from=2026-02-30T00:00:00Z',
        'entity=%00',
        'realmId=a%00b',
        'from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z',
        'unknown=1',
      ]) {
        const res = await env.svc.admin('GET', `/api/quickbooks/webhook-events?${q}`);
        expect(res.status, q).toBe(400);
        expect(res.body.error.code, q).toBe('invalid_request');
      }
    });
  });
});
