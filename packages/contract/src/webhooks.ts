// POST /webhook (Intuit's notifications, signature-checked), GET /webhook-events and
// POST /webhook-events/replay.
import { z } from 'zod';
import { Iso, NullableIso, RealmId, fromNotAfterTo, isoInput, listPageFields } from './common.ts';

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
    /** Only events replayed at or after this time (what `qbo-sync webhooks replay` follows). */
    replayedFrom: isoInput('replayedFrom').optional(),
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
  /** Times an operator replayed it, and when last. */
  replays: z.number().int(),
  last_replayed_at: NullableIso,
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

/** Events one replay request may name, and the most a status replay queues at once. */
export const MAX_REPLAY_IDS = 1000;

/**
 * Body of POST /webhook-events/replay: either `ids` (events from GET /webhook-events), or a
 * `status` — every signed event that ended `failed` (or `skipped`), optionally of one realm.
 */
export const WebhookReplayRequest = z
  .strictObject({
    ids: z
      .array(z.uuid('each id must be a webhook event id (a UUID) from GET /webhook-events'))
      .min(1, 'ids must name at least one event')
      .max(MAX_REPLAY_IDS, `ids may name at most ${MAX_REPLAY_IDS} events`)
      .optional(),
    status: z
      .enum(['failed', 'skipped'], { message: 'status must be failed or skipped' })
      .optional(),
    realm_id: RealmId.optional(),
  })
  .refine((b) => (b.ids === undefined) !== (b.status === undefined), {
    message: 'give either ids or status (not both)',
    path: [],
  })
  .refine((b) => b.realm_id === undefined || b.status !== undefined, {
    message: 'realm_id narrows a status replay; ids already name their events',
    path: ['realm_id'],
  });
export type WebhookReplayRequest = z.infer<typeof WebhookReplayRequest>;

export const WebhookReplayResponse = z.object({
  /** Events put back to pending and queued for processing. */
  queued: z.number().int(),
  ids: z.array(z.string()),
  /** A status replay queues at most 1,000 events: how many more match (send it again). */
  remaining: z.number().int(),
  /** The replay's time: GET /webhook-events?replayedFrom=… lists what it queued. */
  replayed_at: Iso,
});
export type WebhookReplayResponse = z.infer<typeof WebhookReplayResponse>;
