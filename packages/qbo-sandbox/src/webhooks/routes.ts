import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { SandboxContext, SandboxModule } from '../core/context.ts';
import { WebhookDispatcher } from './dispatcher.ts';
import { DeliveriesQuery, FailuresBody, NotifyBody, OptionsBody } from './control-schemas.ts';
import { webhookEntityName, WEBHOOK_ENTITIES } from './payloads.ts';

/** The sandbox's one dispatcher; `Sandbox.close()` calls its `close()` with every extension. */
export function webhookDispatcher(ctx: SandboxContext): WebhookDispatcher {
  return ctx.state.extension('webhooks', () => new WebhookDispatcher(ctx));
}

const badRequest = (reply: FastifyReply, description: string) =>
  reply
    .status(400)
    .type('application/json')
    .send(JSON.stringify({ error: 'invalid_request', error_description: description }));

const sendJson = (reply: FastifyReply, body: unknown, status = 200) =>
  reply.status(status).type('application/json').send(JSON.stringify(body));

const describe = (err: z.ZodError): string =>
  err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');

/** Parses a JSON body (raw text, see server.ts) against a schema; answers 400 itself on failure. */
function parseBody<S extends z.ZodType>(
  req: FastifyRequest,
  reply: FastifyReply,
  schema: S,
  emptyAllowed = false,
): z.infer<S> | undefined {
  const text = typeof req.body === 'string' ? req.body.trim() : '';
  let json: unknown = {};
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      void badRequest(reply, 'body is not valid JSON');
      return undefined;
    }
  } else if (!emptyAllowed) {
    void badRequest(reply, 'a JSON body is required');
    return undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    void badRequest(reply, describe(parsed.error));
    return undefined;
  }
  return parsed.data;
}

export const webhooksModule: SandboxModule = (app, ctx) => {
  const dispatcher = webhookDispatcher(ctx);

  app.get('/_sandbox/webhooks/deliveries', async (req, reply) => {
    const parsed = DeliveriesQuery.safeParse(req.query);
    if (!parsed.success) return badRequest(reply, describe(parsed.error));
    return sendJson(reply, { deliveries: dispatcher.deliveries(parsed.data) });
  });

  app.get('/_sandbox/webhooks/pending', async (_req, reply) =>
    sendJson(reply, { pending: dispatcher.pending() }),
  );

  app.post('/_sandbox/webhooks/flush', async (req, reply) => {
    const summary = await dispatcher.flush();
    return sendJson(reply, summary);
  });

  app.get('/_sandbox/webhooks/failures', async (_req, reply) =>
    sendJson(reply, { failures: dispatcher.listFailures() }),
  );

  app.post('/_sandbox/webhooks/failures', async (req, reply) => {
    const body = parseBody(req, reply, FailuresBody);
    if (!body) return reply;
    if (body.clientId && !ctx.state.apps.has(body.clientId))
      return badRequest(reply, `no app with clientId ${body.clientId}`);
    const rule = dispatcher.addFailure({
      mode: body.mode,
      ...(body.clientId ? { clientId: body.clientId } : {}),
      remaining: body.count ?? (body.durationMs ? null : 1),
      until: body.durationMs ? Date.now() + body.durationMs : null,
    });
    return sendJson(reply, rule, 201);
  });

  app.delete('/_sandbox/webhooks/failures', async (_req, reply) => {
    dispatcher.clearFailures();
    return sendJson(reply, { failures: [] });
  });

  app.get('/_sandbox/webhooks/options', async (_req, reply) => sendJson(reply, dispatcher.options));

  app.patch('/_sandbox/webhooks/options', async (req, reply) => {
    const body = parseBody(req, reply, OptionsBody);
    if (!body) return reply;
    return sendJson(reply, dispatcher.setOptions(body));
  });

  app.post('/_sandbox/webhooks/notify', async (req, reply) => {
    const body = parseBody(req, reply, NotifyBody);
    if (!body) return reply;
    const entity = webhookEntityName(body.entity);
    if (!entity) {
      return badRequest(
        reply,
        `entity ${body.entity} does not send webhooks; one of: ${WEBHOOK_ENTITIES.join(', ')}`,
      );
    }
    if (!ctx.state.companies.has(body.realmId))
      return badRequest(reply, `no company with realmId ${body.realmId}`);
    const clientIds = dispatcher.notify({
      realmId: body.realmId,
      entity,
      id: body.id,
      operation: body.operation,
      at: body.lastUpdated ? Date.parse(body.lastUpdated) : ctx.state.clock.now(),
      ...(body.deletedId !== undefined ? { deletedId: body.deletedId } : {}),
    });
    return sendJson(reply, { queuedFor: clientIds }, 202);
  });
};
