import type { Company, EntityName } from '../core/company.ts';
import { SINGLETON_ENTITIES } from '../core/company.ts';
import { storedJson } from '../core/json-text.ts';
import { warmOrders } from '../query/evaluator.ts';
import {
  buildAccounts,
  buildCompanyInfo,
  buildCustomers,
  buildItems,
  buildPaymentMethods,
  buildTerms,
  buildVendors,
  setAccountBalance,
} from './build-lists.ts';
import { buildTransactions } from './build-transactions.ts';
import { SeedContext, money } from './context.ts';
import { resolveSeedOptions, type ResolvedSeedOptions, type SeedOptions } from './options.ts';
import { Random } from './random.ts';

export interface SeedResult {
  realmId: string;
  options: ResolvedSeedOptions;
  /** Entities the seed stored, per type. */
  counts: Record<string, number>;
  /** All entities the seed stored. */
  total: number;
  ms: number;
}

/** The company already holds data and `replace` was not set. */
export class SeedConflictError extends Error {}

/** Opening balance of the checking account, balanced by Opening Balance Equity. */
const OPENING_CENTS = 2_500_000;

/** True when the company holds nothing but its singletons (CompanyInfo, Preferences). */
export function isEmptyCompany(company: Company): boolean {
  for (const [entity, table] of company.tables) {
    if ((SINGLETON_ENTITIES as readonly string[]).includes(entity)) continue;
    if (table.size > 0) return false;
  }
  return true;
}

/**
 * Fills a company with a deterministic, internally consistent history: same seed and
 * options, byte-identical entities (every time is derived from `startDate`, never from
 * the wall clock). Rows are stored directly, without change events: a seed is the
 * company's past, not activity a webhook subscriber or CDC poller should see.
 */
export function seedCompany(company: Company, input: SeedOptions): SeedResult {
  const started = performance.now();
  const options = resolveSeedOptions(input);
  if (!isEmptyCompany(company)) {
    if (!input.replace) {
      throw new SeedConflictError(
        `company ${company.realmId} already has data; pass replace: true to drop it first`,
      );
    }
    for (const [entity, table] of company.tables) {
      if (!(SINGLETON_ENTITIES as readonly string[]).includes(entity)) table.clear();
    }
    for (const t of company.tombstones.values()) t.clear();
  }

  const base = Date.parse(`${options.startDate}T00:00:00Z`) - company.offsetMinutes * 60_000;
  const ctx = new SeedContext(company, new Random(options.seed), base);
  buildCompanyInfo(ctx, options.startDate);
  const accounts = buildAccounts(ctx);
  const terms = buildTerms(ctx);
  const paymentMethods = buildPaymentMethods(ctx);
  const items = buildItems(ctx, options.items, accounts);
  // Customers and vendors share one Id sequence, as QBO's name lists do (qbo_api all/:
  // customers 1…67 and vendors 30, 56 interleave).
  const names = new Map<string, number>();
  const customers = buildCustomers(ctx, options.customers, 1, terms, names);
  const vendors = buildVendors(ctx, options.vendors, options.customers + 1, terms, names);
  const totals = buildTransactions(
    ctx,
    options,
    { accounts, items, customers, vendors, paymentMethods },
    options.days,
  );

  for (const c of customers) {
    c.row.data.Balance = money(c.balance);
    c.row.data.BalanceWithJobs = money(c.balance);
  }
  for (const v of vendors) v.row.data.Balance = money(v.balance);
  setAccountBalance(accounts.get('checking')!, OPENING_CENTS);
  setAccountBalance(accounts.get('obe')!, OPENING_CENTS);
  setAccountBalance(accounts.get('ar')!, totals.receivable);
  setAccountBalance(accounts.get('undeposited')!, totals.received);
  setAccountBalance(accounts.get('ap')!, totals.payable);

  ctx.finishTimes();
  let lastDocNumber = '';
  for (const row of ctx.rows) {
    company.put(row.entity, row.data, row.updatedAt, null);
    const stored = company.table(row.entity).get(row.data.Id)!;
    // put() takes one instant; the row was created earlier than its last balance change.
    stored.createdAt = row.createdAt;
    // Serialised now rather than by the first query that pages through it: a client reading
    // a large company otherwise waits on that work (and the collections of a heap holding the
    // whole company that it sets off) inside the calls it times.
    storedJson(stored.data);
    if (row.entity === 'Invoice') lastDocNumber = row.data.DocNumber as string;
  }
  // The next invoice created through the API continues the sequence (rec create/invoice: 1043).
  if (lastDocNumber) company.reserveDocNumber(lastDocNumber);

  const counts: Record<string, number> = {};
  for (const row of ctx.rows) counts[row.entity] = (counts[row.entity] ?? 0) + 1;
  for (const entity of Object.keys(counts)) warmOrders(company, entity as EntityName);
  return {
    realmId: company.realmId,
    options,
    counts: counts,
    total: ctx.rows.length,
    ms: Math.round(performance.now() - started),
  };
}
