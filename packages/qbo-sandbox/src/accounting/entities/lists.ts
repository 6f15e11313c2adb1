import {
  accountTypeMissing,
  bool,
  decimal,
  isObject,
  pick,
  refTo,
  requiredParam,
  resolveRef,
  text,
  type Fields,
} from '../validate.ts';
import { toJsonNumber } from '../money.ts';
import { applyActiveNaming, assertUniqueName } from './names.ts';
import { USD } from './people.ts';
import type { EntitySpec } from './types.ts';

const num = (v: unknown, path: string, fallback: number): number => {
  const b = decimal(v, path);
  return b ? toJsonNumber(b) : fallback;
};

/** Item (Intuit API reference "Item"): Service and NonInventory need an income account. */
export const itemSpec: EntitySpec = {
  entity: 'Item',
  kind: 'name',
  publicCreate: true,
  voidable: false,
  build({ fields, existing, op }) {
    const { company } = op;
    const name = text(fields.Name);
    if (!name) throw requiredParam('Name');
    // ⚠ QBO's default Type is not documented precisely; Service is what its UI offers first.
    const type = text(fields.Type) ?? (existing?.Type as string | undefined) ?? 'Service';
    const accountRef = (key: string, required: boolean): Fields | undefined => {
      if (fields[key] === undefined || fields[key] === null) {
        if (required) throw requiredParam(key);
        return undefined;
      }
      const acct = resolveRef(company, 'Account', fields[key], key);
      return refTo(acct.Id, acct.Name);
    };
    const inventory = type === 'Inventory';
    const category = type === 'Category';
    const income = category ? undefined : accountRef('IncomeAccountRef', true);
    const expense = accountRef('ExpenseAccountRef', inventory);
    const asset = accountRef('AssetAccountRef', inventory);
    if (inventory && fields.QtyOnHand === undefined) throw requiredParam('QtyOnHand');
    if (inventory && fields.InvStartDate === undefined) throw requiredParam('InvStartDate');
    let fqn = name;
    let parent: Fields | undefined;
    if (fields.ParentRef) {
      const p = resolveRef(company, 'Item', fields.ParentRef, 'ParentRef');
      parent = refTo(p.Id, p.Name);
      fqn = `${String(p.FullyQualifiedName)}:${name}`;
    }
    const out: Fields = {
      Name: name,
      ...pick(fields, ['Sku', 'Description', 'PurchaseDesc', 'SalesTaxCodeRef', 'ClassRef']),
      Active: bool(fields.Active, true),
      ...(parent ? { SubItem: true, ParentRef: parent, Level: 1 } : {}),
      FullyQualifiedName: fqn,
      Taxable: bool(fields.Taxable, false),
      UnitPrice: num(fields.UnitPrice, 'UnitPrice', 0),
      Type: type,
      ...(income ? { IncomeAccountRef: income } : {}),
      PurchaseCost: num(fields.PurchaseCost, 'PurchaseCost', 0),
      ...(expense ? { ExpenseAccountRef: expense } : {}),
      ...(asset ? { AssetAccountRef: asset } : {}),
      TrackQtyOnHand: bool(fields.TrackQtyOnHand, inventory),
      ...(inventory
        ? { QtyOnHand: num(fields.QtyOnHand, 'QtyOnHand', 0), InvStartDate: fields.InvStartDate }
        : {}),
    };
    applyActiveNaming(out, ['Name', 'FullyQualifiedName']);
    assertUniqueName(company, 'Item', String(out.FullyQualifiedName), existing?.Id);
    return out;
  },
};

/** AccountType → [Classification, default AccountSubType] (Intuit "Account" reference). */
const ACCOUNT_TYPES: Record<string, [string, string]> = {
  Bank: ['Asset', 'Checking'],
  'Other Current Asset': ['Asset', 'OtherCurrentAssets'],
  'Fixed Asset': ['Asset', 'OtherFixedAssets'],
  'Other Asset': ['Asset', 'OtherLongTermAssets'],
  'Accounts Receivable': ['Asset', 'AccountsReceivable'],
  Equity: ['Equity', 'OpeningBalanceEquity'],
  Expense: ['Expense', 'OtherMiscellaneousServiceCost'],
  'Other Expense': ['Expense', 'OtherMiscellaneousExpense'],
  'Cost of Goods Sold': ['Expense', 'SuppliesMaterialsCogs'],
  'Accounts Payable': ['Liability', 'AccountsPayable'],
  'Credit Card': ['Liability', 'CreditCard'],
  'Long Term Liability': ['Liability', 'OtherLongTermLiabilities'],
  'Other Current Liability': ['Liability', 'OtherCurrentLiabilities'],
  Income: ['Revenue', 'ServiceFeeIncome'],
  'Other Income': ['Revenue', 'OtherMiscellaneousIncome'],
};
const SUBTYPE_TO_TYPE: Record<string, string> = {
  ...Object.fromEntries(Object.entries(ACCOUNT_TYPES).map(([t, [, s]]) => [s, t])),
  Savings: 'Bank',
  CashOnHand: 'Bank',
  UndepositedFunds: 'Other Current Asset',
  Inventory: 'Other Current Asset',
  SalesOfProductIncome: 'Income',
  DiscountsRefundsGiven: 'Income',
  SuppliesMaterials: 'Expense',
  AdvertisingPromotional: 'Expense',
  Utilities: 'Expense',
  RetainedEarnings: 'Equity',
  OwnersEquity: 'Equity',
};

