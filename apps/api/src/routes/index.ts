// Route registration: the admin session, /api/quickbooks, and the /admin page placeholder
// (the dashboard replaces it later; until then it says where things are).
import type { FastifyInstance } from 'fastify';
import { registerAdminSessionRoutes } from '../http/admin-auth.ts';
import { registerQuickBooksRoutes, type QuickBooksRouteDeps } from './quickbooks.ts';

export type RouteDeps = QuickBooksRouteDeps;

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  registerAdminSessionRoutes(app, deps.auth);
  registerQuickBooksRoutes(app, deps);
  app.get('/api/health', async () => ({ status: 'ok' }));
  app.get('/', async (_req, reply) => reply.redirect('/admin', 302));
  app.get('/admin', async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(ADMIN_PLACEHOLDER),
  );
}

// Static text only: query parameters such as ?qbo_error= are never echoed into the page.
const ADMIN_PLACEHOLDER = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>qbo-sync admin</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .25rem}</style>
</head>
<body>
<h1>qbo-sync admin</h1>
<p>The admin UI is served here. Until the dashboard ships, use the JSON API:</p>
<ul>
<li><a href="/api/quickbooks/status">/api/quickbooks/status</a> &mdash; connection, tokens, sync cursors, quota</li>
<li><a href="/api/quickbooks/metrics">/api/quickbooks/metrics</a> &mdash; 24 h health and alerts</li>
<li><a href="/api/quickbooks/request-log">/api/quickbooks/request-log</a> &mdash; every call made to QuickBooks</li>
</ul>
<p>These need the admin token: send <code>Authorization: Bearer &lt;ADMIN_API_TOKEN&gt;</code>, or log this
browser in with <code>POST /api/admin/session</code> and body <code>{"token":"&lt;ADMIN_API_TOKEN&gt;"}</code>.
Connect a company with <code>GET /api/quickbooks/connect</code> and open the <code>auth_url</code> it returns.
The result of a connection appears in this page's address as <code>?qbo_connected=true</code> or <code>?qbo_error=&lt;code&gt;</code>.</p>
<p>Reference: <code>docs/api.md</code>.</p>
</body>
</html>
`;
