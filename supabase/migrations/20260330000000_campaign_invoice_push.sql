-- What pushing campaign invoices to QBO needs beside the four columns of
-- 20260211000100_quickbooks_invoice_writeback.sql (why each: docs/writeback.md).

alter table campaign_invoices
  -- the host's own invoice number, sent as QBO's DocNumber (QBO takes at most 21
  -- characters: 2050 otherwise); when null the service derives one from the id
  add column invoice_number text,
  -- bumped by the trigger below whenever what QBO shows changes: the requestid of a write
  -- is derived from (id, version), so an edit is a new operation and a retry is not
  add column qbo_version integer not null default 1,
  -- the version QBO holds (null: never pushed)
  add column qbo_pushed_version integer,
  -- the DocNumber sent, kept so that after an ambiguous outcome the invoice is looked up
  -- by it before anything is written again
  add column qbo_doc_number text,
  add column qbo_customer_id text,
  -- QBO's optimistic lock for the sparse update (5010 when stale)
  add column qbo_sync_token text,
  -- back from QBO (the mirror listener keeps these current)
  add column qbo_total numeric(18, 2),
  add column qbo_balance numeric(18, 2),
  add column qbo_paid_status text,
  add column qbo_paid_at date,
  add column qbo_voided boolean not null default false,
  add column qbo_deleted boolean not null default false;

alter table campaign_invoices
  add constraint campaign_invoices_invoice_number_check
    check (invoice_number is null or (length(invoice_number) between 1 and 21)),
  add constraint campaign_invoices_qbo_paid_status_check
    check (qbo_paid_status is null or qbo_paid_status in ('unpaid', 'partially_paid', 'paid'));

-- An edit to anything QBO shows makes the row a new version and puts it back in the queue,
-- whichever application wrote it (the host may write this table directly).
create or replace function campaign_invoices_bump_qbo_version() returns trigger
language plpgsql as $$
begin
  if (new.client_name, new.client_email, new.line_items, new.subtotal, new.tax, new.total,
      new.currency, new.issue_date, new.due_date, new.invoice_number)
     is distinct from
     (old.client_name, old.client_email, old.line_items, old.subtotal, old.tax, old.total,
      old.currency, old.issue_date, old.due_date, old.invoice_number) then
    new.qbo_version := old.qbo_version + 1;
    new.updated_at := now();
    if new.qbo_sync_status in ('synced', 'error') then
      new.qbo_sync_status := 'pending';
    end if;
  end if;
  return new;
end;
$$;

create trigger campaign_invoices_qbo_version
  before update on campaign_invoices
  for each row execute function campaign_invoices_bump_qbo_version();

-- A push-all run: its progress and summary for GET /invoices/sync-status.
create table qbo_writeback_runs (
  id uuid primary key default gen_random_uuid(),
  realm_id text not null,
  status text not null default 'queued',
  total integer not null default 0,
  pushed integer not null default 0,
  unchanged integer not null default 0,
  failed integer not null default 0,
  -- [{ "invoice_id", "message" }], the first 100 failures
  failures jsonb not null default '[]'::jsonb,
  error_message text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  constraint qbo_writeback_runs_status_check
    check (status in ('queued', 'running', 'finished', 'failed'))
);

create index qbo_writeback_runs_realm_idx on qbo_writeback_runs (realm_id, created_at desc);
alter table qbo_writeback_runs enable row level security;
