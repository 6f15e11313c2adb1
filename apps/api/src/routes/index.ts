// Route registration: the admin session, /api/quickbooks, /api/health and the admin page.
import type { FastifyInstance } from 'fastify';
import { registerAdminSessionRoutes } from '../http/admin-auth.ts';
import { registerAdminUi } from '../http/admin-ui.ts';
import { registerQuickBooksRoutes, type QuickBooksRouteDeps } from './quickbooks.ts';

export interface RouteDeps extends QuickBooksRouteDeps {
  /** The built admin page (index.html + assets/); null serves no page at /admin. */
  adminUiDir?: string | null;
}

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  registerAdminSessionRoutes(app, deps.auth);
  registerQuickBooksRoutes(app, deps);
  app.get('/api/health', async () => ({ status: 'ok' }));
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/admin', 302));
  if (deps.adminUiDir) registerAdminUi(app, deps.adminUiDir);
}
