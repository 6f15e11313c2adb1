// Builds the Fastify app from injected dependencies; never listens. main.ts listens, tests
// call `inject()` or listen on port 0. Everything the routes touch arrives through `deps`,
// so the same app runs on PGlite or Postgres, with or without Redis.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type pino from 'pino';
import type { TrustProxy } from './config.ts';
import { installErrorHandling } from './http/errors.ts';
import { registerOpenApi } from './http/openapi.ts';
import { sanitizeLogPath } from './lib/quickbooks/client/request-log.ts';
import { registerRoutes, type RouteDeps } from './routes/index.ts';

export interface AppDeps extends RouteDeps {
  logger: pino.Logger;
  /**
   * Honour X-Forwarded-For/-Proto/-Host from these peers (TRUST_PROXY, config.ts): behind a
   * TLS-terminating proxy the session cookie then gets `Secure` and `req.ip` is the client's.
   * Default false: the headers are ignored, as anyone can send them.
   */
  trustProxy?: TrustProxy;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // pino.Logger is a FastifyBaseLogger; typing it as such keeps the instance's generics default.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    // Fastify's own request logs print the raw URL, and /callback's carries the
    // authorization code and state: requests are logged below with a sanitised path.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: deps.trustProxy ?? false,
    bodyLimit: 64 * 1024,
    requestIdHeader: false,
    genReqId: () => crypto.randomUUID(),
  });
  // Routes declare zod schemas (@qbo-sync/contract): requests are validated with them and
  // answers are checked against them as they are serialised.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('admin', null);
  app.addHook('onResponse', async (req, reply) => {
    req.log.info(
      {
        method: req.method,
        path: sanitizeLogPath(req.url),
        ip: req.ip,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
  // API answers are per-user state (tokens' expiries, the request log): no cache, shared or
  // private, may keep them. A route that set its own policy keeps it.
  app.addHook('onSend', async (_req, reply, payload) => {
    const type = reply.getHeader('content-type');
    if (!reply.hasHeader('cache-control') && typeof type === 'string' && /json/i.test(type)) {
      reply.header('cache-control', 'no-store');
    }
    return payload;
  });
  installErrorHandling(app);
  // Before the routes: the OpenAPI document is collected from them as they are added.
  await registerOpenApi(app);
  registerRoutes(app, deps);
  await app.ready();
  return app;
}
