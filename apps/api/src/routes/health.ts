// GET /healthz and GET /readyz, for orchestrators and load balancers: unauthenticated, cheap,
// and never cached. /healthz answers while the event loop runs; /readyz answers 503 with the
// failing check named until the process can do its work (infra/health.ts).
import { HealthResponse, ReadinessResponse } from '@qbo-sync/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ReadinessCheck } from '../infra/health.ts';

export const healthRoutes: FastifyPluginAsyncZod<{ readiness: ReadinessCheck }> = async (
  app,
  d,
) => {
  app.get('/healthz', { schema: { response: { 200: HealthResponse } } }, async (_req, reply) =>
    reply.send({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    { schema: { response: { 200: ReadinessResponse, 503: ReadinessResponse } } },
    async (_req, reply) => {
      const r = await d.readiness();
      return reply.code(r.ready ? 200 : 503).send(r);
    },
  );
};
