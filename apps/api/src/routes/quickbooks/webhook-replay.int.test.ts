// POST /webhook-events/replay against the real service and qbo-sandbox (PGlite; Postgres and
// BullMQ too when DATABASE_URL / REDIS_URL are set): the sandbox's webhooks reach the service,
// a fault rule in the sandbox makes processing fail, and a replay after the rule is gone
// brings the change into the mirror.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  WebhookEventsResponse,
  WebhookReplayResponse,
  type WebhookEvent,
} from '@qbo-sync/contract';
import { expect, it } from 'vitest';
import {
  addCompany,
  connectRealm,
  forEachService,
  type TestService,
} from '../../../test/service-harness.ts';
import {
  change,
  legacy,
  postSigned,
  postWebhook,
  refuseReads,
  settle,
} from '../../../test/webhook-helpers.ts';

const REPLAY = '/api/quickbooks/webhook-events/replay';

async function eventsOf(svc: TestService, realmId: string, q = ''): Promise<WebhookEvent[]> {
  const res = await svc.admin('GET', `/api/quickbooks/webhook-events?realmId=${realmId}${q}`);
  expect(res.status).toBe(200);
  return WebhookEventsResponse.parse(res.body).events;
}

async function customerRow(svc: TestService, realmId: string, id: string) {
  return svc.db
    .selectFrom('qbo_customers')
    .select(['display_name', 'is_deleted'])
    .where('realm_id', '=', realmId)
    .where('qbo_id', '=', id)
    .executeTakeFirst();
}

forEachService(
  (env) => {
    it('a failed event replayed after the fault is gone ends processed, and the mirror has the change', async () => {
      const realmId = addCompany(env.sandbox).realmId;
      await connectRealm(env.svc, realmId);
      // QBO refuses this company's reads (403: permission): processing fails at once.
      const restore = await refuseReads(env.sandbox, realmId);
      const name = `Replay Ada ${randomBytes(3).toString('hex')}`;
      const c = await change(env.sandbox, realmId, 'Customer', { DisplayName: name });
      await settle(env.sandbox, env.svc);

      const [failed, ...others] = await eventsOf(env.svc, realmId);
      expect(others).toEqual([]);
      expect(failed).toMatchObject({ status: 'failed', attempts: 1, replays: 0 });
      expect(failed!.reason).toMatch(/qbo_auth/);
      expect(await customerRow(env.svc, realmId, c.Id as string)).toBeUndefined();

      // While QBO still refuses, a replay fails again and says so.
      const early = await env.svc.admin('POST', REPLAY, { ids: [failed!.id] });
      expect(early.status).toBe(202);
      await settle(env.sandbox, env.svc);
      expect((await eventsOf(env.svc, realmId))[0]).toMatchObject({
        status: 'failed',
        replays: 1,
      });

      await restore();
      const res = await env.svc.admin('POST', REPLAY, { status: 'failed', realm_id: realmId });
      expect(res.status).toBe(202);
      const answer = WebhookReplayResponse.parse(res.body);
      expect(answer).toMatchObject({ queued: 1, ids: [failed!.id], remaining: 0 });
      await settle(env.sandbox, env.svc);

      const [after] = await eventsOf(env.svc, realmId, `&replayedFrom=${answer.replayed_at}`);
      expect(after).toMatchObject({
        id: failed!.id,
        status: 'processed',
        attempts: 1,
        replays: 2,
        last_replayed_at: answer.replayed_at,
        last_error: null,
        objects_applied: 1,
      });
      expect(await customerRow(env.svc, realmId, c.Id as string)).toEqual({
        display_name: name,
        is_deleted: false,
      });
      // Nothing failed is left to replay.
      const again = await env.svc.admin('POST', REPLAY, { status: 'failed', realm_id: realmId });
      expect(WebhookReplayResponse.parse(again.body)).toMatchObject({ queued: 0, ids: [] });
    });

    it('never replays an event whose signature did not verify, and queues nothing when one id is refused', async () => {
      const realmId = `wh${randomBytes(5).toString('hex')}`;
      const forged = await postWebhook(
        env.svc,
        legacy(realmId, [{ name: 'Customer', id: '1', operation: 'Update' }]),
        { 'intuit-signature': 'forged' },
      );
      expect(forged.status).toBe(401);
      const genuine = await postSigned(
        env.svc,
        legacy(realmId, [{ name: 'Customer', id: '2', operation: 'Update' }]),
      );
      await settle(env.sandbox, env.svc);
      const events = await eventsOf(env.svc, realmId);
      const rejected = events.find((e) => e.status === 'rejected')!;
      expect(events.find((e) => e.id === genuine.body.id)?.status).toBe('skipped');

      const res = await env.svc.admin('POST', REPLAY, { ids: [genuine.body.id, rejected.id] });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('not_replayable');
      expect(res.body.error.message).toContain(rejected.id);
      expect(res.body.error.message).toMatch(/intuit-signature did not verify/);
      expect(res.body.error.details.refused).toEqual([
        { id: rejected.id, reason: 'invalid_signature' },
      ]);
      const unchanged = await eventsOf(env.svc, realmId);
      expect(unchanged.map((e) => [e.id, e.status, e.replays])).toEqual(
        events.map((e) => [e.id, e.status, 0]),
      );

      // The genuine one alone is replayed: its realm is still not connected, so skipped again.
      const ok = await env.svc.admin('POST', REPLAY, { ids: [genuine.body.id] });
      expect(ok.status).toBe(202);
      await settle(env.sandbox, env.svc);
      const replayed = (await eventsOf(env.svc, realmId)).find((e) => e.id === genuine.body.id);
      expect(replayed).toMatchObject({ status: 'skipped', replays: 1 });
      expect(replayed!.reason).toMatch(/not connected to this service/);
    });

    it('answers 404 naming an unknown id, 400 to a bad body, 401 without the admin', async () => {
      const unknown = randomUUID();
      const missing = await env.svc.admin('POST', REPLAY, { ids: [unknown] });
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('not_found');
      expect(missing.body.error.message).toContain(unknown);
      expect(missing.body.error.details).toEqual({ ids: [unknown] });

      for (const [body, message] of [
        [{}, /either ids or status/],
        [{ ids: [unknown], status: 'failed' }, /either ids or status/],
        [{ ids: ['42'] }, /each id must be a webhook event id/],
        [{ ids: [] }, /at least one event/],
        [{ status: 'processed' }, /status must be failed or skipped/],
        [{ ids: [unknown], realm_id: '1' }, /realm_id narrows a status replay/],
        [{ status: 'failed', since: 'yesterday' }, /since/],
      ] as const) {
        const res = await env.svc.admin('POST', REPLAY, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
        expect(res.body.error.message).toMatch(message);
      }
      const anon = await env.svc.fetch(REPLAY, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'failed' }),
      });
      expect(anon.status).toBe(401);
    });

    it('is in the OpenAPI document with its body and answer', async () => {
      const doc = (await (await env.svc.fetch('/api/openapi.json')).json()) as {
        paths: Record<string, Record<string, any>>;
      };
      const op = doc.paths[REPLAY]?.post;
      expect(op?.requestBody?.content?.['application/json']?.schema?.properties).toHaveProperty(
        'ids',
      );
      expect(op?.responses?.['202']).toBeDefined();
    });
  },
  { webhooks: { format: 'legacy' } },
);
