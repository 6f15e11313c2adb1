// Route registration: the admin session, /api/quickbooks, /api/health, /healthz, /readyz and
// the admin page.
import type { FastifyInstance } from 'fastify';
import { registerAdminSessionRoutes } from '../http/admin-auth.ts';
import { registerAdminUi } from '../http/admin-ui.ts';
import type { ReadinessCheck } from '../infra/health.ts';
import { healthRoutes } from './health.ts';
import { registerQuickBooksRoutes, type QuickBooksRouteDeps } from './quickbooks.ts';

export interface RouteDeps extends QuickBooksRouteDeps {
  /** The built admin page (index.html + assets/); null serves no page at /admin. */
  adminUiDir?: string | null;
  /** What /readyz checks (infra/health.ts). */
  readiness: ReadinessCheck;
}

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  registerAdminSessionRoutes(app, deps.auth);
  registerQuickBooksRoutes(app, deps);
  app.get('/api/health', async () => ({ status: 'ok' }));
  void app.register(healthRoutes, { readiness: deps.readiness });
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/admin', 302));
  if (deps.adminUiDir) registerAdminUi(app, deps.adminUiDir);
}
