// /webhook-events: the query string -> the repository's filter, and its rows -> the wire.
import type { WebhookEvent, WebhookEventsQuery } from '@qbo-sync/contract';
import type {
  WebhookEventFilter,
  WebhookEventRow,
} from '../../lib/quickbooks/webhooks/webhook-events.repo.ts';

export function toWebhookEventFilter(q: WebhookEventsQuery): WebhookEventFilter {
  return {
    ...(q.status ? { status: q.status } : {}),
    ...(q.realmId ? { realmId: q.realmId } : {}),
    ...(q.entity ? { entity: q.entity } : {}),
    ...(q.from ? { from: new Date(q.from) } : {}),
    ...(q.to ? { to: new Date(q.to) } : {}),
    ...(q.cursor ? { cursor: q.cursor } : {}),
    ...(q.limit ? { limit: q.limit } : {}),
  };
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export function toWebhookEvent(r: WebhookEventRow): WebhookEvent {
  const finished = r.processed_at && r.status !== 'pending' && r.status !== 'processing';
  return {
    id: r.id,
    realm_ids: r.realm_ids,
    format: r.format,
    signature_valid: r.signature_valid,
    status: r.status,
    reason: r.reason,
    last_error: r.last_error,
    entities: r.entities,
    operations: r.operations,
    notification_count: r.notification_count,
    deliveries: r.deliveries,
    attempts: r.attempts,
    objects_applied: r.objects_applied,
    intuit_t_id: r.intuit_t_id,
    received_at: new Date(r.received_at).toISOString(),
    processed_at: iso(r.processed_at),
    next_attempt_at: iso(r.next_attempt_at),
    lag_ms: finished
      ? Math.max(0, new Date(r.processed_at!).getTime() - new Date(r.received_at).getTime())
      : null,
  };
}
