import type { QboObject } from '../core/company.ts';
import { defaultCompanyInfo } from '../accounting/entities/company-info.ts';
import { ACCOUNTS, PAYMENT_METHODS, TERMS } from './chart.ts';
import { HOUR, USD, money, type SeedContext, type SeedRow } from './context.ts';
import {
  PRODUCT_ITEMS,
  SERVICE_ITEMS,
  address,
  businessName,
  emailFor,
  person,
  phone,
  vendorName,
  type Address,
} from './names.ts';

export interface Ref {
  value: string;
  name: string;
}

export interface AccountInfo {
  ref: Ref;
  row: SeedRow;
}

export interface TermInfo {
  id: string;
  dueDays: number;
}

export interface ItemInfo {
  ref: Ref;
  description: string;
  unitCents: number;
}

export interface PartyInfo {
  ref: Ref;
  row: SeedRow;
  email?: string;
  billAddr?: Address;
  shipAddr?: Address;
  term?: TermInfo;
  /** Running open balance in cents. */
  balance: number;
}

/** The chart of accounts, all created at 08:00 on the first day. */
export function buildAccounts(ctx: SeedContext): Map<string, AccountInfo> {
  const out = new Map<string, AccountInfo>();
  ACCOUNTS.forEach((spec, i) => {
    const id = String(i + 1);
    const parent = spec.parent ? out.get(spec.parent) : undefined;
    const fqn = parent ? `${parent.ref.name}:${spec.name}` : spec.name;
    const at = ctx.base + 8 * HOUR + i * 1000;
    // Key order of qbo_api deactivate/account-1 and quickbooks-go account.json.
    const data = {
      Name: spec.name,
      SubAccount: Boolean(parent),
      ...(parent ? { ParentRef: { value: parent.ref.value } } : {}),
      FullyQualifiedName: fqn,
      Active: true,
      Classification: spec.classification,
      AccountType: spec.type,
      AccountSubType: spec.subType,
      CurrentBalance: 0,
      CurrentBalanceWithSubAccounts: 0,
      CurrencyRef: { ...USD },
      ...ctx.head(id, at),
    } as unknown as QboObject;
    out.set(spec.key, { ref: { value: id, name: fqn }, row: ctx.add('Account', data, at) });
  });
  return out;
}

/** Sets balance-sheet balances; QBO reports P&L accounts' CurrentBalance as 0. */
export function setAccountBalance(account: AccountInfo, cents: number): void {
  account.row.data.CurrentBalance = money(cents);
  account.row.data.CurrentBalanceWithSubAccounts = money(cents);
}

export function buildTerms(ctx: SeedContext): TermInfo[] {
  return TERMS.map((t, i) => {
    const id = String(i + 1);
    const at = ctx.base + 8 * HOUR + 600_000 + i * 1000;
    const data = {
      Name: t.name,
      Active: true,
      Type: 'STANDARD',
      DiscountPercent: t.discountPercent,
      DueDays: t.dueDays,
      ...(t.discountDays !== undefined ? { DiscountDays: t.discountDays } : {}),
      ...ctx.head(id, at),
    } as unknown as QboObject;
    ctx.add('Term', data, at);
    return { id, dueDays: t.dueDays };
  });
}

export function buildPaymentMethods(ctx: SeedContext): Ref[] {
  return PAYMENT_METHODS.map((m, i) => {
    const id = String(i + 1);
    const at = ctx.base + 8 * HOUR + 900_000 + i * 1000;
    const data = { Name: m.name, Active: true, Type: m.type, ...ctx.head(id, at) } as QboObject;
    ctx.add('PaymentMethod', data, at);
    return { value: id, name: m.name };
  });
}

/** Services book to an income account; non-inventory products also carry a cost account. */
export function buildItems(
  ctx: SeedContext,
  count: number,
  accounts: Map<string, AccountInfo>,
): ItemInfo[] {
  const { rng } = ctx;
  const used = new Map<string, number>();
  const items: ItemInfo[] = [];
  for (let i = 0; i < count; i++) {
    const service = i % 3 !== 2;
    const base = service ? SERVICE_ITEMS[i % SERVICE_ITEMS.length]! : rng.pick(PRODUCT_ITEMS);
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    const name = n === 1 ? base : `${base} ${n}`;
    // Hourly services in whole dollars, products with cents (22.50, 12.75…).
    const unitCents = service ? rng.int(3, 30) * 500 : rng.int(4, 2000) * 25;
    const id = String(i + 1);
    const at = ctx.base + 8 * HOUR + 1_800_000 + i * 1000;
    const income = accounts.get(service ? (i % 2 ? 'landscaping' : 'services') : 'product')!;
    const description = service ? `${name} services` : name;
    const data = {
      Name: name,
      Description: description,
      Active: true,
      FullyQualifiedName: name,
      Taxable: !service,
      UnitPrice: money(unitCents),
      Type: service ? 'Service' : 'NonInventory',
      IncomeAccountRef: { ...income.ref },
      ...(service
        ? {}
        : {
            ExpenseAccountRef: { ...accounts.get('cogs')!.ref },
            PurchaseCost: money(Math.floor(unitCents * 0.6)),
          }),
      TrackQtyOnHand: false,
      ...ctx.head(id, at),
    } as unknown as QboObject;
    ctx.add('Item', data, at);
    items.push({ ref: { value: id, name }, description, unitCents });
  }
  return items;
}

/** DisplayName is unique across customers, vendors and employees (Customer entity docs). */
function uniqueName(names: Map<string, number>, base: string): string {
  const n = (names.get(base) ?? 0) + 1;
  names.set(base, n);
  return n === 1 ? base : `${base} ${n}`;
}

