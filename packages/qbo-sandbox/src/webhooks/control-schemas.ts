import { z } from 'zod';
import { WEBHOOK_OPERATIONS } from './payloads.ts';

/** Request shapes of the `/_sandbox/webhooks/*` control API, declared once. */

export const DeliveriesQuery = z.strictObject({
  clientId: z.string().min(1).optional(),
  realmId: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});

export const FailuresBody = z.strictObject({
  clientId: z.string().min(1).optional(),
  /** How many attempts fail; with neither count nor durationMs, one. */
  count: z.number().int().min(1).optional(),
  /** For how long (real time) attempts fail. */
  durationMs: z.number().int().min(1).optional(),
  mode: z.enum(['fail', 'drop']),
});

export const OptionsBody = z.strictObject({
  batchDelayMs: z.number().int().min(0).max(3_600_000).optional(),
  retryScale: z.number().min(0).max(10).optional(),
  maxAttempts: z.number().int().min(1).max(1000).optional(),
  timeoutMs: z.number().int().min(1).max(600_000).optional(),
  duplicate: z.boolean().optional(),
  duplicateProbability: z.number().min(0).max(1).optional(),
  reorder: z.boolean().optional(),
  seed: z.number().int().optional(),
});

export const NotifyBody = z
  .strictObject({
    realmId: z.string().min(1),
    entity: z.string().min(1),
    id: z.string().min(1),
    operation: z.enum(WEBHOOK_OPERATIONS),
    deletedId: z.string().min(1).optional(),
    /** When the change happened (ISO-8601); default: now on the sandbox clock. */
    lastUpdated: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((b) => (b.operation === 'Merge') === (b.deletedId !== undefined), {
    message: 'deletedId is required for Merge and allowed only for Merge',
    path: ['deletedId'],
  });
