import { formatQboTime } from './clock.ts';

/** Entity types the sandbox stores. Name lists are never deleted, only made inactive. */
export const TRANSACTION_ENTITIES = ['Invoice', 'Payment', 'Bill'] as const;
export const NAME_LIST_ENTITIES = [
  'Customer',
  'Vendor',
  'Employee',
  'Item',
  'Account',
  'Term',
  'TaxCode',
  'PaymentMethod',
] as const;
export const SINGLETON_ENTITIES = ['CompanyInfo', 'Preferences'] as const;
export const ENTITY_NAMES = [
  ...NAME_LIST_ENTITIES,
  ...TRANSACTION_ENTITIES,
  ...SINGLETON_ENTITIES,
] as const;
export type EntityName = (typeof ENTITY_NAMES)[number];

const lowerToEntity = new Map<string, EntityName>(ENTITY_NAMES.map((n) => [n.toLowerCase(), n]));
/** QBO matches entity names case-insensitively in paths and queries. */
export function entityFromName(name: string): EntityName | undefined {
  return lowerToEntity.get(name.toLowerCase());
}
export function isNameList(entity: EntityName): boolean {
  return (NAME_LIST_ENTITIES as readonly string[]).includes(entity);
}

export interface QboMetaData {
  CreateTime: string;
  LastUpdatedTime: string;
  [k: string]: unknown;
}

/** An entity exactly as the API returns it. */
export interface QboObject {
  Id: string;
  SyncToken: string;
  domain: 'QBO';
  sparse: false;
  MetaData: QboMetaData;
  [k: string]: unknown;
}

/** A stored object plus the instants the sandbox needs to filter on without re-parsing. */
export interface StoredRow {
  data: QboObject;
  createdAt: number;
  updatedAt: number;
}

export interface Tombstone {
  id: string;
  deletedAt: number;
}

export type ChangeOperation = 'Create' | 'Update' | 'Delete' | 'Merge' | 'Void' | 'Emailed';

export interface ChangeEvent {
  realmId: string;
  entity: EntityName;
  id: string;
  operation: ChangeOperation;
  at: number;
  deletedId?: string;
}

export interface CompanyOptions {
  realmId: string;
  companyName: string;
  /** Minutes east of UTC used in every timestamp QBO prints (default -420, as the recordings). */
  offsetMinutes?: number;
  country?: string;
  createdAt: number;
}

export interface CompanyCounters {
  nextIds: Record<string, number>;
  docNumber: number;
  /** `Entity:Id` of voided transactions (a voided invoice takes no payments). */
  voided?: string[];
}

/**
 * One QBO company (realm): its tables, tombstones of deleted transactions, id and
 * document-number counters. Change notification goes through `onChange`, which the sandbox
 * wires to CDC bookkeeping and webhook delivery.
 */
export class Company {
  readonly realmId: string;
  companyName: string;
  readonly offsetMinutes: number;
  readonly country: string;
  readonly createdAt: number;
  readonly tables = new Map<EntityName, Map<string, StoredRow>>();
  readonly tombstones = new Map<EntityName, Map<string, Tombstone>>();
  private readonly nextIds = new Map<EntityName, number>();
  private docNumberCounter = 1000;
  /** Voided transactions as `Entity:Id`; kept here so snapshots carry them. */
  readonly voided = new Set<string>();
  /** Bumped on every put/remove so readers (query sort caches) can tell the tables changed. */
  version = 0;
  onChange: (event: ChangeEvent) => void = () => {};

  constructor(opts: CompanyOptions) {
    this.realmId = opts.realmId;
    this.companyName = opts.companyName;
    this.offsetMinutes = opts.offsetMinutes ?? -420;
    this.country = opts.country ?? 'US';
    this.createdAt = opts.createdAt;
    for (const e of ENTITY_NAMES) {
      this.tables.set(e, new Map());
      this.tombstones.set(e, new Map());
    }
  }

  table(entity: EntityName): Map<string, StoredRow> {
    return this.tables.get(entity)!;
  }

  get(entity: EntityName, id: string): QboObject | undefined {
    return this.table(entity).get(id)?.data;
  }

  allocateId(entity: EntityName): string {
    const next = this.nextIds.get(entity) ?? 1;
    this.nextIds.set(entity, next + 1);
    return String(next);
  }

  /** Keeps the id counter ahead of ids created elsewhere (seeds, snapshots). */
  reserveId(entity: EntityName, id: string): void {
    const n = Number(id);
    if (Number.isInteger(n) && n >= (this.nextIds.get(entity) ?? 1))
      this.nextIds.set(entity, n + 1);
  }

  nextDocNumber(): string {
    this.docNumberCounter += 1;
    return String(this.docNumberCounter);
  }

  reserveDocNumber(docNumber: string): void {
    const n = Number(docNumber);
    if (Number.isInteger(n) && n > this.docNumberCounter) this.docNumberCounter = n;
  }

  /** The counters the tables do not show (next Ids, last DocNumber), for snapshots. */
  exportCounters(): CompanyCounters {
    return {
      nextIds: Object.fromEntries(this.nextIds),
      docNumber: this.docNumberCounter,
      voided: [...this.voided],
    };
  }

  importCounters(counters: CompanyCounters): void {
    this.nextIds.clear();
    for (const [e, n] of Object.entries(counters.nextIds)) {
      const entity = entityFromName(e);
      if (entity && Number.isInteger(n)) this.nextIds.set(entity, n);
    }
    if (Number.isInteger(counters.docNumber)) this.docNumberCounter = counters.docNumber;
    this.voided.clear();
    for (const key of counters.voided ?? []) this.voided.add(key);
  }

  formatTime(ms: number, withMillis = false): string {
    return formatQboTime(ms, this.offsetMinutes, withMillis);
  }

  /**
   * Stores an object as-is (the caller has already filled Id, SyncToken and MetaData).
   * The object must not be changed afterwards: a change is a new object put in its place,
   * since query pages serve each stored object's cached JSON text (`storedJson`).
   */
  put(
    entity: EntityName,
    data: QboObject,
    at: number,
    operation: ChangeOperation | null,
    extra?: Partial<ChangeEvent>,
  ): void {
    const existing = this.table(entity).get(data.Id);
    this.version += 1;
    this.table(entity).set(data.Id, { data, createdAt: existing?.createdAt ?? at, updatedAt: at });
    this.reserveId(entity, data.Id);
    if (operation)
      this.onChange({ realmId: this.realmId, entity, id: data.Id, operation, at, ...extra });
  }

  /** Removes a transaction, leaving a tombstone for CDC. */
  remove(
    entity: EntityName,
    id: string,
    at: number,
    operation: ChangeOperation | null = 'Delete',
  ): void {
    this.version += 1;
    this.table(entity).delete(id);
    this.tombstones.get(entity)!.set(id, { id, deletedAt: at });
    if (operation) this.onChange({ realmId: this.realmId, entity, id, operation, at });
  }

  /** Drops tombstones older than the CDC window; nothing can ask for them any more. */
  pruneTombstones(olderThan: number): void {
    for (const t of this.tombstones.values())
      for (const [id, s] of t) if (s.deletedAt < olderThan) t.delete(id);
  }

  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [e, t] of this.tables) out[e] = t.size;
    return out;
  }
}
