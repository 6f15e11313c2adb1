-- Webhook processing: what each stored delivery carried, how its processing ended and why.
--
-- One row per distinct delivery (the raw body as received). Intuit retries and duplicates
-- deliveries with the same body and signature: a second copy of a signed body lands on the
-- existing row (`deliveries` + 1, `last_received_at`) instead of a new one, so a duplicate is
-- recorded without being processed twice.

alter table qbo_webhook_events drop constraint qbo_webhook_events_status_check;
alter table qbo_webhook_events add constraint qbo_webhook_events_status_check
  check (status in ('pending', 'processing', 'processed', 'skipped', 'failed', 'rejected'));

alter table qbo_webhook_events
  -- every realm the delivery names (CloudEvents arrays mix realms); realm_id keeps the first
  add column realm_ids text[] not null default '{}',
  -- entity names and operations named, as sent (unknown ones included), for filters and the admin page
  add column entities text[] not null default '{}',
  add column operations text[] not null default '{}',
  -- entity notifications in the delivery
  add column notification_count integer not null default 0,
  -- copies of this exact body received (Intuit retries and duplicates)
  add column deliveries integer not null default 1,
  add column last_received_at timestamptz,
  -- Intuit's trace id of the (first) delivery
  add column intuit_t_id text,
  -- why the event ended as it did (skipped, failed, rejected), or what was applied
  add column reason text,
  -- backoff: a failed attempt is retried from this time on
  add column next_attempt_at timestamptz,
  -- a worker's claim; a claim older than the lease (crash mid-processing) is taken again
  add column claimed_at timestamptz,
  -- QBO objects written to the mirror because of this event (coalesced batches share a fetch)
  add column objects_applied integer not null default 0,
  add constraint qbo_webhook_events_counts_check
    check (notification_count >= 0 and deliveries >= 1 and objects_applied >= 0),
  add constraint qbo_webhook_events_intuit_t_id_length check (char_length(intuit_t_id) <= 200),
  add constraint qbo_webhook_events_reason_length check (char_length(reason) <= 2000);

create index qbo_webhook_events_realm_ids_idx on qbo_webhook_events using gin (realm_ids);
create index qbo_webhook_events_entities_idx on qbo_webhook_events using gin (entities);
