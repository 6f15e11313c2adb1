-- Write-back state on the host's campaign_invoices (the brief's
-- 20260211_quickbooks_invoice_writeback.sql): the four columns of the brief plus
-- qbo_realm_id and qbo_request_id (why: docs/database.md).

alter table campaign_invoices
  add column qbo_invoice_id text,
  add column qbo_sync_status text not null default 'pending',
  add column qbo_last_synced_at timestamptz,
  add column qbo_error_message text,
  -- the company the invoice was pushed to: after a reconnect to another company the
  -- stored qbo_invoice_id means nothing there, and the row must be pushed afresh
  add column qbo_realm_id text,
  -- the deterministic `requestid` of the last create/update sent to QBO: a retry after a
  -- crash resends the same one (QBO then answers with the original result instead of
  -- creating a duplicate), and it joins the row to qbo_request_log.request_id
  add column qbo_request_id text;

alter table campaign_invoices
  add constraint campaign_invoices_qbo_sync_status_check
    check (qbo_sync_status in ('pending', 'syncing', 'synced', 'error')),
  add constraint campaign_invoices_qbo_synced_has_id_check
    check (qbo_sync_status <> 'synced' or (qbo_invoice_id is not null and qbo_realm_id is not null));

-- POST /invoices/push-all picks the rows still to push
create index campaign_invoices_qbo_sync_status_idx on campaign_invoices (qbo_sync_status)
  where qbo_sync_status in ('pending', 'error');
-- one campaign invoice per QBO invoice: two rows pointing at the same QBO invoice would
-- overwrite each other's amounts
create unique index campaign_invoices_qbo_invoice_key on campaign_invoices (qbo_realm_id, qbo_invoice_id)
  where qbo_invoice_id is not null;
