import type { FastifyInstance } from 'fastify';
import type { SandboxContext } from '../core/context.ts';
import type { SandboxState } from '../core/state.ts';
import type { Company } from '../core/company.ts';
import { forgetRealmLimits } from '../limits/limiter.ts';
import { forgetRealmRequestIds } from '../accounting/requestid.ts';
import { mergeNames } from '../accounting/merge.ts';
import {
  badRequest,
  conflict,
  jsonBody,
  notFound,
  onlyKeys,
  optNumber,
  optString,
  type Json,
} from './validate.ts';

export function companyView(company: Company) {
  return {
    realmId: company.realmId,
    companyName: company.companyName,
    offsetMinutes: company.offsetMinutes,
    country: company.country,
    createdAt: new Date(company.createdAt).toISOString(),
    counts: company.counts(),
  };
}

export const COMPANY_KEYS = ['companyName', 'realmId', 'offsetMinutes', 'country'] as const;

/**
 * The fields a new company may be given (`COMPANY_KEYS`), validated; throws a 400/409
 * control error naming the field. Shared by `/_sandbox/companies` and `/_sandbox/seed`.
 */
export function companyFields(state: SandboxState, body: Json) {
  const companyName = optString(body, 'companyName', { maxLength: 100 }) ?? 'Sandbox Company_US_1';
  // Intuit's realm ids are digit strings; letters are allowed so tests can name theirs.
  const realmId = optString(body, 'realmId', {
    pattern: /^[A-Za-z0-9_-]{1,64}$/,
    patternHint: 'must be 1 to 64 letters, digits, "-" or "_"',
  });
  const offsetMinutes = optNumber(body, 'offsetMinutes', { integer: true, min: -720, max: 840 });
  const country = optString(body, 'country', {
    pattern: /^[A-Z]{2}$/,
    patternHint: 'must be a two-letter country code such as US',
  });
  if (realmId && state.companies.has(realmId))
    throw conflict(`a company with realmId ${realmId} already exists`);
  return {
    companyName,
    ...(realmId ? { realmId } : {}),
    ...(offsetMinutes !== undefined ? { offsetMinutes } : {}),
    ...(country ? { country } : {}),
  };
}

/** `/_sandbox/companies`: create, list, inspect and delete companies (realms). */
export function registerCompanyRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  const { state } = ctx;
  const find = (realmId: string): Company => {
    const c = state.companies.get(realmId);
    if (!c) throw notFound(`no company with realmId ${realmId}`);
    return c;
  };

  app.post('/_sandbox/companies', async (req, reply) => {
    const body = jsonBody(req);
    onlyKeys(body, [...COMPANY_KEYS]);
    const company = state.addCompany(companyFields(state, body));
    return reply.status(201).send(companyView(company));
  });

  app.get('/_sandbox/companies', async () => ({
    companies: [...state.companies.values()].map(companyView),
  }));

  app.get<{ Params: { realmId: string } }>('/_sandbox/companies/:realmId', async (req) =>
    companyView(find(req.params.realmId)),
  );

  // "Someone merged two names in QuickBooks" (accounting/merge.ts): notified as Merge.
  app.post<{ Params: { realmId: string } }>('/_sandbox/companies/:realmId/merge', async (req) => {
    const company = find(req.params.realmId);
    const body = jsonBody(req);
    onlyKeys(body, ['entity', 'survivorId', 'loserId']);
    const id = (key: string): string => {
      const v = optString(body, key, {
        pattern: /^\d{1,20}$/,
        patternHint: 'must be a QBO Id (digits)',
      });
      if (v === undefined) throw badRequest(`${key} is required`);
      return v;
    };
    const entity = optString(body, 'entity');
    if (entity === undefined) throw badRequest('entity is required');
    const r = mergeNames(ctx, company, {
      entity,
      survivorId: id('survivorId'),
      loserId: id('loserId'),
    });
    return { [r.entity]: r.survivor, deletedId: r.deletedId, repointed: r.repointed };
  });

  app.delete<{ Params: { realmId: string } }>(
    '/_sandbox/companies/:realmId',
    async (req, reply) => {
      const { realmId } = find(req.params.realmId);
      state.companies.delete(realmId);
      // A deleted company's connections go with it, as when a QBO company is closed.
      for (const [k, t] of state.accessTokens)
        if (t.realmId === realmId) state.accessTokens.delete(k);
      for (const [k, t] of state.refreshTokens)
        if (t.realmId === realmId) state.refreshTokens.delete(k);
      for (const [k, c] of state.authCodes) if (c.realmId === realmId) state.authCodes.delete(k);
      forgetRealmLimits(ctx, realmId);
      forgetRealmRequestIds(ctx, realmId);
      return reply.status(204).send();
    },
  );
}
