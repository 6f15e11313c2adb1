import { Faults } from '../../core/faults.ts';
import type { Company, EntityName } from '../../core/company.ts';
import { text, type Fields } from '../validate.ts';

/**
 * Customer, Vendor and Employee share one DisplayName namespace (Workato KB "QuickBooks
 * Error: Duplicate Name Exists"; Bill.com KB: "All contacts must have unique names in
 * QuickBooks Online, regardless of contact type"). Other lists are unique on their own.
 */
const NAMESPACES: Partial<Record<EntityName, { entities: EntityName[]; field: string }>> = {
  Customer: { entities: ['Customer', 'Vendor', 'Employee'], field: 'DisplayName' },
  Vendor: { entities: ['Customer', 'Vendor', 'Employee'], field: 'DisplayName' },
  Employee: { entities: ['Customer', 'Vendor', 'Employee'], field: 'DisplayName' },
  Item: { entities: ['Item'], field: 'FullyQualifiedName' },
  Account: { entities: ['Account'], field: 'FullyQualifiedName' },
  Term: { entities: ['Term'], field: 'Name' },
  PaymentMethod: { entities: ['PaymentMethod'], field: 'Name' },
  TaxCode: { entities: ['TaxCode'], field: 'Name' },
};

/** The field that carries a name list's unique name. */
export function nameField(entity: EntityName): string | undefined {
  return NAMESPACES[entity]?.field;
}

const norm = (s: string): string => s.trim().toLowerCase();

/**
 * 6240 when another object of the namespace carries the name (rec error/validation).
 * QBO compares names without regard to case ⚠ (its UI treats "acme" and "Acme" as one).
 */
export function assertUniqueName(
  company: Company,
  entity: EntityName,
  name: string,
  selfId?: string,
): void {
  const ns = NAMESPACES[entity];
  if (!ns) return;
  const wanted = norm(name);
  for (const e of ns.entities)
    for (const [id, row] of company.table(e)) {
      if (e === entity && id === selfId) continue;
      const other = row.data[ns.field];
      if (typeof other === 'string' && norm(other) === wanted) throw Faults.duplicateName();
    }
}

/**
 * Deactivated names are renamed with a ` (deleted)` suffix: rec deactivate/employee
 * (`"DisplayName": "Emily Platt (deleted)"`), deactivate/account (`Name` and
 * `FullyQualifiedName` "Fees Billed (deleted)"), quickbooks-ruby deleted_customer.xml
 * (DisplayName and FullyQualifiedName; PrintOnCheckName untouched).
 */
export const DELETED_SUFFIX = ' (deleted)';
const SUFFIX_RE = / \(deleted\)$/i;

export function withDeletedSuffix(name: string): string {
  return SUFFIX_RE.test(name) ? name : `${name}${DELETED_SUFFIX}`;
}

/** Reactivating removes the suffix again ⚠ (QBO's UI shows the plain name once active). */
export function withoutDeletedSuffix(name: string): string {
  return name.replace(SUFFIX_RE, '');
}

/** Applies the suffix rule to the name fields of a name list object. */
export function applyActiveNaming(fields: Fields, keys: readonly string[]): void {
  const active = fields.Active !== false;
  for (const k of keys) {
    const v = fields[k];
    if (typeof v !== 'string') continue;
    fields[k] = active ? withoutDeletedSuffix(v) : withDeletedSuffix(v);
  }
}

/**
 * A person's DisplayName: the one sent, else the name parts joined by spaces (QBO fills it
 * from Title/GivenName/MiddleName/FamilyName/Suffix when omitted ⚠ order as in its UI).
 */
export function personDisplayName(fields: Fields): string | undefined {
  const explicit = text(fields.DisplayName);
  if (explicit) return explicit;
  const parts = ['Title', 'GivenName', 'MiddleName', 'FamilyName', 'Suffix']
    .map((k) => text(fields[k]))
    .filter((s): s is string => s !== undefined);
  return parts.length ? parts.join(' ') : undefined;
}
