-- campaign_invoices: the host application's own invoices (ARTi's campaign billing). The
-- QuickBooks write-back pushes these rows into QBO; its columns are added separately by
-- 20260211000100_quickbooks_invoice_writeback.sql so that a host which already has this
-- table only needs that file.
--
-- Money is numeric(18,2) and travels as decimal strings (never floats). Dates are plain
-- `date`: an invoice's issue and due dates are calendar days, not instants.
-- Names are unqualified so the runner's search_path picks the schema (public by default).

create table campaign_invoices (
  id uuid primary key default gen_random_uuid(),
  client_name text not null,
  client_email text,
  -- [{ "description", "quantity", "unit_price", "amount" }], numbers as decimal strings
  line_items jsonb not null default '[]'::jsonb,
  subtotal numeric(18, 2) not null default 0,
  tax numeric(18, 2) not null default 0,
  total numeric(18, 2) not null default 0,
  currency char(3) not null default 'USD',
  issue_date date not null default current_date,
  due_date date,
  status text not null default 'draft',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint campaign_invoices_status_check
    check (status in ('draft', 'issued', 'sent', 'paid', 'void', 'cancelled')),
  constraint campaign_invoices_line_items_array_check
    check (jsonb_typeof(line_items) = 'array'),
  constraint campaign_invoices_currency_check check (currency ~ '^[A-Z]{3}$'),
  constraint campaign_invoices_client_name_check check (length(btrim(client_name)) > 0),
  constraint campaign_invoices_due_date_check check (due_date is null or due_date >= issue_date)
);

create index campaign_invoices_status_idx on campaign_invoices (status, issue_date desc);
create index campaign_invoices_created_at_idx on campaign_invoices (created_at desc);

-- No policies: only the owning role (the service) and BYPASSRLS roles (Supabase's
-- service_role) see rows. docs/database.md explains how to grant other roles access.
alter table campaign_invoices enable row level security;
