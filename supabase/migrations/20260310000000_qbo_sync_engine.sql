-- Sync engine: what the mirrors, the cursors and the runs need beyond
-- 20260211000000_quickbooks_integration.sql. docs/sync.md explains each use.

-- ---------------------------------------------------------------------------------------
-- Mirrors

-- A merged name (QBO "Merge": the loser's transactions move to the survivor and the loser
-- stops existing) points at the object that absorbed it.
alter table qbo_customers add column merged_into_qbo_id text;
alter table qbo_vendors add column merged_into_qbo_id text;
alter table qbo_items add column merged_into_qbo_id text;
alter table qbo_accounts add column merged_into_qbo_id text;

-- Sub-customers (jobs) follow their parent; the full name is what QBO shows and sorts by.
alter table qbo_customers add column fully_qualified_name text;
alter table qbo_customers add column parent_qbo_id text;

-- The invoices a payment pays (Line[].LinkedTxn[] with TxnType "Invoice"): write-back and
-- reports ask "which payments touched this invoice" without opening raw.
alter table qbo_payments add column linked_invoice_qbo_ids text[] not null default '{}';
create index qbo_payments_linked_invoices_idx on qbo_payments using gin (linked_invoice_qbo_ids);

-- Full sync marks what QBO no longer returns by comparing synced_at with the pass's start:
-- these indexes keep that sweep and the status counts off a sequential scan.
create index qbo_customers_live_idx on qbo_customers (realm_id, synced_at) where not is_deleted;
create index qbo_invoices_live_idx on qbo_invoices (realm_id, synced_at) where not is_deleted;
create index qbo_payments_live_idx on qbo_payments (realm_id, synced_at) where not is_deleted;
create index qbo_vendors_live_idx on qbo_vendors (realm_id, synced_at) where not is_deleted;
create index qbo_items_live_idx on qbo_items (realm_id, synced_at) where not is_deleted;
create index qbo_accounts_live_idx on qbo_accounts (realm_id, synced_at) where not is_deleted;

-- ---------------------------------------------------------------------------------------
-- Sync runs: one row per full sync, incremental sync or reconciliation. The database, not
-- the queue, says what is left to do: a run still 'queued' or 'running' after a restart is
-- taken up again.

create table qbo_sync_runs (
  id uuid primary key default gen_random_uuid(),
  realm_id text not null
    references qbo_connections (realm_id) on update cascade on delete cascade,
  kind text not null,
  entities text[] not null,
  status text not null default 'queued',
  -- the jobs port's id, answered to a second request while this run is unfinished
  job_id text,
  -- database time when the run was created: a full pass marks deleted only rows whose
  -- synced_at is older than this, so a resumed pass keeps what it saw before the crash
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  error text,
  error_code text,
  -- per entity: { done, total, next_position, complete, written, drift }
  progress jsonb not null default '{}',
  constraint qbo_sync_runs_kind_check check (kind in ('full', 'incremental', 'reconcile')),
  constraint qbo_sync_runs_status_check
    check (status in ('queued', 'running', 'success', 'error')),
  constraint qbo_sync_runs_entities_check
    check (entities <@ array['Customer', 'Invoice', 'Payment', 'Vendor', 'Item', 'Account']::text[]
      and cardinality(entities) > 0)
);
-- "is a run of this kind unfinished for the realm?" and start-up pickup
create index qbo_sync_runs_unfinished_idx on qbo_sync_runs (realm_id, kind)
  where status in ('queued', 'running');
-- status: the latest runs of a realm
create index qbo_sync_runs_realm_started_idx on qbo_sync_runs (realm_id, started_at desc);

alter table qbo_sync_runs enable row level security;

-- ---------------------------------------------------------------------------------------
-- Cursors: progress of the running job and the last reconciliation, per realm and entity

alter table qbo_sync_cursors add column run_id uuid;
alter table qbo_sync_cursors add column progress_done integer not null default 0;
alter table qbo_sync_cursors add column progress_total integer;
alter table qbo_sync_cursors add column last_error_code text;
alter table qbo_sync_cursors add column last_reconciled_at timestamptz;
alter table qbo_sync_cursors add column reconcile_qbo_count integer;
alter table qbo_sync_cursors add column reconcile_mirror_count integer;
-- objects that differed (missing, stale or extra) when the last reconciliation compared
alter table qbo_sync_cursors add column reconcile_drift integer;
alter table qbo_sync_cursors add column reconcile_repaired integer;
alter table qbo_sync_cursors add constraint qbo_sync_cursors_progress_check
  check (progress_done >= 0 and (progress_total is null or progress_total >= 0));
