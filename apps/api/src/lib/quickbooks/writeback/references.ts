// Finding or creating what an invoice refers to: its Customer and its Item. The mirror is
// asked first (no QBO call), then QBO by query, and only then is anything created — with a
// requestid derived from the name, so two pushes racing to create the same customer get
// one customer (QBO replays the first create to the second).
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../../db/schema.ts';
import type { QboApiClient } from '../client/api-client.ts';
import { QboFault } from '../client/errors.ts';
import { nameRequestId, queryString } from './invoice.mapper.ts';

export class WritebackProblem extends Error {
  override readonly name = 'WritebackProblem';
}

type QboObject = Record<string, unknown>;

async function queryFirst(
  api: QboApiClient,
  realmId: string,
  entity: string,
  where: string,
): Promise<QboObject | null> {
  const res = await api.query<Record<string, QboObject[] | undefined>>(
    realmId,
    `select * from ${entity} where ${where} maxresults 1`,
  );
  return res[entity]?.[0] ?? null;
}

export interface CustomerRefs {
  db: Kysely<Database>;
  api: QboApiClient;
}

/** An active mirrored customer whose name or email is `value` (case-insensitively). */
async function mirroredCustomer(
  db: Kysely<Database>,
  realmId: string,
  column: 'display_name' | 'email',
  value: string,
): Promise<string | null> {
  const found = await db
    .selectFrom('qbo_customers')
    .select('qbo_id')
    .where('realm_id', '=', realmId)
    .where(sql<string>`lower(${sql.ref(column)})`, '=', value.toLowerCase())
    .where('active', '=', true)
    .where('is_deleted', '=', false)
    .executeTakeFirst();
  return found?.qbo_id ?? null;
}

/** The QBO Customer for `name` (or `email`), created when QBO has none. */
export async function findOrCreateCustomer(
  d: CustomerRefs,
  realmId: string,
  name: string,
  email: string | null,
): Promise<string> {
  const mirrored = await mirroredCustomer(d.db, realmId, 'display_name', name);
  if (mirrored) return mirrored;

  const byName = await queryFirst(d.api, realmId, 'Customer', `DisplayName = ${queryString(name)}`);
  if (byName) return String(byName.Id);

  if (email) {
    const byEmail = await mirroredCustomer(d.db, realmId, 'email', email);
    if (byEmail) return byEmail;
  }

  try {
    const created = await d.api.create(
      realmId,
      'Customer',
      { DisplayName: name, ...(email ? { PrimaryEmailAddr: { Address: email } } : {}) },
      nameRequestId('cust', name),
    );
    return String(created.Id);
  } catch (err) {
    if (err instanceof QboFault && err.code === '6240') {
      // The name is taken by something the query above cannot return as an active
      // Customer: a Vendor or Employee (one namespace), or an inactive customer.
      throw new WritebackProblem(
        `QBO refused to create customer "${name}": ${err.message}. The name is used by a vendor, an employee or an inactive customer in QBO: rename one of them, or reactivate the customer.`,
      );
    }
    throw err;
  }
}

export interface ItemOptions {
  /** The Service item every line is booked on. */
  itemName: string;
}

/** The Service item lines are booked on, created on an income account when missing. */
export async function findOrCreateItem(
  d: CustomerRefs,
  realmId: string,
  o: ItemOptions,
): Promise<string> {
  const mirrored = await d.db
    .selectFrom('qbo_items')
    .select('qbo_id')
    .where('realm_id', '=', realmId)
    .where(sql<string>`lower(name)`, '=', o.itemName.toLowerCase())
    .where('type', 'in', ['Service', 'NonInventory'])
    .where('active', '=', true)
    .where('is_deleted', '=', false)
    .executeTakeFirst();
  if (mirrored) return mirrored.qbo_id;

  const found = await queryFirst(d.api, realmId, 'Item', `Name = ${queryString(o.itemName)}`);
  if (found) {
    if (found.Type === 'Service' || found.Type === 'NonInventory') return String(found.Id);
    throw new WritebackProblem(
      `QBO item "${o.itemName}" is of type ${String(found.Type)}: lines need a Service item. Rename that item in QBO or configure another item name.`,
    );
  }

  const accountId = await incomeAccount(d, realmId);
  const created = await d.api.create(
    realmId,
    'Item',
    { Name: o.itemName, Type: 'Service', IncomeAccountRef: { value: accountId } },
    nameRequestId('item', o.itemName),
  );
  return String(created.Id);
}

/** An active Income account, a service-fee one by preference. */
async function incomeAccount(d: CustomerRefs, realmId: string): Promise<string> {
  const mirrored = await d.db
    .selectFrom('qbo_accounts')
    .select(['qbo_id', 'account_sub_type'])
    .where('realm_id', '=', realmId)
    .where('account_type', '=', 'Income')
    .where('active', '=', true)
    .where('is_deleted', '=', false)
    .orderBy(sql`account_sub_type = 'ServiceFeeIncome'`, 'desc')
    .orderBy('qbo_id')
    .executeTakeFirst();
  if (mirrored) return mirrored.qbo_id;
  const res = await d.api.query<{ Account?: QboObject[] }>(
    realmId,
    "select * from Account where AccountType = 'Income' maxresults 100",
  );
  const accounts = res.Account ?? [];
  const pick = accounts.find((a) => a.AccountSubType === 'ServiceFeeIncome') ?? accounts[0] ?? null;
  if (!pick)
    throw new WritebackProblem(
      'The QBO company has no active Income account to book invoice lines on: add one to its chart of accounts.',
    );
  return String(pick.Id);
}
