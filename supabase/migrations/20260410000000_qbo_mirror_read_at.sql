-- When the version a mirror row holds was read from QBO (the time the read was started, on
-- the reading process's clock). QBO changes a Customer's Balance when its invoices and
-- payments change without a new SyncToken or LastUpdatedTime, so two reads of one version can
-- differ. Between them the later read wins: a full-sync page read before an invoice was
-- created, and written after the webhook path re-read the customer's new balance, must not
-- put the old balance back (docs/sync.md, "Which version wins").
alter table qbo_customers add column read_at timestamptz;
alter table qbo_invoices add column read_at timestamptz;
alter table qbo_payments add column read_at timestamptz;
alter table qbo_vendors add column read_at timestamptz;
alter table qbo_items add column read_at timestamptz;
alter table qbo_accounts add column read_at timestamptz;
