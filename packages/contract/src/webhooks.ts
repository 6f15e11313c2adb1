// POST /webhook (Intuit's notifications, signature-checked) and GET /webhook-events.
import { z } from 'zod';
import { Iso, NullableIso, RealmId, fromNotAfterTo, listPageFields } from './common.ts';

/** The answer Intuit gets for a signed delivery (any 2xx acknowledges it). */
export const WebhookAck = z.object({
  received: z.literal(true),
  /** The stored event (a repeated body names the row it was counted on). */
  id: z.string(),
  /** The same signed body was received before: counted, not processed again. */
  duplicate: z.boolean(),
});
export type WebhookAck = z.infer<typeof WebhookAck>;

export const WebhookEventStatus = z.enum([
  'pending',
  'processing',
  'processed',
  'skipped',
  'failed',
  'rejected',
]);
export type WebhookEventStatus = z.infer<typeof WebhookEventStatus>;

/** A QBO entity name as webhooks spell it (`Customer`, `Bill`…); not limited to the mirrored six. */
const EntityName = z
  .string()
  .regex(/^[A-Za-z]{1,50}$/, 'entity must be an entity name such as Customer or Bill');

export const WebhookEventsQuery = z
  .strictObject({
    status: WebhookEventStatus.optional(),
    realmId: RealmId.optional(),
    entity: EntityName.optional(),
    ...listPageFields,
  })
  .refine(...fromNotAfterTo);
export type WebhookEventsQuery = z.infer<typeof WebhookEventsQuery>;

export const WebhookEvent = z.object({
  id: z.string(),
  /** Every realm the delivery names (CloudEvents deliveries may mix realms). */
  realm_ids: z.array(z.string()),
  format: z.enum(['legacy', 'cloudevents']).nullable(),
  signature_valid: z.boolean(),
  status: WebhookEventStatus,
  /** Why it was skipped, failed or rejected; what was applied when processed. */
  reason: z.string().nullable(),
  /** The last processing error (kept while retrying). */
  last_error: z.string().nullable(),
  entities: z.array(z.string()),
  operations: z.array(z.string()),
  notification_count: z.number().int(),
  /** Copies of this exact body received (Intuit's retries and duplicates). */
  deliveries: z.number().int(),
  attempts: z.number().int(),
  objects_applied: z.number().int(),
  intuit_t_id: z.string().nullable(),
  received_at: Iso,
  processed_at: NullableIso,
  next_attempt_at: NullableIso,
  /** Received -> applied (or skipped/failed), in ms; null while unfinished. */
  lag_ms: z.number().int().nullable(),
});
export type WebhookEvent = z.infer<typeof WebhookEvent>;

export const WebhookEventsResponse = z.object({
  events: z.array(WebhookEvent),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: z.string().nullable(),
});
export type WebhookEventsResponse = z.infer<typeof WebhookEventsResponse>;
