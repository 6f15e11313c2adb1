import { KNOWN_PROPERTIES } from '../accounting/entities/known-properties.ts';
import type { EntityName } from '../core/company.ts';

/**
 * A query that names a property the entity does not have is rejected with 4001
 * "Property X not found for Entity Y", as QBO does. The property lists are the ones the
 * Accounting API validates writes against (2010), so queries and writes agree; properties
 * present on stored objects are accepted too (see the evaluator).
 */
const byLower = new Map<EntityName, Map<string, string>>();
for (const [entity, props] of Object.entries(KNOWN_PROPERTIES) as [
  EntityName,
  readonly string[],
][]) {
  byLower.set(entity, new Map(props.map((p) => [p.toLowerCase(), p])));
}

/**
 * The canonical spelling of a top-level property; undefined when QBO would not know it;
 * null for an entity without a property list here (then any name is accepted).
 */
export function knownProperty(entity: EntityName, name: string): string | undefined | null {
  const props = byLower.get(entity);
  return props ? props.get(name.toLowerCase()) : null;
}

/**
 * The order QBO returns rows in when there is no ORDERBY, as seen in the recordings:
 * Customers by FullyQualifiedName (a sub-customer follows its parent, rec all/customers-2),
 * Vendors and Employees by DisplayName (rec all/vendors_by_5-*,
 * all/employees_including_active-2), in binary order
 * ("PG&E" before "Pam Seitz"); transactions newest change first (rec all/sales_receipts:
 * LastUpdatedTime descending). Other name lists follow their name property.
 */
export type DefaultOrder = { kind: 'name'; property: string } | { kind: 'updated-desc' };

export function defaultOrder(entity: EntityName): DefaultOrder {
  switch (entity) {
    case 'Customer':
    case 'Item':
    case 'Account':
      return { kind: 'name', property: 'FullyQualifiedName' };
    case 'Vendor':
    case 'Employee':
      return { kind: 'name', property: 'DisplayName' };
    case 'Term':
    case 'TaxCode':
    case 'PaymentMethod':
      return { kind: 'name', property: 'Name' };
    default:
      return { kind: 'updated-desc' };
  }
}
