import type { FastifyRequest } from 'fastify';
import type { SandboxModule } from '../core/context.ts';
import { guardAccounting, sendQbo } from '../accounting/guard.ts';
import { runQueryJson } from './run.ts';
import { runCdc } from './cdc.ts';

type RealmParams = { realmId: string };
type QueryString = Record<string, string | string[] | undefined>;

const first = (v: string | string[] | undefined): string | undefined =>
  Array.isArray(v) ? v[0] : v;

/**
 * The statement of a POST /query: docs "Query operations and syntax" send it as the body
 * with `Content-Type: application/text`; a form-encoded `query=` body is accepted as well
 * (QBO answers it too). A body-less POST falls back to the `query` URL parameter.
 */
function postedQuery(
  req: FastifyRequest<{ Params: RealmParams; Querystring: QueryString }>,
): string {
  const raw = typeof req.body === 'string' ? req.body : (req.rawBody ?? '');
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('application/x-www-form-urlencoded'))
    return new URLSearchParams(raw).get('query') ?? '';
  if (raw.trim() === '') return first(req.query.query) ?? '';
  return raw;
}

/** `GET|POST /v3/company/:realmId/query` and `GET /v3/company/:realmId/cdc`. */
export const queryModule: SandboxModule = (app, ctx) => {
  app.get<{ Params: RealmParams; Querystring: QueryString }>(
    '/v3/company/:realmId/query',
    async (req, reply) => {
      const { company } = await guardAccounting(ctx, req, reply, req.params.realmId);
      // A missing statement parses as an empty one: QBO's 4000 "Encountered <EOF>".
      const body = runQueryJson(ctx, company, first(req.query.query) ?? '');
      return sendQbo(ctx, reply, company, body);
    },
  );

  app.post<{ Params: RealmParams; Querystring: QueryString }>(
    '/v3/company/:realmId/query',
    async (req, reply) => {
      const { company } = await guardAccounting(ctx, req, reply, req.params.realmId);
      const body = runQueryJson(ctx, company, postedQuery(req));
      return sendQbo(ctx, reply, company, body);
    },
  );

  app.get<{ Params: RealmParams; Querystring: QueryString }>(
    '/v3/company/:realmId/cdc',
    async (req, reply) => {
      const { company } = await guardAccounting(ctx, req, reply, req.params.realmId);
      const body = runCdc(ctx, company, {
        entities: first(req.query.entities),
        changedSince: first(req.query.changedSince ?? req.query.changedsince),
      });
      return sendQbo(ctx, reply, company, body);
    },
  );
};
