// What happened and how healthy it is: GET /request-log (every HTTP attempt to QBO and
// Intuit) and GET /metrics (24-hour aggregates and alerts).
import {
  MetricsResponse,
  RealmQuery,
  RequestLogQuery,
  RequestLogResponse,
} from '@qbo-sync/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { listRequestLog } from '../../lib/quickbooks/client/request-log.ts';
import { computeMetrics } from '../../lib/quickbooks/metrics.ts';
import type { QuickBooksRouteDeps } from '../quickbooks.ts';
import { toMetricsResponse } from './metrics.mapper.ts';
import { toRequestLogEntry, toRequestLogFilter } from './request-log.mapper.ts';

export const observabilityRoutes: FastifyPluginAsyncZod<QuickBooksRouteDeps> = async (app, d) => {
  const admin = { onRequest: d.auth.requireAdmin };

  app.get(
    '/request-log',
    { ...admin, schema: { querystring: RequestLogQuery, response: { 200: RequestLogResponse } } },
    async (req, reply) => {
      const c = await d.connections.find(req.query.realmId);
      const page = await listRequestLog(d.db, toRequestLogFilter(req.query, c?.realm_id ?? null));
      return reply.send({ logs: page.logs.map(toRequestLogEntry), next_cursor: page.nextCursor });
    },
  );

  app.get(
    '/metrics',
    { ...admin, schema: { querystring: RealmQuery, response: { 200: MetricsResponse } } },
    async (req, reply) => {
      const c = await d.connections.find(req.query.realmId);
      const coreplus = await d.connections.meteredUsage();
      return reply.send(
        toMetricsResponse(
          await computeMetrics(d.db, c, {
            now: d.clock.now(),
            coreplus,
            reconcileCron: d.sync.reconcileCron,
          }),
        ),
      );
    },
  );
};
