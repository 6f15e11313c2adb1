-- QuickBooks Online integration: connections, encrypted tokens, request log, webhook
-- events, sync cursors and the six entity mirrors (the brief's
-- 20260211_quickbooks_integration.sql). Each table, column and index is described in
-- docs/database.md.
--
-- Conventions:
--   * realm_id is QBO's company id (a decimal string); qbo_id is the object's QBO `Id`.
--   * Money is numeric(18,2) (QBO amounts carry two decimals); unit prices are plain
--     numeric because QBO accepts more decimals there and rounding would change them.
--   * qbo_updated_at is MetaData.LastUpdatedTime: upserts compare it so a late or
--     duplicated webhook never overwrites a newer version of a row.
--   * Every table has row-level security enabled and no policy: the owning role (this
--     service) and BYPASSRLS roles see rows, every other role sees none.

-- ---------------------------------------------------------------------------------------
-- Connections and tokens

create table qbo_connections (
  id uuid primary key default gen_random_uuid(),
  realm_id text not null,
  company_name text,
  environment text not null default 'sandbox',
  status text not null default 'connected',
  scopes text[] not null default '{}',
  connected_at timestamptz not null default now(),
  disconnected_at timestamptz,
  last_refresh_at timestamptz,
  last_refresh_status text,
  last_refresh_error text,
  needs_reauth_since timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint qbo_connections_realm_id_key unique (realm_id),
  constraint qbo_connections_environment_check check (environment in ('sandbox', 'production')),
  constraint qbo_connections_status_check
    check (status in ('connected', 'needs_reauth', 'disconnected')),
  -- invalid_grant is its own outcome: it means the user must reconnect, not "retry later".
  constraint qbo_connections_last_refresh_status_check
    check (last_refresh_status in ('success', 'error', 'invalid_grant'))
);

create index qbo_connections_status_idx on qbo_connections (status);

create table qbo_tokens (
  realm_id text primary key
    references qbo_connections (realm_id) on update cascade on delete cascade,
  access_token_ciphertext text not null,
  refresh_token_ciphertext text not null,
  key_id text not null,
  access_token_expires_at timestamptz not null,
  -- rolling: each refresh extends it (100 days at Intuit)
  refresh_token_expires_at timestamptz not null,
  -- absolute: x_refresh_token_hard_expires_in (5 years), null when Intuit did not send it
  refresh_token_hard_expires_at timestamptz,
  -- incremented on every write; a refresh writes only if the version it read is still
  -- current, so two racing refreshes cannot both store a token pair
  version bigint not null default 1,
  refreshed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Tokens are stored only as token-cipher values ("v1:<key id>:<iv>:<tag>:<ct>"); a raw
  -- Intuit token never matches, so a bug that skips encryption fails loudly here.
  constraint qbo_tokens_access_token_encrypted_check
    check (access_token_ciphertext ~ '^v[0-9]+:[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]*$'),
  constraint qbo_tokens_refresh_token_encrypted_check
    check (refresh_token_ciphertext ~ '^v[0-9]+:[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]*$'),
  constraint qbo_tokens_version_check check (version > 0)
);

-- ---------------------------------------------------------------------------------------
-- Request log: one row per HTTP call to QBO or Intuit OAuth (never tokens or bodies)

