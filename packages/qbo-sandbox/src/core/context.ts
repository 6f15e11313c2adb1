import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SandboxState } from './state.ts';
import type { SandboxConfig } from '../config.ts';

/** What every route module gets. */
export interface SandboxContext {
  state: SandboxState;
  config: SandboxConfig;
}

export type SandboxModule = (app: FastifyInstance, ctx: SandboxContext) => void | Promise<void>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Trace id sent back as the `intuit_tid` header. */
    intuitTid: string;
    startedAt: number;
    /** Raw request text for JSON bodies (kept to report malformed JSON as QBO does). */
    rawBody?: string;
    /** Filled by the Accounting API guard once the caller is authenticated. */
    qbo?: { realmId: string; clientId: string };
  }
}

export type Req = FastifyRequest;
export type Reply = FastifyReply;
