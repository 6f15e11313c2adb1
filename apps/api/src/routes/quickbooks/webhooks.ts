// Webhooks: POST /webhook (public, Intuit's signed notifications); GET /webhook-events and
// POST /webhook-events/replay (admin, a plugin of their own: JSON bodies parsed as usual). The POST route reads the body as raw bytes — the signature is an HMAC of exactly
// those bytes — stores the delivery and answers at once; processing happens in the
// 'qbo.webhook-process' job (lib/quickbooks/webhooks). Reference: docs/webhooks.md.
import {
  WebhookAck,
  WebhookEventsQuery,
  WebhookEventsResponse,
  WebhookReplayRequest,
  WebhookReplayResponse,
} from '@qbo-sync/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HttpError } from '../../http/errors.ts';
import { listWebhookEvents } from '../../lib/quickbooks/webhooks/webhook-events.repo.ts';
import type { QuickBooksRouteDeps } from '../quickbooks.ts';
import {
  refusedReplayError,
  toReplaySelection,
  toWebhookEvent,
  toWebhookEventFilter,
  unknownEventsError,
} from './webhooks.mapper.ts';

/**
 * Intuit's notifications are a few KB (ids only, no object data); a batch of thousands of
 * changes stays well under this. Anything larger is not a notification.
 */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

// `application/json; charset=utf-8` (Intuit), and the CloudEvents batch media type.
const JSON_MEDIA = /^application\/(?:[\w.+-]+\+)?json(?:\s*;.*)?$/i;

export const webhookRoutes: FastifyPluginAsyncZod<QuickBooksRouteDeps> = async (app, d) => {
  // This plugin only: the body stays the bytes Intuit signed, unparsed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    JSON_MEDIA,
    { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
    (_req, body, done) => done(null, body),
  );

  app.post(
    '/webhook',
    {
      bodyLimit: WEBHOOK_BODY_LIMIT,
      schema: { hide: false, response: { 200: WebhookAck } },
    },
    async (req, reply) => {
      const raw = req.body;
      if (!Buffer.isBuffer(raw) || raw.length === 0) {
        throw new HttpError(
          'invalid_request',
          'this endpoint takes Intuit webhook notifications: a signed JSON body (eventNotifications or a CloudEvents array)',
        );
      }
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const outcome = await d.webhooks.receiver.receive(raw, {
        signature: header('intuit-signature'),
        intuitTid: header('intuit-t-id'),
      });
      if (outcome.kind === 'rejected') {
        throw new HttpError(
          'invalid_signature',
          `${outcome.reason}: this endpoint accepts only notifications signed by Intuit; check INTUIT_WEBHOOK_VERIFIER_TOKEN`,
        );
      }
      return reply.send({ received: true, id: outcome.id, duplicate: outcome.duplicate });
    },
  );
};

export const webhookEventRoutes: FastifyPluginAsyncZod<QuickBooksRouteDeps> = async (app, d) => {
  app.get(
    '/webhook-events',
    {
      onRequest: d.auth.requireAdmin,
      schema: { querystring: WebhookEventsQuery, response: { 200: WebhookEventsResponse } },
    },
    async (req, reply) => {
      const page = await listWebhookEvents(d.db, toWebhookEventFilter(req.query));
      return reply.send({
        events: page.events.map(toWebhookEvent),
        next_cursor: page.nextCursor,
      });
    },
  );

  app.post(
    '/webhook-events/replay',
    {
      onRequest: d.auth.requireAdmin,
      schema: { body: WebhookReplayRequest, response: { 202: WebhookReplayResponse } },
    },
    async (req, reply) => {
      const r = await d.webhooks.replay(toReplaySelection(req.body));
      if (r.kind === 'unknown') throw unknownEventsError(r.ids);
      if (r.kind === 'refused') throw refusedReplayError(r.refused);
      return reply.code(202).send({
        queued: r.ids.length,
        ids: r.ids,
        remaining: r.remaining,
        replayed_at: r.replayedAt.toISOString(),
      });
    },
  );
};
