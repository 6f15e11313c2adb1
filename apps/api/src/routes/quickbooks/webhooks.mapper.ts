// /webhook-events: the query string -> the repository's filter, its rows -> the wire; a
// replay request -> the domain's selection, and a refused replay -> the error answered.
import type { WebhookEvent, WebhookEventsQuery, WebhookReplayRequest } from '@qbo-sync/contract';
import { HttpError } from '../../http/errors.ts';
import type {
  WebhookEventFilter,
  WebhookEventRow,
} from '../../lib/quickbooks/webhooks/webhook-events.repo.ts';
import type {
  ReplayRefusal,
  ReplaySelection,
} from '../../lib/quickbooks/webhooks/webhook-replay.ts';

export function toWebhookEventFilter(q: WebhookEventsQuery): WebhookEventFilter {
  return {
    ...(q.status ? { status: q.status } : {}),
    ...(q.realmId ? { realmId: q.realmId } : {}),
    ...(q.entity ? { entity: q.entity } : {}),
    ...(q.from ? { from: new Date(q.from) } : {}),
    ...(q.to ? { to: new Date(q.to) } : {}),
    ...(q.replayedFrom ? { replayedFrom: new Date(q.replayedFrom) } : {}),
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
    replays: r.replays,
    last_replayed_at: iso(r.last_replayed_at),
    lag_ms: finished
      ? Math.max(0, new Date(r.processed_at!).getTime() - new Date(r.received_at).getTime())
      : null,
  };
}

export function toReplaySelection(b: WebhookReplayRequest): ReplaySelection {
  if (b.ids) return { ids: b.ids };
  return { status: b.status ?? 'failed', ...(b.realm_id ? { realmId: b.realm_id } : {}) };
}

const list = (ids: readonly string[]) =>
  ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more` : ids.join(', ');

export function unknownEventsError(ids: readonly string[]): HttpError {
  return new HttpError(
    'not_found',
    `no webhook event with id ${list(ids)}; GET /api/quickbooks/webhook-events lists them`,
    { ids },
  );
}

export function refusedReplayError(refused: readonly ReplayRefusal[]): HttpError {
  const forged = refused.filter((r) => r.why === 'invalid_signature').map((r) => r.id);
  const busy = refused.filter((r) => r.why === 'processing').map((r) => r.id);
  const why = [
    forged.length
      ? `${list(forged)}: its intuit-signature did not verify, so it may be forged and is never processed (if Intuit sent it, check INTUIT_WEBHOOK_VERIFIER_TOKEN; its changes reach the mirror with the next incremental sync)`
      : null,
    busy.length
      ? `${list(busy)}: being processed right now; wait for its outcome and replay it then if needed`
      : null,
  ].filter(Boolean);
  return new HttpError('not_replayable', `nothing was replayed; ${why.join('; ')}`, {
    refused: refused.map((r) => ({ id: r.id, reason: r.why })),
  });
}
