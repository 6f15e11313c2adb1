-- An operator can replay a stored webhook event (POST /api/quickbooks/webhook-events/replay,
-- `qbo-sync webhooks replay`): it goes back to `pending` with a fresh attempt budget. These
-- keep the fact that it was replayed, so the event's history still shows how it first ended
-- (`last_error` is kept until a later attempt succeeds; docs/webhooks.md).
alter table qbo_webhook_events
  add column replays integer not null default 0,
  add column last_replayed_at timestamptz,
  add constraint qbo_webhook_events_replays_check check (replays >= 0);
