// What QBO knows about a pushed invoice, back on the campaign invoice: its balance, paid in
// full / partly paid, the date it was paid, voided, deleted. A mirror listener
// (sync/listeners.ts): whenever sync, webhooks or write-back write Invoice or Payment rows,
// the campaign invoices they concern are refreshed from the mirror in one statement, so the
// host application can stop asking "has this been paid?" elsewhere.
import { sql, type Kysely } from 'kysely';
import type { Database, QboEntityType } from '../../../db/schema.ts';

export async function refreshFromMirror(
  db: Kysely<Database>,
  realmId: string,
  entity: QboEntityType,
  qboIds: string[],
): Promise<void> {
  if (qboIds.length === 0) return;
  // A payment changes the invoices it pays (Line[].LinkedTxn, mirrored as an array).
  const invoiceIds =
    entity === 'Invoice'
      ? sql`select unnest(${qboIds}::text[])`
      : entity === 'Payment'
        ? sql`select unnest(linked_invoice_qbo_ids) from qbo_payments
              where realm_id = ${realmId} and qbo_id = any(${qboIds}::text[])`
        : null;
  if (invoiceIds === null) return;
  // The paid date: the latest live payment applied to an invoice whose balance is 0.
  await sql`
    update campaign_invoices ci set
      qbo_total = m.total_amt,
      qbo_balance = case when m.voided then 0 else m.balance end,
      qbo_voided = m.voided,
      qbo_deleted = m.is_deleted,
      qbo_sync_token = case
        when m.sync_token ~ '^[0-9]{1,18}$' and (ci.qbo_sync_token is null
          or ci.qbo_sync_token !~ '^[0-9]{1,18}$'
          or m.sync_token::bigint > ci.qbo_sync_token::bigint)
        then m.sync_token else ci.qbo_sync_token end,
      qbo_paid_status = case
        when m.voided or m.is_deleted or m.balance is null or m.total_amt is null then null
        when m.balance <= 0 and m.total_amt > 0 then 'paid'
        when m.balance < m.total_amt then 'partially_paid'
        else 'unpaid' end,
      qbo_paid_at = case
        when not m.voided and not m.is_deleted and m.balance <= 0 and m.total_amt > 0 then (
          select max(p.txn_date) from qbo_payments p
          where p.realm_id = m.realm_id and m.qbo_id = any(p.linked_invoice_qbo_ids)
            and not p.is_deleted and not p.voided)
        else null end
    from qbo_invoices m
    where m.realm_id = ${realmId}
      and m.qbo_id in (${invoiceIds})
      and ci.qbo_realm_id = m.realm_id
      and ci.qbo_invoice_id = m.qbo_id
  `.execute(db);
}
