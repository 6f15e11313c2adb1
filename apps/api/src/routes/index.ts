// Route registration: the admin session, /api/quickbooks, /api/health, /healthz, /readyz,
// /metrics/prometheus and the admin page.
import type { FastifyInstance } from 'fastify';
import { registerAdminSessionRoutes } from '../http/admin-auth.ts';
import { registerAdminUi } from '../http/admin-ui.ts';
import type { ReadinessCheck } from '../infra/health.ts';
import type { QboPrometheus } from '../infra/prometheus.ts';
import { healthRoutes } from './health.ts';
import { registerQuickBooksRoutes, type QuickBooksRouteDeps } from './quickbooks.ts';

export interface RouteDeps extends QuickBooksRouteDeps {
  /** The built admin page (index.html + assets/); null serves no page at /admin. */
  adminUiDir?: string | null;
  /** What /readyz checks (infra/health.ts). */
  readiness: ReadinessCheck;
  /** What /metrics/prometheus exports (infra/prometheus.ts). */
  prometheus: QboPrometheus;
}

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  registerAdminSessionRoutes(app, deps.auth);
  registerQuickBooksRoutes(app, deps);
  app.get('/api/health', async () => ({ status: 'ok' }));
  void app.register(healthRoutes, { readiness: deps.readiness });
  // Admin-authenticated like /metrics: scrape with `authorization: Bearer <ADMIN_API_TOKEN>`.
  app.get(
    '/metrics/prometheus',
    { onRequest: deps.auth.requireAdmin, schema: { hide: true } },
    async (_req, reply) => {
      const { contentType, body } = await deps.prometheus.exposition();
      return reply.header('cache-control', 'no-store').type(contentType).send(body);
    },
  );
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/admin', 302));
  if (deps.adminUiDir) registerAdminUi(app, deps.adminUiDir);
}
