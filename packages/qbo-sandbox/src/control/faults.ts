import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SandboxContext } from '../core/context.ts';

export type FaultSurface = 'accounting' | 'token' | 'revoke' | 'userinfo';

/** Applies faults injected through the control API to a request about to be served. */
export async function applyInjectedFaults(
  _ctx: SandboxContext,
  _req: FastifyRequest,
  _reply: FastifyReply,
  _surface: FaultSurface,
): Promise<void> {}
