import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { Faults, QboFault, renderFault } from './core/faults.ts';
import { newIntuitTid, type SandboxState } from './core/state.ts';
import type { SandboxContext, SandboxModule } from './core/context.ts';
import type { SandboxConfig } from './config.ts';
import { oauthModule } from './oauth/routes.ts';
import { accountingModule } from './accounting/routes.ts';
import { queryModule } from './query/routes.ts';
import { batchModule } from './batch/routes.ts';
import { webhooksModule } from './webhooks/routes.ts';
import { seedModule } from './seed/routes.ts';
import { controlModule } from './control/routes.ts';
import { OAuthError } from './oauth/errors.ts';
import { controlAuthHook } from './control/auth.ts';
import { controlBrowserGuard } from './control/browser-guard.ts';
import { registerAutosave, snapshotWriterOf } from './core/autosave.ts';
import { injectedFaultsOnSend } from './control/faults.ts';

// Each module registers its own public endpoints and its own `/_sandbox/…` control routes.
const MODULES: SandboxModule[] = [
  oauthModule,
  accountingModule,
  queryModule,
  batchModule,
  webhooksModule,
  seedModule,
  controlModule,
];

/** Builds the sandbox's HTTP app without listening (tests use `inject`, the CLI listens). */
export async function buildServer(
  state: SandboxState,
  config: SandboxConfig,
): Promise<FastifyInstance> {
  const ctx: SandboxContext = { state, config };
  const app = Fastify({
    logger: false,
    bodyLimit: 20 * 1024 * 1024,
    // close() ends every connection, answered or not: a request a latency rule still delays
    // (or a client's kept-alive socket) must not hold a stopping sandbox open.
    forceCloseConnections: true,
    // QBO matches `/v3/company/1/Invoice` and `/v3/company/1/invoice` alike.
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, maxParamLength: 1000 },
    // A URL Fastify cannot even decode (bad percent-encoding) still gets the endpoint's
    // dialect: QBO answers such paths with its "Unsupported Operation" fault.
    frameworkErrors: (err, req, rawReply) => {
      const reply = rawReply as FastifyReply;
      const path = (req.url.split('?')[0] ?? req.url).slice(0, 500);
      req.intuitTid ??= newIntuitTid(state.clock.now());
      reply.header('intuit_tid', req.intuitTid);
      if (path.startsWith('/v3/')) {
        void sendFault(ctx, undefined, reply, Faults.unsupportedOperation(path));
        return;
      }
      void reply
        .status(400)
        .type('application/json')
        .send(JSON.stringify({ error: 'invalid_request', error_description: err.message }));
    },
  });

  // Bodies are kept as text so each endpoint can report malformed input in its own
  // dialect (a QBO 2010 fault, an OAuth invalid_request) instead of Fastify's generic 400.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => {
    req.rawBody = body as string;
    done(null, body);
  });

  app.addHook('onRequest', async (req) => {
    req.intuitTid = newIntuitTid(state.clock.now());
    req.startedAt = performance.now();
  });
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('intuit_tid', req.intuitTid);
    return payload;
  });
  // Root-level so they cover every module's routes (modules are encapsulated plugins).
  app.addHook('onRequest', controlBrowserGuard(ctx));
  app.addHook('onRequest', controlAuthHook(ctx));
  app.addHook('onSend', injectedFaultsOnSend(ctx));
  // Only with a snapshot file to keep up to date: a sandbox without one pays nothing.
  const writer = snapshotWriterOf(state);
  if (writer) registerAutosave(app, state, writer);
  app.addHook('onResponse', async (req, reply) => {
    if (req.url.startsWith('/_sandbox')) return;
    state.record({
      at: state.clock.now(),
      method: req.method,
      url: req.url,
      ...(req.qbo ? { realmId: req.qbo.realmId, clientId: req.qbo.clientId } : {}),
      status: reply.statusCode,
      intuitTid: req.intuitTid,
      durationMs: Math.round((performance.now() - req.startedAt) * 1000) / 1000,
      ...(req.injected ? { injectedFaults: req.injected.faults } : {}),
      ...(state.options.journalBodies && req.rawBody
        ? { requestBody: req.rawBody.slice(0, 4096) }
        : {}),
    });
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof QboFault) return sendFault(ctx, req.qbo?.realmId, reply, err);
    if (err instanceof OAuthError) {
      return reply
        .status(err.status)
        .headers(err.headers)
        .type('application/json')
        .send(JSON.stringify(err.body));
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return sendFault(
        ctx,
        req.qbo?.realmId,
        reply,
        new QboFault(status, 'ValidationFault', [
          {
            Message: 'Request has invalid or unsupported property',
            Detail: (err as Error).message,
            code: '2010',
          },
        ]),
      );
    }
    // A bug in the sandbox must look like QBO's SystemFault, and be visible.
    console.error('[qbo-sandbox] internal error', err);
    return sendFault(
      ctx,
      req.qbo?.realmId,
      reply,
      new QboFault(500, 'SystemFault', [
        {
          Message: 'An application error has occurred while processing your request',
          Detail:
            'System Failure Error: An unexpected error occurred while accessing or saving your data.',
          code: '10000',
        },
      ]),
    );
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? req.url;
    if (path.startsWith('/v3/')) {
      return sendFault(
        ctx,
        undefined,
        reply,
        new QboFault(400, 'ValidationFault', [
          {
            Message: 'Unsupported Operation',
            Detail: `Operation Could not find resource for relative : ${path} of full path: ${config.baseUrl}${path} is not supported.`,
            code: '500',
          },
        ]),
      );
    }
    return reply
      .status(404)
      .type('application/json')
      .send(
        JSON.stringify({
          error: 'not_found',
          error_description: `No sandbox endpoint at ${req.method} ${path}`,
        }),
      );
  });

  for (const m of MODULES) await app.register(async (scoped) => m(scoped, ctx));
  return app;
}

/** Sends a QBO fault, timestamped in the company's zone when the realm is known. */
export function sendFault(
  ctx: SandboxContext,
  realmId: string | undefined,
  reply: FastifyReply,
  fault: QboFault,
) {
  const now = ctx.state.clock.now();
  const company = realmId ? ctx.state.companies.get(realmId) : undefined;
  const time = company ? company.formatTime(now, true) : new Date(now).toISOString();
  const { contentType, body } = renderFault(fault, time, now);
  // Recordings: faults are `application/json` without charset or qbo-version.
  // Fastify appends `; charset=utf-8` to any JSON string it sends, but not to a Buffer.
  return reply
    .status(fault.status)
    .headers(fault.headers)
    .header('content-type', contentType)
    .send(Buffer.from(body, 'utf8'));
}
