// Reads what Intuit sends, in both formats, liberally (pure: no I/O).
//
//  * Legacy: `{"eventNotifications":[{"realmId","dataChangeEvent":{"entities":[{name, id,
//    operation, lastUpdated, deletedId?}]}}]}` (docs "Webhooks"; .NET SDK fixtures).
//  * CloudEvents (mandatory from 2026, blog 2025-11-12): a JSON array of events, realms mixed,
//    `type: qbo.<entity>.<created|updated|deleted|merged|voided|emailed>.v1`,
//    `intuitentityid`, `intuitaccountid`, `data: {deletedid?}` (docs "Understanding the data
//    object").
//
// Liberal by design: Intuit has added fields before (`deletedId`, `deleted`) and broke SDKs
// that parsed strictly. Unknown fields are ignored, unknown operations and entity names are
// kept as sent (the processor decides what to do with them), and an entry we cannot read
// is counted, never a reason to refuse the whole delivery.

export type WebhookFormat = 'legacy' | 'cloudevents';

/** One entity change named by a notification. */
export interface EntityChange {
  realmId: string;
  /** Entity name as QBO spells it (`Customer`); unknown names kept as sent. */
  entity: string;
  id: string;
  /** Create, Update, Delete, Merge, Void, Emailed — or whatever new operation Intuit sends. */
  operation: string;
  /** When QBO says the change happened (ms), if it said so readably. */
  lastUpdatedMs: number | null;
  /** Merge: the object merged away (the loser); `id` is the survivor. */
  deletedId?: string;
}

export interface ParsedDelivery {
  format: WebhookFormat | null;
  changes: EntityChange[];
  /** Entries that named no realm or id: kept in the raw body, not processable. */
  unreadable: number;
}

const CLOUD_EVENT_OPERATIONS: Record<string, string> = {
  created: 'Create',
  updated: 'Update',
  deleted: 'Delete',
  merged: 'Merge',
  voided: 'Void',
  emailed: 'Emailed',
};

// Entity names as QBO spells them, to map CloudEvents' lowercase `qbo.<entity>` back
// (docs "Webhooks", supported entities). A name not listed keeps its lowercase spelling.
const KNOWN_ENTITIES = [
  'Account',
  'Bill',
  'BillPayment',
  'Budget',
  'Class',
  'CreditMemo',
  'Currency',
  'Customer',
  'Department',
  'Deposit',
  'Employee',
  'Estimate',
  'Invoice',
  'Item',
  'JournalCode',
  'JournalEntry',
  'Payment',
  'PaymentMethod',
  'Preferences',
  'Purchase',
  'PurchaseOrder',
  'RefundReceipt',
  'SalesReceipt',
  'TaxAgency',
  'Term',
  'TimeActivity',
  'Transfer',
  'Vendor',
  'VendorCredit',
];
const ENTITY_BY_LOWER = new Map(KNOWN_ENTITIES.map((e) => [e.toLowerCase(), e]));

/** QBO's spelling of an entity name, whatever case it arrived in. */
export function canonicalEntity(name: string): string {
  return ENTITY_BY_LOWER.get(name.toLowerCase()) ?? name;
}

const MAX_TEXT = 200;

function text(v: unknown): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return null;
  const s = v.trim();
  // NUL cannot be stored in Postgres text; an id that long is not a QBO id.
  if (!s || s.length > MAX_TEXT || s.includes('\u0000')) return null;
  return s;
}

function timeMs(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses an already JSON-decoded body; `format: null` when it is neither format. */
export function parseDelivery(body: unknown): ParsedDelivery {
  if (Array.isArray(body)) return parseCloudEvents(body);
  if (isRecord(body) && Array.isArray(body.eventNotifications)) {
    return parseLegacy(body.eventNotifications);
  }
  return { format: null, changes: [], unreadable: 0 };
}

function parseLegacy(notifications: unknown[]): ParsedDelivery {
  const changes: EntityChange[] = [];
  let unreadable = 0;
  for (const n of notifications) {
    const realmId = isRecord(n) ? text(n.realmId) : null;
    const dce = isRecord(n) && isRecord(n.dataChangeEvent) ? n.dataChangeEvent : null;
    const entities = dce && Array.isArray(dce.entities) ? dce.entities : null;
    if (!realmId || !entities) {
      unreadable++;
      continue;
    }
    for (const e of entities) {
      const name = isRecord(e) ? text(e.name) : null;
      const id = isRecord(e) ? text(e.id) : null;
      if (!isRecord(e) || !name || !id) {
        unreadable++;
        continue;
      }
      const deletedId = text(e.deletedId);
      changes.push({
        realmId,
        entity: canonicalEntity(name),
        id,
        operation: text(e.operation) ?? 'Unknown',
        lastUpdatedMs: timeMs(e.lastUpdated),
        ...(deletedId ? { deletedId } : {}),
      });
    }
  }
  return { format: 'legacy', changes, unreadable };
}

function parseCloudEvents(events: unknown[]): ParsedDelivery {
  const changes: EntityChange[] = [];
  let unreadable = 0;
  for (const e of events) {
    if (!isRecord(e)) {
      unreadable++;
      continue;
    }
    const realmId = text(e.intuitaccountid);
    const id = text(e.intuitentityid);
    // qbo.<entity>.<past tense>.v<n>; a longer or newer type still names entity and verb.
    const type = typeof e.type === 'string' ? e.type.split('.') : [];
    if (!realmId || !id || type.length < 3 || type[0] !== 'qbo') {
      unreadable++;
      continue;
    }
    const verb = type[2]!.toLowerCase();
    const data = isRecord(e.data) ? e.data : {};
    const deletedId = text(data.deletedid ?? data.deletedId);
    changes.push({
      realmId,
      entity: canonicalEntity(type[1]!),
      id,
      operation: CLOUD_EVENT_OPERATIONS[verb] ?? verb,
      lastUpdatedMs: timeMs(e.time),
      ...(deletedId ? { deletedId } : {}),
    });
  }
  return { format: 'cloudevents', changes, unreadable };
}

/** What the events list shows of a delivery: realms, entities and operations, in order of appearance. */
export function summarise(p: ParsedDelivery): {
  realmIds: string[];
  entities: string[];
  operations: string[];
} {
  const uniq = (xs: string[]) => [...new Set(xs)];
  return {
    realmIds: uniq(p.changes.map((c) => c.realmId)),
    entities: uniq(p.changes.map((c) => c.entity)),
    operations: uniq(p.changes.map((c) => c.operation)),
  };
}
