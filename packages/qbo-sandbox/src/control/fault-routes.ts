import type { FastifyInstance } from 'fastify';
import type { SandboxContext } from '../core/context.ts';
import { parseFaultRule } from './fault-rules.ts';
import { addFaultRule, deleteFaultRules, getFaultRule, listFaultRules } from './faults.ts';
import { jsonBody, notFound } from './validate.ts';

/** `/_sandbox/faults`: add, list and remove injected faults. */
export function registerFaultRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  app.post('/_sandbox/faults', async (req, reply) =>
    reply.status(201).send(addFaultRule(ctx, parseFaultRule(jsonBody(req)))),
  );

  app.get('/_sandbox/faults', async () => ({ faults: listFaultRules(ctx) }));

  app.get<{ Params: { id: string } }>('/_sandbox/faults/:id', async (req) => {
    const rule = getFaultRule(ctx, req.params.id);
    if (!rule) throw notFound(`no fault rule with id ${req.params.id}`);
    return rule;
  });

  app.delete('/_sandbox/faults', async (_req, reply) => {
    deleteFaultRules(ctx);
    return reply.status(204).send();
  });

  app.delete<{ Params: { id: string } }>('/_sandbox/faults/:id', async (req, reply) => {
    if (!deleteFaultRules(ctx, req.params.id))
      throw notFound(`no fault rule with id ${req.params.id}`);
    return reply.status(204).send();
  });
}