/** Name-list creation times: spread over the first working day, 09:00 to 17:00. */
const nameTime = (ctx: SeedContext, i: number, n: number): number =>
  ctx.base + 9 * HOUR + Math.floor((i * 8 * HOUR) / Math.max(n, 1) / 1000) * 1000;

export function buildCustomers(
  ctx: SeedContext,
  count: number,
  firstId: number,
  terms: TermInfo[],
  names: Map<string, number>,
): PartyInfo[] {
  const { rng } = ctx;
  const out: PartyInfo[] = [];
  for (let i = 0; i < count; i++) {
    const id = String(firstId + i);
    const at = nameTime(ctx, i, count);
    const contact = person(rng);
    const business = rng.bool(0.7);
    const companyName = business ? businessName(rng) : undefined;
    const display = uniqueName(names, companyName ?? `${contact.given} ${contact.family}`);
    const billAddr = rng.bool(0.85) ? address(rng, ctx.addressId()) : undefined;
    const shipAddr = billAddr && rng.bool(0.5) ? { ...billAddr } : undefined;
    const email = rng.bool(0.9) ? emailFor(display, firstId + i) : undefined;
    const term = rng.bool(0.6) ? rng.pick(terms) : undefined;
    const taxable = rng.bool(0.5);
    // Key order of qbo_api get/id and all/customers.
    const data = {
      Taxable: taxable,
      ...(billAddr ? { BillAddr: billAddr } : {}),
      ...(shipAddr ? { ShipAddr: shipAddr } : {}),
      Job: false,
      BillWithParent: false,
      Balance: 0,
      BalanceWithJobs: 0,
      CurrencyRef: { ...USD },
      PreferredDeliveryMethod: email ? 'Email' : 'Print',
      ...(term ? { SalesTermRef: { value: term.id } } : {}),
      ...ctx.head(id, at),
      GivenName: contact.given,
      FamilyName: contact.family,
      FullyQualifiedName: display,
      ...(companyName ? { CompanyName: companyName } : {}),
      DisplayName: display,
      PrintOnCheckName: display,
      Active: true,
      ...(rng.bool(0.8) ? { PrimaryPhone: { FreeFormNumber: phone(rng) } } : {}),
      ...(email ? { PrimaryEmailAddr: { Address: email } } : {}),
    } as unknown as QboObject;
    const row = ctx.add('Customer', data, at);
    out.push({
      ref: { value: id, name: display },
      row,
      ...(email ? { email } : {}),
      ...(billAddr ? { billAddr } : {}),
      ...(shipAddr ? { shipAddr } : {}),
      ...(term ? { term } : {}),
      balance: 0,
    });
  }
  return out;
}

export function buildVendors(
  ctx: SeedContext,
  count: number,
  firstId: number,
  terms: TermInfo[],
  names: Map<string, number>,
): PartyInfo[] {
  const { rng } = ctx;
  const out: PartyInfo[] = [];
  for (let i = 0; i < count; i++) {
    const id = String(firstId + i);
    const at = nameTime(ctx, i, count) + 1000;
    const companyName = vendorName(rng);
    const display = uniqueName(names, companyName);
    const contact = rng.bool(0.5) ? person(rng) : undefined;
    const billAddr = rng.bool(0.8) ? address(rng, ctx.addressId()) : undefined;
    const email = rng.bool(0.7) ? emailFor(display, firstId + i) : undefined;
    const term = rng.bool(0.5) ? rng.pick(terms) : undefined;
    // Key order of qbo_api all/vendors_by_5 and quickbooks-go vendor.json.
    const data = {
      ...(billAddr ? { BillAddr: billAddr } : {}),
      ...(term ? { TermRef: { value: term.id } } : {}),
      Balance: 0,
      ...(rng.bool(0.5) ? { AcctNum: String(rng.int(1000, 99999)) } : {}),
      Vendor1099: rng.bool(0.2),
      CurrencyRef: { ...USD },
      ...ctx.head(id, at),
      ...(contact ? { GivenName: contact.given, FamilyName: contact.family } : {}),
      CompanyName: companyName,
      DisplayName: display,
      PrintOnCheckName: display,
      Active: true,
      ...(rng.bool(0.8) ? { PrimaryPhone: { FreeFormNumber: phone(rng) } } : {}),
      ...(email ? { PrimaryEmailAddr: { Address: email } } : {}),
    } as unknown as QboObject;
    const row = ctx.add('Vendor', data, at);
    out.push({
      ref: { value: id, name: display },
      row,
      ...(term ? { term } : {}),
      balance: 0,
    });
  }
  return out;
}

/** CompanyInfo as in the CompanyInfo entity docs' sample; Id is always "1" in QBO. */
export function buildCompanyInfo(ctx: SeedContext, startDate: string): void {
  const { company, rng } = ctx;
  const addr = address(rng, ctx.addressId());
  const { Lat: _lat, Long: _long, ...companyAddr } = addr;
  // Keep the Id of a CompanyInfo the company already has (there is only ever one).
  const existing = company.table('CompanyInfo').values().next().value?.data;
  const at = ctx.base + 8 * HOUR;
  const data = {
    ...defaultCompanyInfo(company, 'Landscaping Services'),
    CompanyAddr: companyAddr,
    CustomerCommunicationAddr: { ...companyAddr },
    LegalAddr: { ...companyAddr },
    PrimaryPhone: { FreeFormNumber: phone(rng) },
    CompanyStartDate: startDate,
    Email: { Address: emailFor(company.companyName, 0) },
    ...ctx.head(existing?.Id ?? '1', at),
  } as unknown as QboObject;
  ctx.add('CompanyInfo', data, at);
}
