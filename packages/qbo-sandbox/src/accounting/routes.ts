import type { FastifyRequest } from 'fastify';
import type { SandboxModule } from '../core/context.ts';
import { entityFromName } from '../core/company.ts';
import { Faults } from '../core/faults.ts';
import { guardAccounting, sendQbo } from './guard.ts';
import {
  executeOperation,
  performOperation,
  readEntity,
  type WriteOperation,
} from './operations.ts';
import { withRequestId } from './requestid.ts';
import { isObject, parseJsonBody } from './validate.ts';

const OPERATIONS: readonly WriteOperation[] = ['create', 'update', 'delete', 'void'];

/** Query parameters as single strings (a repeated parameter keeps its first value). */
function queryOf(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) {
    const first = Array.isArray(v) ? (v[0] as unknown) : v;
    if (typeof first === 'string') out[k] = first;
  }
  return out;
}

const pathOf = (req: FastifyRequest): string => req.url.split('?')[0] ?? req.url;

function operationOf(raw: string | undefined, path: string): WriteOperation {
  const op = (raw ?? 'create').toLowerCase();
  if (!(OPERATIONS as readonly string[]).includes(op)) throw Faults.unsupportedOperation(path);
  return op as WriteOperation;
}

/**
 * Accounting API v3 entity endpoints (read, create, update, delete, void), CompanyInfo and
 * Preferences, plus the control API a test uses to act as a QuickBooks user.
 */
export const accountingModule: SandboxModule = (app, ctx) => {
  app.get<{ Params: { realmId: string; entity: string; id: string } }>(
    '/v3/company/:realmId/:entity/:id',
    async (req, reply) => {
      const { realmId, entity, id } = req.params;
      const { company } = await guardAccounting(ctx, req, reply, realmId);
      return sendQbo(ctx, reply, company, readEntity(company, entity, id, pathOf(req)));
    },
  );

  // `GET /preferences` (node-quickbooks getPreferences); any other entity needs an id.
  app.get<{ Params: { realmId: string; entity: string } }>(
    '/v3/company/:realmId/:entity',
    async (req, reply) => {
      const { realmId, entity } = req.params;
      const { company } = await guardAccounting(ctx, req, reply, realmId);
      if (entityFromName(entity) !== 'Preferences') throw Faults.unsupportedOperation(pathOf(req));
      return sendQbo(ctx, reply, company, readEntity(company, entity, '1', pathOf(req)));
    },
  );

  app.post<{ Params: { realmId: string; entity: string } }>(
    '/v3/company/:realmId/:entity',
    async (req, reply) => {
      const { realmId, entity } = req.params;
      const { company } = await guardAccounting(ctx, req, reply, realmId);
      const path = pathOf(req);
      if (!entityFromName(entity)) throw Faults.unsupportedOperation(path);
      const query = queryOf(req);
      const operation = operationOf(query.operation, path);
      const result = await withRequestId(ctx, req, company, () => ({
        status: 200,
        body: executeOperation(ctx, company, {
          entity,
          operation,
          body: parseJsonBody(req.body),
          query,
        }),
      }));
      return sendQbo(ctx, reply, company, result.body, result.status);
    },
  );

  // Control API: "someone edited it in QuickBooks" — no token, no limits, same rules.
  app.post<{ Params: { realmId: string; entity: string } }>(
    '/_sandbox/companies/:realmId/entities/:entity',
    async (req, reply) => {
      const { realmId, entity } = req.params;
      const company = ctx.state.companies.get(realmId);
      if (!company)
        return reply
          .status(404)
          .type('application/json')
          .send(JSON.stringify({ error: 'not_found', error_description: `No company ${realmId}` }));
      const parsed = parseJsonBody(req.body);
      if (!isObject(parsed)) throw Faults.malformedBody('expected {operation?, body}');
      const query = isObject(parsed.query)
        ? Object.fromEntries(Object.entries(parsed.query).map(([k, v]) => [k, String(v)]))
        : {};
      const operation = operationOf(
        typeof parsed.operation === 'string' ? parsed.operation : undefined,
        pathOf(req),
      );
      const body = performOperation(
        ctx,
        company,
        { entity, operation, body: parsed.body, query },
        { control: true },
      );
      return sendQbo(ctx, reply, company, body);
    },
  );
};
