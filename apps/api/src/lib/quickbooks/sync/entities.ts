// The six mirrored QBO entities, and which of them are name lists (never deleted by QBO:
// deactivated with Active=false, hidden from queries unless `Active` is named — qbo-facts).
import {
  MIRROR_TABLES,
  QBO_ENTITY_TYPES,
  type MirrorTableName,
  type QboEntityType,
} from '../../../db/schema.ts';

export type { QboEntityType };

/** Customer, Invoice, Payment, Vendor, Item, Account: the order runs and the status list them in. */
export const SYNC_ENTITIES: readonly QboEntityType[] = QBO_ENTITY_TYPES;

/**
 * The order a full pass counts and pages the entities in: those most companies hold most of
 * first. QBO allows 10 calls a second, so what is asked last waits for the last second; with
 * the heaviest pages asked first, that second carries the lightest, and less is left to write
 * when the last page arrives. Any order is correct; this one only finishes sooner.
 */
export const LARGEST_FIRST: readonly QboEntityType[] = [
  'Invoice',
  'Payment',
  'Customer',
  'Vendor',
  'Item',
  'Account',
];

export const NAME_LIST_ENTITIES: ReadonlySet<QboEntityType> = new Set([
  'Customer',
  'Vendor',
  'Item',
  'Account',
]);

export function isNameList(entity: QboEntityType): boolean {
  return NAME_LIST_ENTITIES.has(entity);
}

export function isSyncEntity(v: unknown): v is QboEntityType {
  return typeof v === 'string' && (SYNC_ENTITIES as readonly string[]).includes(v);
}

export function mirrorTable(entity: QboEntityType): MirrorTableName {
  return MIRROR_TABLES[entity];
}

/**
 * The WHERE clause (or '') that makes a query return inactive name-list objects too:
 * "queries return only active ones unless WHERE Active IN (true,false)" (qbo-facts; rec
 * get/inactive_vendors, all/employees_including_active).
 */
export function allObjectsFilter(entity: QboEntityType): string {
  return isNameList(entity) ? 'Active IN (true,false)' : '';
}
