import { createHash, timingSafeEqual } from 'node:crypto';
import type { onRequestAsyncHookHandler } from 'fastify';
import type { SandboxContext } from '../core/context.ts';
import { isControlPath } from './browser-guard.ts';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Root-level onRequest hook (server.ts) guarding every `/_sandbox/…` route, whichever module
 * registered it: with `config.controlToken` set, a sandbox reachable by others cannot be
 * reset, seeded or have tokens minted without `Authorization: Bearer <controlToken>`.
 * Intuit's own endpoints are never affected.
 */
export function controlAuthHook(ctx: SandboxContext): onRequestAsyncHookHandler {
  return async (req, reply) => {
    const token = ctx.config.controlToken;
    if (!token) return;
    if (!isControlPath(req.url)) return;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    // Compare digests so the check takes the same time whatever the sent token's length.
    if (m && timingSafeEqual(digest(m[1]!), digest(token))) return;
    return reply
      .status(401)
      .header('www-authenticate', 'Bearer realm="qbo-sandbox control API"')
      .type('application/json')
      .send(
        JSON.stringify({
          error: 'unauthorized',
          error_description: m
            ? 'The control token is wrong'
            : 'The control API requires Authorization: Bearer <controlToken>',
        }),
      );
  };
}
