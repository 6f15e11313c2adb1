import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SandboxContext } from '../core/context.ts';
import type { Company } from '../core/company.ts';
import { Faults } from '../core/faults.ts';
import { applyInjectedFaults } from '../control/faults.ts';
import { acquireSlot } from '../limits/limiter.ts';

export interface AccountingCaller {
  company: Company;
  clientId: string;
}

/**
 * Runs before every Accounting API handler, in QBO's order: authentication (401 with the
 * lowercase envelope), authorization for the realm (403), injected faults, then the
 * per realm+app limits (429). The limiter's slot is released when the response is sent.
 */
export async function guardAccounting(
  ctx: SandboxContext,
  req: FastifyRequest,
  reply: FastifyReply,
  realmId: string,
  kind: 'api' | 'batch' = 'api',
): Promise<AccountingCaller> {
  const { state } = ctx;
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match)
    throw Faults.authenticationFailed('Token invalid: no bearer token in the Authorization header');
  const token = state.accessTokens.get(match[1]!);
  const now = state.clock.now();
  if (!token) throw Faults.authenticationFailed('Token invalid: unknown access token');
  if (token.revoked) throw Faults.authenticationFailed('Token revoked');
  if (token.expiresAt <= now) {
    throw Faults.authenticationFailed(`Token expired: ${new Date(token.expiresAt).toISOString()}`);
  }
  const company = state.companies.get(realmId);
  if (!company || token.realmId !== realmId) throw Faults.authorizationFailed();
  req.qbo = { realmId, clientId: token.clientId };
  await applyInjectedFaults(ctx, req, reply, 'accounting');
  const release = acquireSlot(ctx, { realmId, clientId: token.clientId, kind });
  reply.raw.once('close', release);
  return { company, clientId: token.clientId };
}

/**
 * Sends a successful Accounting API body: the envelope's `time` in the company's zone,
 * `application/json;charset=utf-8` and `qbo-version` as in the recordings.
 */
export function sendQbo(
  ctx: SandboxContext,
  reply: FastifyReply,
  company: Company,
  body: Record<string, unknown>,
  status = 200,
): FastifyReply {
  const payload = JSON.stringify({
    ...body,
    time: company.formatTime(ctx.state.clock.now(), true),
  });
  return reply
    .status(status)
    .header('qbo-version', ctx.config.qboVersion)
    .type('application/json;charset=utf-8')
    .send(payload);
}
