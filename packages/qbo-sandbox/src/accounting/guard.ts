import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SandboxContext } from '../core/context.ts';
import type { Company } from '../core/company.ts';
import { Faults } from '../core/faults.ts';
import { JsonObjectText } from '../core/json-text.ts';
import { applyInjectedFaults } from '../control/faults.ts';
import { acquireSlot } from '../limits/limiter.ts';

export interface AccountingCaller {
  company: Company;
  clientId: string;
}

/**
 * Runs before every Accounting API handler, in QBO's order: authentication (401 with the
 * lowercase envelope; a token issued for another realm is refused the same way), injected
 * faults, then the
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
  if (!company || token.realmId !== realmId) throw Faults.tokenNotForRealm();
  req.qbo = { realmId, clientId: token.clientId };
  await applyInjectedFaults(ctx, req, reply, 'accounting');
  const release = acquireSlot(ctx, { realmId, clientId: token.clientId, kind });
  reply.raw.once('close', release);
  return { company, clientId: token.clientId };
}

/**
 * Sends a successful Accounting API body: the envelope's `time` in the company's zone,
 * `application/json;charset=utf-8` and `qbo-version` as in the recordings. A body given
 * as JSON text gets `time` appended as its last key, as the spread below would put it.
 */
export function sendQbo(
  ctx: SandboxContext,
  reply: FastifyReply,
  company: Company,
  body: Record<string, unknown> | JsonObjectText,
  status = 200,
): FastifyReply {
  const time = company.formatTime(ctx.state.clock.now(), true);
  // A page goes out as the Buffer it was assembled in: Fastify neither measures nor
  // re-encodes it, and leaves the content type as set here.
  const payload =
    body instanceof JsonObjectText ? withTime(body, time) : JSON.stringify({ ...body, time });
  return reply
    .status(status)
    .header('qbo-version', ctx.config.qboVersion)
    .type('application/json;charset=utf-8')
    .send(payload);
}

/** The object's text with `"time"` as its last key, as the spread above puts it. */
function withTime(body: JsonObjectText, time: string): Buffer {
  const chunks = [...body.chunks];
  const last = chunks.pop()!;
  const total = chunks.reduce((n, c) => n + c.length, last.length);
  // Drop the closing brace; an empty object `{}` gets `time` as its only key.
  chunks.push(last.subarray(0, last.length - 1));
  chunks.push(Buffer.from(`${total === 2 ? '' : ','}"time":${JSON.stringify(time)}}`, 'utf8'));
  return Buffer.concat(chunks, total - 1 + chunks[chunks.length - 1]!.length);
}