create table qbo_request_log (
  id bigserial primary key,
  realm_id text,
  method text not null,
  path text not null,
  -- null when no response arrived (network error, timeout)
  status integer,
  duration_ms integer not null,
  intuit_tid text,
  qbo_error_code text,
  -- the `requestid` sent on writes (QBO's idempotency key)
  request_id text,
  attempt integer not null default 1,
  error_message text,
  created_at timestamptz not null default now(),
  constraint qbo_request_log_method_check check (method ~ '^[A-Z]+$'),
  constraint qbo_request_log_status_check check (status between 100 and 599),
  constraint qbo_request_log_duration_check check (duration_ms >= 0),
  constraint qbo_request_log_attempt_check check (attempt >= 1)
);

-- GET /request-log: by realm, newest first
create index qbo_request_log_realm_created_idx on qbo_request_log (realm_id, created_at desc);
-- status filter (and 24h throttle/error rates)
create index qbo_request_log_status_created_idx on qbo_request_log (status, created_at desc);
-- path prefix filter (`path LIKE '/v3/company/…/query%'`); text_pattern_ops makes a btree
-- usable for LIKE 'prefix%' whatever the database collation
create index qbo_request_log_path_idx on qbo_request_log (path text_pattern_ops);
create index qbo_request_log_error_code_idx on qbo_request_log (qbo_error_code, created_at desc)
  where qbo_error_code is not null;
-- retention pruning (delete where created_at < now() - N days) and unfiltered listing
create index qbo_request_log_created_idx on qbo_request_log (created_at);

-- ---------------------------------------------------------------------------------------
-- Webhook events: persisted before the 200, processed asynchronously

create table qbo_webhook_events (
  id uuid primary key default gen_random_uuid(),
  -- null when the body names no realm (malformed or rejected deliveries are kept too)
  realm_id text,
  -- dedup key: the CloudEvents `id`, or a hash of a legacy notification
  event_id text not null,
  -- parsed body; null when the body was not JSON
  payload jsonb,
  raw_body text not null,
  signature_valid boolean not null,
  format text,
  status text not null default 'pending',
  attempts integer not null default 0,
  last_error text,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  constraint qbo_webhook_events_format_check check (format in ('legacy', 'cloudevents')),
  constraint qbo_webhook_events_status_check
    check (status in ('pending', 'processing', 'processed', 'failed', 'rejected')),
  constraint qbo_webhook_events_attempts_check check (attempts >= 0),
  -- an unsigned delivery must never be processed
  constraint qbo_webhook_events_rejected_check check (signature_valid or status = 'rejected')
);

-- Intuit retries and duplicates deliveries: a second copy of a signed event conflicts here
-- (insert … on conflict do nothing). Rejected copies are excluded so a forged body sent
-- first cannot block the genuine event that follows.
create unique index qbo_webhook_events_event_id_key on qbo_webhook_events (event_id)
  where signature_valid;
-- worker pickup: oldest pending (or stuck processing) first
create index qbo_webhook_events_pickup_idx on qbo_webhook_events (received_at)
  where status in ('pending', 'processing');
-- GET /webhook-events: newest first, optionally per realm or status
create index qbo_webhook_events_received_idx on qbo_webhook_events (received_at desc);
create index qbo_webhook_events_realm_received_idx
  on qbo_webhook_events (realm_id, received_at desc);
create index qbo_webhook_events_status_received_idx
  on qbo_webhook_events (status, received_at desc);

-- ---------------------------------------------------------------------------------------
-- Sync cursors: one row per realm and entity type

create table qbo_sync_cursors (
  realm_id text not null
    references qbo_connections (realm_id) on update cascade on delete cascade,
  -- QBO entity names, as in the API and CDC responses
  entity_type text not null,
  last_cdc_at timestamptz,
  last_full_sync_at timestamptz,
  last_webhook_at timestamptz,
  status text not null default 'idle',
  last_error text,
  last_run_started_at timestamptz,
  last_run_finished_at timestamptz,
  records_synced integer not null default 0,
  updated_at timestamptz not null default now(),
  primary key (realm_id, entity_type),
  constraint qbo_sync_cursors_entity_type_check
    check (entity_type in ('Customer', 'Invoice', 'Payment', 'Vendor', 'Item', 'Account')),
  constraint qbo_sync_cursors_status_check check (status in ('idle', 'running', 'success', 'error')),
  constraint qbo_sync_cursors_records_check check (records_synced >= 0)
);

-- ---------------------------------------------------------------------------------------
-- Mirrors. Shared columns: realm_id, qbo_id, sync_token (null for a tombstone whose object
-- was never seen), raw (the full QBO object, or the deletion stub), qbo_created_at,
-- qbo_updated_at, is_deleted, deleted_at, synced_at (when this service last wrote the row;
-- full sync marks rows it did not see as deleted by comparing it).

create table qbo_customers (
  realm_id text not null,
  qbo_id text not null,
  sync_token text,
  display_name text,
  given_name text,
  family_name text,
  company_name text,
  email text,
  phone text,
  active boolean not null default true,
  balance numeric(18, 2),
  currency text,
  raw jsonb not null,
  qbo_created_at timestamptz,
  qbo_updated_at timestamptz,
  is_deleted boolean not null default false,
  deleted_at timestamptz,
  synced_at timestamptz not null default now(),
  primary key (realm_id, qbo_id)
);
-- write-back finds a Customer by name or email, case-insensitively (QBO display names are
-- unique regardless of case)
create index qbo_customers_display_name_idx on qbo_customers (realm_id, lower(display_name));
create index qbo_customers_email_idx on qbo_customers (realm_id, lower(email))
  where email is not null;

create table qbo_invoices (
  realm_id text not null,
  qbo_id text not null,
  sync_token text,
  doc_number text,
  customer_qbo_id text,
  customer_name text,
  txn_date date,
  due_date date,
  total_amt numeric(18, 2),
  balance numeric(18, 2),
  currency text,
  email_status text,
  voided boolean not null default false,
  raw jsonb not null,
  qbo_created_at timestamptz,
  qbo_updated_at timestamptz,
  is_deleted boolean not null default false,
  deleted_at timestamptz,
  synced_at timestamptz not null default now(),
  primary key (realm_id, qbo_id)
);
create index qbo_invoices_customer_idx on qbo_invoices (realm_id, customer_qbo_id);
create index qbo_invoices_doc_number_idx on qbo_invoices (realm_id, doc_number)
  where doc_number is not null;
create index qbo_invoices_updated_idx on qbo_invoices (realm_id, qbo_updated_at desc);

create table qbo_payments (
  realm_id text not null,
  qbo_id text not null,
  sync_token text,
  customer_qbo_id text,
  txn_date date,
  total_amt numeric(18, 2),
  unapplied_amt numeric(18, 2),
  currency text,
  payment_ref_num text,
  voided boolean not null default false,
  raw jsonb not null,
  qbo_created_at timestamptz,
  qbo_updated_at timestamptz,
  is_deleted boolean not null default false,
  deleted_at timestamptz,
  synced_at timestamptz not null default now(),
  primary key (realm_id, qbo_id)
);
create index qbo_payments_customer_idx on qbo_payments (realm_id, customer_qbo_id);
create index qbo_payments_txn_date_idx on qbo_payments (realm_id, txn_date desc);

create table qbo_vendors (
  realm_id text not null,
  qbo_id text not null,
  sync_token text,
  display_name text,
  company_name text,
  email text,
  phone text,
  active boolean not null default true,
  balance numeric(18, 2),
  currency text,
  raw jsonb not null,
  qbo_created_at timestamptz,
  qbo_updated_at timestamptz,
  is_deleted boolean not null default false,
  deleted_at timestamptz,
  synced_at timestamptz not null default now(),
  primary key (realm_id, qbo_id)
);
create index qbo_vendors_display_name_idx on qbo_vendors (realm_id, lower(display_name));

create table qbo_items (
  realm_id text not null,
  qbo_id text not null,
  sync_token text,
  name text,
  fully_qualified_name text,
  type text,
  unit_price numeric,
  income_account_qbo_id text,
  active boolean not null default true,
  raw jsonb not null,
  qbo_created_at timestamptz,
  qbo_updated_at timestamptz,
  is_deleted boolean not null default false,
  deleted_at timestamptz,
  synced_at timestamptz not null default now(),
  primary key (realm_id, qbo_id)
);
-- write-back finds or creates the Item for a line by name
create index qbo_items_name_idx on qbo_items (realm_id, lower(name));

create table qbo_accounts (
  realm_id text not null,
  qbo_id text not null,
  sync_token text,
  name text,
  fully_qualified_name text,
  account_type text,
  account_sub_type text,
  classification text,
  current_balance numeric(18, 2),
  currency text,
  active boolean not null default true,
  raw jsonb not null,
  qbo_created_at timestamptz,
  qbo_updated_at timestamptz,
  is_deleted boolean not null default false,
  deleted_at timestamptz,
  synced_at timestamptz not null default now(),
  primary key (realm_id, qbo_id)
);
-- write-back picks an income account for a new Item by type
create index qbo_accounts_type_idx on qbo_accounts (realm_id, account_type);
create index qbo_accounts_name_idx on qbo_accounts (realm_id, lower(name));

-- ---------------------------------------------------------------------------------------
-- Row-level security: enabled everywhere, no policies (see docs/database.md)

alter table qbo_connections enable row level security;
alter table qbo_tokens enable row level security;
alter table qbo_request_log enable row level security;
alter table qbo_webhook_events enable row level security;
alter table qbo_sync_cursors enable row level security;
alter table qbo_customers enable row level security;
alter table qbo_invoices enable row level security;
alter table qbo_payments enable row level security;
alter table qbo_vendors enable row level security;
alter table qbo_items enable row level security;
alter table qbo_accounts enable row level security;
