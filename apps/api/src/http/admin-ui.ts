// The admin page: the built frontend (apps/frontend/dist, or ADMIN_UI_DIR) at /admin, and
// its hashed assets at /admin/assets/. The page itself needs no authentication (it signs the
// browser in); everything it shows comes from the admin API with the session cookie.
//
// Why these headers:
// - CSP: scripts and styles only from this origin (Vite emits no inline script), requests
//   only to this origin, no framing, no <base>, forms only to this origin. The login page
//   reads the admin token from its URL fragment; no third-party script may run beside it.
// - Referrer-Policy no-referrer: the page links to the sandbox's consent page and to Intuit.
// - index.html is no-store (it names the current assets); assets are immutable (their names
//   carry their hash).
// When the page has not been built (a checkout where `npm install` did not run its build),
// /admin says how to build it instead of failing.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

export const ADMIN_UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Client-side routes of the admin page; each answers index.html. */
const PAGES = ['/admin', '/admin/', '/admin/login'];
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

function pageHeaders(reply: FastifyReply, csp: string): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', csp)
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY');
}

/** Whether `dir` holds a built admin page. */
export function adminUiBuilt(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'index.html'));
}

export function registerAdminUi(app: FastifyInstance, dir: string): void {
  const hide = { schema: { hide: true } };
  const built = adminUiBuilt(dir);
  // Read once: the page is a few hundred bytes and changes only with a new build + restart.
  const index = built ? fs.readFileSync(path.join(dir, 'index.html')) : null;
  for (const url of PAGES) {
    app.get(url, hide, async (_req, reply) =>
      index
        ? pageHeaders(reply, ADMIN_UI_CSP).send(index)
        : pageHeaders(reply, "default-src 'none'; style-src 'unsafe-inline'").send(NOT_BUILT),
    );
  }
  if (!built) return;
  const assets = path.join(dir, 'assets');
  app.get<{ Params: { name: string } }>('/admin/assets/:name', hide, async (req, reply) => {
    const name = req.params.name;
    const type = TYPES[path.extname(name)];
    const file = path.join(assets, name);
    if (!ASSET_NAME.test(name) || !type || !fs.existsSync(file)) {
      return reply.callNotFound();
    }
    return reply
      .type(type)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .send(fs.createReadStream(file));
  });
}

// Static text only: query parameters such as ?qbo_error= are never echoed into the page.
const NOT_BUILT = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>qbo-sync admin</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .25rem}</style>
</head>
<body>
<h1>qbo-sync admin</h1>
<p>The admin page has not been built in this checkout. <code>npm install</code> builds it;
to build it again: <code>npm run build -w apps/frontend</code>, then restart <code>npm start</code>.</p>
<p>The JSON API works meanwhile: <a href="/api/docs">/api/docs</a> lists every route.</p>
</body>
</html>
`;
