import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { SandboxContext } from '../core/context.ts';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export const isControlPath = (url: string): boolean => {
  const path = (url.split('?')[0] ?? '').toLowerCase();
  return path === '/_sandbox' || path.startsWith('/_sandbox/');
};

/**
 * Root-level onRequest hook (server.ts) keeping web pages away from the control API, with
 * or without `controlToken`: a page the user happens to visit can send simple requests
 * (form posts, `text/plain` fetches) to a sandbox on localhost, and the control API writes
 * files, mints tokens and shows app secrets.
 *
 * - A request from another origin (its `Origin` header, or `Sec-Fetch-Site: cross-site` /
 *   `same-site`) is refused with 403. Scripts, curl and SDKs send neither header.
 * - A write (POST, PUT, PATCH, DELETE) that carries a body, or names a content type, must be
 *   `application/json` (415 otherwise): a browser cannot send JSON to another origin without
 *   a CORS preflight, and the sandbox never answers one.
 */
export function controlBrowserGuard(ctx: SandboxContext): onRequestAsyncHookHandler {
  return async (req, reply) => {
    if (!isControlPath(req.url)) return;
    const site = header(req, 'sec-fetch-site');
    const origin = header(req, 'origin');
    if (site === 'cross-site' || site === 'same-site' || (origin && !ownOrigin(ctx, req, origin)))
      return refuse(
        reply,
        403,
        'forbidden',
        `The control API does not accept requests from web pages of other origins${origin ? ` (Origin: ${origin.slice(0, 200)})` : ''}`,
      );
    if (!STATE_CHANGING.has(req.method)) return;
    const type = header(req, 'content-type');
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      Number(req.headers['content-length'] ?? 0) > 0;
    if ((hasBody || type !== undefined) && !isJson(type))
      return refuse(
        reply,
        415,
        'unsupported_media_type',
        `Control API requests with a body must be sent as Content-Type: application/json${type ? ` (got ${type.slice(0, 100)})` : ''}`,
      );
  };
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

const isJson = (type: string | undefined): boolean =>
  type !== undefined && type.split(';')[0]!.trim().toLowerCase() === 'application/json';

/**
 * The sandbox's own origin: its configured base URL, or a loopback name on the port the
 * request arrived at (http://localhost:4010 and http://127.0.0.1:4010 are both the sandbox).
 */
function ownOrigin(ctx: SandboxContext, req: FastifyRequest, origin: string): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file: pages) or garbage
  }
  if (URL.canParse(ctx.config.baseUrl) && u.origin === new URL(ctx.config.baseUrl).origin)
    return true;
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return (
    u.protocol === 'http:' &&
    LOOPBACK.has(u.hostname) &&
    port === String(req.socket.localPort ?? '')
  );
}

function refuse(reply: FastifyReply, status: number, error: string, description: string) {
  return reply
    .status(status)
    .type('application/json')
    .send(JSON.stringify({ error, error_description: description }));
}
