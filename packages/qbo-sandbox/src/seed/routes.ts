import type { FastifyInstance } from 'fastify';
import type { SandboxContext, SandboxModule } from '../core/context.ts';
import {
  ControlError,
  badRequest,
  conflict,
  jsonBody,
  notFound,
  onlyKeys,
  sendControlError,
  type Json,
} from '../control/validate.ts';
import { SeedConflictError, seedCompany, type SeedResult } from './generate.ts';
import { SeedOptionsError, resolveSeedOptions, type SeedOptions } from './options.ts';
import { registerSnapshotRoutes } from './snapshot-routes.ts';
import { COMPANY_KEYS, companyFields } from '../control/company-routes.ts';

const SEED_KEYS = [
  'seed',
  'preset',
  'entities',
  'customers',
  'vendors',
  'items',
  'invoices',
  'payments',
  'bills',
  'startDate',
  'days',
] as const;

const view = (r: SeedResult, companyName: string) => ({
  realmId: r.realmId,
  companyName,
  total: r.total,
  counts: r.counts,
  ms: r.ms,
  options: r.options,
});

/**
 * `/_sandbox/seed` and `/_sandbox/companies/:realmId/seed` (deterministic company data) and
 * `/_sandbox/snapshot[/load]`. Errors use the control API's `{error, error_description}`.
 */
export const seedModule: SandboxModule = (app, ctx) => {
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ControlError) return sendControlError(reply, err);
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500)
      return sendControlError(reply, badRequest((err as Error).message));
    console.error('[qbo-sandbox] seed/snapshot error', err);
    return sendControlError(reply, new ControlError(500, 'server_error', (err as Error).message));
  });
  registerSeedRoutes(app, ctx);
  registerSnapshotRoutes(app, ctx);
};

function seedOptions(body: Json): SeedOptions {
  return Object.fromEntries(
    SEED_KEYS.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]),
  ) as unknown as SeedOptions;
}

/** Runs a seed step, turning its errors into control-API 400/409 answers. */
function answering<T>(step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof SeedOptionsError) throw badRequest(err.message);
    if (err instanceof SeedConflictError) throw conflict(err.message);
    throw err;
  }
}

function registerSeedRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  const { state } = ctx;

  app.post<{ Params: { realmId: string } }>(
    '/_sandbox/companies/:realmId/seed',
    async (req, reply) => {
      const company = state.companies.get(req.params.realmId);
      if (!company) throw notFound(`no company with realmId ${req.params.realmId}`);
      const body = jsonBody(req);
      onlyKeys(body, [...SEED_KEYS, 'replace']);
      const result = answering(() =>
        seedCompany(company, {
          ...seedOptions(body),
          ...(body.replace !== undefined ? { replace: body.replace as boolean } : {}),
        }),
      );
      return reply.status(200).send(view(result, company.companyName));
    },
  );

  app.post('/_sandbox/seed', async (req, reply) => {
    const body = jsonBody(req);
    onlyKeys(body, [...SEED_KEYS, ...COMPANY_KEYS]);
    const fields = companyFields(state, body);
    const options = seedOptions(body);
    // Validate before creating the company, so a bad request leaves nothing behind.
    answering(() => resolveSeedOptions(options));
    const company = state.addCompany(fields);
    const result = answering(() => seedCompany(company, options));
    return reply.status(201).send(view(result, fields.companyName));
  });
}
