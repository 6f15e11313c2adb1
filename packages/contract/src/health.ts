// GET /healthz (the process is alive) and GET /readyz (it can do its work: database, Redis
// when configured, migrations applied). Unauthenticated, for orchestrators and load balancers.
import { z } from 'zod';

export const HealthResponse = z.object({ status: z.literal('ok') });
export type HealthResponse = z.infer<typeof HealthResponse>;

const Check = z.object({ ok: z.boolean(), error: z.string().optional() });

/** 200 when `ready`, 503 otherwise; each check says what failed. */
export const ReadinessResponse = z.object({
  ready: z.boolean(),
  checks: z.object({
    database: Check,
    /** null when REDIS_URL is not set. */
    redis: Check.nullable(),
    migrations: Check.extend({ pending: z.array(z.string()) }),
  }),
});
export type ReadinessResponse = z.infer<typeof ReadinessResponse>;
