// The OpenAPI 3.1 document of the whole HTTP API, made from the same zod schemas the routes
// validate with (@qbo-sync/contract, through each route's `schema`), so it cannot drift from
// what the service accepts and answers. A host application generates its client from
// GET /api/openapi.json; people read it at /api/docs (Swagger UI, served from node_modules:
// no CDN, and a CSP that lets only these files run).
//
// Must be registered before the routes: @fastify/swagger collects them as they are added.
import { createRequire } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';
import fastifySwagger from '@fastify/swagger';
import { ErrorResponse } from '@qbo-sync/contract';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';

const require = createRequire(import.meta.url);
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const SWAGGER_UI_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets style attributes from its scripts (allowed) and ships one stylesheet.
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

type Operation = { responses?: Record<string, unknown> };

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'qbo-sync',
        version: '0.1.0',
        description:
          'Admin and integration API of qbo-sync. Admin routes take `Authorization: Bearer <ADMIN_API_TOKEN>` or the session cookie set by POST /api/admin/session. Every error is `{ "error": { "code", "message", "details"? } }`; the codes and their statuses are in `ErrorResponse`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: 'qbo_admin_session' },
        },
      },
    },
    transform: jsonSchemaTransform,
    // Every operation may answer an error in the one error shape.
    transformObject: (documentObject) => {
      const doc = (documentObject as { openapiObject: Record<string, unknown> }).openapiObject;
      const components = (doc.components ?? {}) as { schemas?: Record<string, unknown> };
      components.schemas = {
        ...components.schemas,
        ErrorResponse: z.toJSONSchema(ErrorResponse, { target: 'openapi-3.0' }),
      };
      doc.components = components;
      const paths = (doc.paths ?? {}) as Record<string, Record<string, Operation>>;
      for (const item of Object.values(paths)) {
        for (const op of Object.values(item)) {
          op.responses = {
            ...op.responses,
            default: {
              description: 'an error (see ErrorResponse.error.code)',
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } },
              },
            },
          };
        }
      }
      return doc;
    },
  });

  const hide = { schema: { hide: true } };
  app.get('/api/openapi.json', hide, async (_req, reply) =>
    reply.header('cache-control', 'no-cache').send(app.swagger()),
  );
  app.get('/api/docs', hide, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', DOCS_CSP)
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff')
      .send(DOCS_PAGE),
  );
  app.get('/api/docs/init.js', hide, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').send(DOCS_INIT),
  );
  app.get<{ Params: { file: string } }>('/api/docs/ui/:file', hide, async (req, reply) => {
    const type = SWAGGER_UI_FILES[req.params.file];
    if (!type) return reply.callNotFound();
    return reply
      .type(type)
      .header('cache-control', 'public, max-age=86400')
      .send(fs.createReadStream(path.join(SWAGGER_UI_DIR, req.params.file)));
  });
}

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>qbo-sync API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/api/docs/ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/ui/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`;

// No "Try it out" against other servers, no validator badge (it would call a third party).
const DOCS_INIT = `window.ui = SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#swagger-ui',
  validatorUrl: null,
  deepLinking: true,
  withCredentials: true,
});
`;
