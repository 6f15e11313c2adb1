// Customer balances follow transactions without a version of their own: QBO computes a
// Customer's Balance / BalanceWithJobs from its open invoices and payments, and an invoice or
// payment change does not bump the Customer's SyncToken or LastUpdatedTime, so CDC and
// webhooks never report the Customer (qbo-sandbox docs accounting.md, balances ⚠). After
// invoices or payments change, the customers they name (and those customers' parents, whose
// BalanceWithJobs rolls up their jobs) are read again and written: the same version with a
// new balance is accepted by the upsert (it only refuses older versions).
import { sql, type Kysely } from 'kysely';
import type { Database, QboEntityType } from '../../../db/schema.ts';
import { upsertMirror, type UpsertSource } from './upsert.ts';

/** Reads Customers by Id from QBO (`Id IN (…)`, inactive ones included): sync/fetch.ts. */
export type FetchCustomers = (ids: readonly string[]) => Promise<Record<string, unknown>[]>;

/**
 * Re-reads the customers of these invoices or payments, which must already be in the mirror;
 * returns how many customers were written. Every path that applies invoice or payment changes
 * calls it (CDC, webhooks), or those customers keep the balance they had.
 */
export async function refreshCustomerBalances(
  db: Kysely<Database>,
  fetchCustomers: FetchCustomers,
  realmId: string,
  entity: QboEntityType,
  qboIds: readonly string[],
  source: UpsertSource,
): Promise<number> {
  if (qboIds.length === 0 || (entity !== 'Invoice' && entity !== 'Payment')) return 0;
  const table = entity === 'Invoice' ? 'qbo_invoices' : 'qbo_payments';
  // Customers of the transactions, then their ancestors (a job's parent chain).
  const { rows } = await sql<{ qbo_id: string }>`
    with recursive chain(qbo_id) as (
      select distinct customer_qbo_id from ${sql.table(table)}
        where realm_id = ${realmId} and qbo_id = any(${[...qboIds]}::text[])
          and customer_qbo_id is not null
      union
      select c.parent_qbo_id from qbo_customers c join chain on c.qbo_id = chain.qbo_id
        where c.realm_id = ${realmId} and c.parent_qbo_id is not null
    )
    select qbo_id from chain`.execute(db);
  if (rows.length === 0) return 0;
  const readAt = new Date();
  const customers = await fetchCustomers(rows.map((r) => r.qbo_id));
  return (await upsertMirror(db, realmId, 'Customer', customers, source, readAt)).written;
}
