// Webhooks: POST /webhook (public, Intuit's signed notifications) and GET /webhook-events
// (admin). The POST route reads the body as raw bytes — the signature is an HMAC of exactly
// those bytes — stores the delivery and answers at once; processing happens in the
// 'qbo.webhook-process' job (lib/quickbooks/webhooks). Reference: docs/webhooks.md.
import { WebhookAck, WebhookEventsQuery, WebhookEventsResponse } from '@qbo-sync/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HttpError } from '../../http/errors.ts';
import { listWebhookEvents } from '../../lib/quickbooks/webhooks/webhook-events.repo.ts';
import type { QuickBooksRouteDeps } from '../quickbooks.ts';
import { toWebhookEvent, toWebhookEventFilter } from './webhooks.mapper.ts';

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
      const outcome = await d.webhooks.receive(raw, {
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
};