export const accountSpec: EntitySpec = {
  entity: 'Account',
  kind: 'name',
  publicCreate: true,
  voidable: false,
  build({ fields, existing, op }) {
    const name = text(fields.Name);
    if (!name) throw requiredParam('Name');
    const subIn = text(fields.AccountSubType);
    const type = text(fields.AccountType) ?? (subIn ? SUBTYPE_TO_TYPE[subIn] : undefined);
    if (!type) throw accountTypeMissing();
    const [classification, defaultSub] = ACCOUNT_TYPES[type] ?? [undefined, undefined];
    let fqn = name;
    let parent: Fields | undefined;
    if (fields.ParentRef) {
      const p = resolveRef(op.company, 'Account', fields.ParentRef, 'ParentRef');
      parent = refTo(p.Id, p.Name);
      fqn = `${String(p.FullyQualifiedName)}:${name}`;
    }
    // rec deactivate/account-1 shows the field set and order.
    const out: Fields = {
      Name: name,
      SubAccount: parent !== undefined,
      ...(parent ? { ParentRef: parent } : {}),
      ...pick(fields, ['Description', 'AcctNum', 'TaxCodeRef']),
      FullyQualifiedName: fqn,
      Active: bool(fields.Active, true),
      ...(classification ? { Classification: classification } : {}),
      AccountType: type,
      ...(subIn || defaultSub ? { AccountSubType: subIn ?? defaultSub } : {}),
      CurrentBalance: existing?.CurrentBalance ?? 0,
      CurrentBalanceWithSubAccounts: existing?.CurrentBalanceWithSubAccounts ?? 0,
      CurrencyRef: isObject(fields.CurrencyRef) ? fields.CurrencyRef : USD,
    };
    applyActiveNaming(out, ['Name', 'FullyQualifiedName']);
    assertUniqueName(op.company, 'Account', String(out.FullyQualifiedName), existing?.Id);
    return out;
  },
};

/** Term (Intuit "Term" reference sample: Type STANDARD, DueDays, DiscountPercent). */
export const termSpec: EntitySpec = {
  entity: 'Term',
  kind: 'name',
  publicCreate: true,
  voidable: false,
  build({ fields, existing, op }) {
    const name = text(fields.Name);
    if (!name) throw requiredParam('Name');
    const out: Fields = {
      Name: name,
      Active: bool(fields.Active, true),
      Type: text(fields.Type) ?? 'STANDARD',
      DiscountPercent: num(fields.DiscountPercent, 'DiscountPercent', 0),
      DueDays: num(fields.DueDays, 'DueDays', 0),
      DiscountDays: num(fields.DiscountDays, 'DiscountDays', 0),
      ...pick(fields, ['DayOfMonthDue', 'DueNextMonthDays', 'DiscountDayOfMonth']),
    };
    applyActiveNaming(out, ['Name']);
    assertUniqueName(op.company, 'Term', name, existing?.Id);
    return out;
  },
};

/** PaymentMethod (quickbooks-ruby deleted_payment_method.xml: renamed when made inactive). */
export const paymentMethodSpec: EntitySpec = {
  entity: 'PaymentMethod',
  kind: 'name',
  publicCreate: true,
  voidable: false,
  build({ fields, existing, op }) {
    const name = text(fields.Name);
    if (!name) throw requiredParam('Name');
    const out: Fields = {
      Name: name,
      Active: bool(fields.Active, true),
      Type: text(fields.Type) ?? 'NON_CREDIT_CARD',
    };
    applyActiveNaming(out, ['Name']);
    assertUniqueName(op.company, 'PaymentMethod', String(out.Name), existing?.Id);
    return out;
  },
};

/** TaxCode is read-only in the Accounting API (created through TaxService); control API only. */
export const taxCodeSpec: EntitySpec = {
  entity: 'TaxCode',
  kind: 'name',
  publicCreate: false,
  voidable: false,
  build({ fields, existing, op }) {
    const name = text(fields.Name);
    if (!name) throw requiredParam('Name');
    assertUniqueName(op.company, 'TaxCode', name, existing?.Id);
    return {
      Name: name,
      ...pick(fields, ['Description']),
      Active: bool(fields.Active, true),
      Hidden: bool(fields.Hidden, false),
      Taxable: bool(fields.Taxable, true),
      TaxGroup: bool(fields.TaxGroup, false),
      SalesTaxRateList: isObject(fields.SalesTaxRateList)
        ? fields.SalesTaxRateList
        : { TaxRateDetail: [] },
      PurchaseTaxRateList: isObject(fields.PurchaseTaxRateList)
        ? fields.PurchaseTaxRateList
        : { TaxRateDetail: [] },
    };
  },
};
