// Write-back's domain results -> the contract's wire types.
import type {
  CampaignInvoice as WireInvoice,
  InvoiceSyncStatusResponse,
  WritebackRun,
} from '@qbo-sync/contract';
import type { CampaignInvoice, QboWritebackRun } from '../../db/schema.ts';
import type { InvoiceSyncStatus } from '../../lib/quickbooks/writeback/push-all.ts';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toWireInvoice(r: CampaignInvoice): WireInvoice {
  return {
    id: r.id,
    client_name: r.client_name,
    client_email: r.client_email,
    line_items: Array.isArray(r.line_items) ? r.line_items : [],
    subtotal: r.subtotal,
    tax: r.tax,
    total: r.total,
    currency: r.currency,
    issue_date: r.issue_date,
    due_date: r.due_date,
    invoice_number: r.invoice_number,
    status: r.status,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
    qbo: {
      sync_status: r.qbo_sync_status,
      invoice_id: r.qbo_invoice_id,
      realm_id: r.qbo_realm_id,
      doc_number: r.qbo_doc_number,
      last_synced_at: iso(r.qbo_last_synced_at),
      error_message: r.qbo_error_message,
      version: r.qbo_version,
      pushed_version: r.qbo_pushed_version,
      total: r.qbo_total,
      balance: r.qbo_balance,
      paid_status: r.qbo_paid_status,
      paid_at: r.qbo_paid_at,
      voided: r.qbo_voided,
      deleted: r.qbo_deleted,
    },
  };
}

export function toWireRun(r: QboWritebackRun): WritebackRun {
  return {
    id: r.id,
    realm_id: r.realm_id,
    status: r.status,
    total: r.total,
    pushed: r.pushed,
    unchanged: r.unchanged,
    failed: r.failed,
    failures: Array.isArray(r.failures) ? r.failures : [],
    error_message: r.error_message,
    created_at: r.created_at.toISOString(),
    started_at: iso(r.started_at),
    finished_at: iso(r.finished_at),
  };
}

export function toSyncStatusResponse(
  realmId: string,
  s: InvoiceSyncStatus,
): InvoiceSyncStatusResponse {
  return {
    realm_id: realmId,
    counts: s.counts,
    latest_run: s.latestRun ? toWireRun(s.latestRun) : null,
    recent_errors: s.recentErrors.map((e) => ({
      invoice_id: e.invoiceId,
      client_name: e.clientName,
      message: e.message,
      at: iso(e.at),
    })),
  };
}
