import type { Company, QboObject } from '../../core/company.ts';
import {
  bool,
  businessRule,
  isObject,
  noNameProvided,
  pick,
  refTo,
  resolveRef,
  text,
  type Fields,
} from '../validate.ts';
import { applyActiveNaming, assertUniqueName, personDisplayName } from './names.ts';
import type { BuildInput, EntitySpec } from './types.ts';

export const USD = { value: 'USD', name: 'United States Dollar' };

const CONTACT_FIELDS = [
  'Title',
  'GivenName',
  'MiddleName',
  'FamilyName',
  'Suffix',
  'CompanyName',
  'PrimaryPhone',
  'AlternatePhone',
  'Mobile',
  'Fax',
  'PrimaryEmailAddr',
  'WebAddr',
  'OtherContactInfo',
  'Notes',
  'AcctNum',
];

const addressIds = new WeakMap<Company, number>();

/**
 * Addresses get their own Id (rec create/invoice copies `BillAddr.Id` "2" from the
 * customer). QBO geocodes them; the sandbox cannot, and QBO writes `"INVALID"` when
 * geocoding fails (rec create/invoice), so that is what an address without Lat/Long gets.
 */
export function normaliseAddress(company: Company, addr: unknown, previous?: unknown): unknown {
  if (!isObject(addr)) return addr;
  const out: Fields = { ...addr };
  if (out.Id === undefined) {
    if (isObject(previous) && typeof previous.Id === 'string') out.Id = previous.Id;
    else {
      const next = (addressIds.get(company) ?? 0) + 1;
      addressIds.set(company, next);
      out.Id = String(next);
    }
  }
  if (out.Lat === undefined) out.Lat = 'INVALID';
  if (out.Long === undefined) out.Long = 'INVALID';
  return out;
}

/** Name parts, DisplayName, PrintOnCheckName, contact data, Active, with the naming rules. */
function personBase(input: BuildInput, addrKeys: readonly string[]): Fields {
  const { fields, existing, op } = input;
  const displayName = personDisplayName(fields);
  if (!displayName) throw noNameProvided();
  const out: Fields = pick(fields, CONTACT_FIELDS);
  out.DisplayName = displayName;
  out.Active = bool(fields.Active, true);
  applyActiveNaming(out, ['DisplayName']);
  const plainName = String(out.DisplayName).replace(/ \(deleted\)$/i, '');
  // rec create/customer: PrintOnCheckName defaults to the DisplayName; quickbooks-ruby
  // deleted_customer.xml: to the CompanyName when there is one.
  out.PrintOnCheckName = text(fields.PrintOnCheckName) ?? text(fields.CompanyName) ?? plainName;
  for (const k of addrKeys)
    if (fields[k] !== undefined) out[k] = normaliseAddress(op.company, fields[k], existing?.[k]);
  return out;
}

function currency(fields: Fields): unknown {
  return isObject(fields.CurrencyRef) ? fields.CurrencyRef : USD;
}

function firstTaxableTaxCode(company: Company): QboObject | undefined {
  for (const row of company.table('TaxCode').values())
    if (row.data.Active !== false && row.data.Taxable === true) return row.data;
  return undefined;
}

export const customerSpec: EntitySpec = {
  entity: 'Customer',
  kind: 'name',
  publicCreate: true,
  voidable: false,
  build(input) {
    const { fields, existing, op } = input;
    const { company } = op;
    const base = personBase(input, ['BillAddr', 'ShipAddr']);
    let fqn = String(base.DisplayName);
    let level = 0;
    let parentRef: Fields | undefined;
    if (fields.ParentRef !== undefined && fields.ParentRef !== null) {
      const parent = resolveRef(company, 'Customer', fields.ParentRef, 'ParentRef');
      if (parent.Id === existing?.Id)
        throw businessRule('A customer cannot be its own parent', 'ParentRef');
      parentRef = refTo(parent.Id, parent.DisplayName);
      fqn = `${String(parent.FullyQualifiedName)}:${fqn}`;
      level = Number(parent.Level ?? 0) + 1;
    }
    assertUniqueName(company, 'Customer', String(base.DisplayName), existing?.Id);
    for (const [k, entity] of [
      ['SalesTermRef', 'Term'],
      ['PaymentMethodRef', 'PaymentMethod'],
      ['DefaultTaxCodeRef', 'TaxCode'],
    ] as const)
      if (fields[k] !== undefined && fields[k] !== null) resolveRef(company, entity, fields[k], k);
    const taxCode = firstTaxableTaxCode(company);
    // rec create/customer: a new customer of a US company is Taxable with the company's
    // taxable code as DefaultTaxCodeRef ("2" there).
    const out: Fields = {
      Taxable: bool(fields.Taxable, true),
      ...base,
      Job: parentRef !== undefined,
      BillWithParent: bool(fields.BillWithParent, false),
      ...(parentRef ? { ParentRef: parentRef, Level: level } : {}),
      Balance: existing?.Balance ?? 0,
      BalanceWithJobs: existing?.BalanceWithJobs ?? 0,
      CurrencyRef: currency(fields),
      PreferredDeliveryMethod: text(fields.PreferredDeliveryMethod) ?? 'Print',
      FullyQualifiedName: fqn,
      ...pick(fields, [
        'SalesTermRef',
        'PaymentMethodRef',
        'ResaleNum',
        'CustomerTypeRef',
        'PrimaryTaxIdentifier',
        'TaxExemptionReasonId',
      ]),
    };
    if (fields.DefaultTaxCodeRef) out.DefaultTaxCodeRef = fields.DefaultTaxCodeRef;
    else if (taxCode && out.Taxable === true) out.DefaultTaxCodeRef = { value: taxCode.Id };
    applyActiveNaming(out, ['FullyQualifiedName']);
    return out;
  },
};

export const vendorSpec: EntitySpec = {
  entity: 'Vendor',
  kind: 'name',
  publicCreate: true,
  voidable: false,
  build(input) {
    const { fields, existing, op } = input;
    const base = personBase(input, ['BillAddr']);
    assertUniqueName(op.company, 'Vendor', String(base.DisplayName), existing?.Id);
    if (fields.TermRef !== undefined && fields.TermRef !== null)
      resolveRef(op.company, 'Term', fields.TermRef, 'TermRef');
    // quickbooks-go testing/vendor.json: Vendor1099, Balance and Active are always present.
    return {
      ...base,
      Vendor1099: bool(fields.Vendor1099, false),
      Balance: existing?.Balance ?? 0,
      CurrencyRef: currency(fields),
      ...pick(fields, ['TermRef', 'TaxIdentifier', 'BillRate', 'CostRate', 'APAccountRef']),
    };
  },
};

export const employeeSpec: EntitySpec = {
  entity: 'Employee',
  kind: 'name',
  publicCreate: true,
  voidable: false,
  build(input) {
    const { fields, existing, op } = input;
    const base = personBase(input, ['PrimaryAddr']);
    assertUniqueName(op.company, 'Employee', String(base.DisplayName), existing?.Id);
    // rec deactivate/employee: BillableTime is always present.
    return {
      BillableTime: bool(fields.BillableTime, false),
      ...base,
      ...pick(fields, [
        'EmployeeNumber',
        'SSN',
        'BillRate',
        'CostRate',
        'BirthDate',
        'Gender',
        'HiredDate',
        'ReleasedDate',
      ]),
    };
  },
};
