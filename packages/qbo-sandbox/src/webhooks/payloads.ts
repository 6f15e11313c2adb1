import { createHash, randomUUID } from 'node:crypto';

/** Operations a webhook can carry (docs "Webhooks": Create, Update, Delete, Merge, Void, Emailed). */
export const WEBHOOK_OPERATIONS = [
  'Create',
  'Update',
  'Delete',
  'Merge',
  'Void',
  'Emailed',
] as const;
export type WebhookOperation = (typeof WEBHOOK_OPERATIONS)[number];

/**
 * Entities that send webhooks (docs "Webhooks", "Review supported API entities"). Entities
 * outside this table (CompanyInfo, TaxCode…) never produce a notification.
 */
export const WEBHOOK_ENTITIES = [
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
] as const;

const lowerToWebhookEntity = new Map<string, string>(
  WEBHOOK_ENTITIES.map((e) => [e.toLowerCase(), e]),
);
/** The documented spelling of a webhook entity name, matched case-insensitively. */
export function webhookEntityName(name: string): string | undefined {
  return lowerToWebhookEntity.get(name.toLowerCase());
}

/** One data change as it travels through the dispatcher. */
export interface WebhookChange {
  realmId: string;
  entity: string;
  id: string;
  operation: WebhookOperation;
  /** Epoch ms on the sandbox clock. */
  at: number;
  deletedId?: string;
}

/**
 * Legacy body (.NET SDK fixture eventNotifications_parse.json, blog 2025-11-12): one
 * `eventNotifications` entry per realm, in the order realms first appear; entities keep the
 * order of the changes; `lastUpdated` is ISO-8601 UTC with milliseconds; Merge carries
 * `deletedId` (.NET SDK `Entity.DeletedId`, docs "deletedId: only for merge events").
 */
export function buildLegacyBody(changes: readonly WebhookChange[]): string {
  const byRealm = new Map<string, Record<string, string>[]>();
  for (const c of changes) {
    let list = byRealm.get(c.realmId);
    if (!list) byRealm.set(c.realmId, (list = []));
    list.push({
      name: c.entity,
      id: c.id,
      operation: c.operation,
      lastUpdated: new Date(c.at).toISOString(),
      ...(c.deletedId !== undefined ? { deletedId: c.deletedId } : {}),
    });
  }
  return JSON.stringify({
    eventNotifications: [...byRealm].map(([realmId, entities]) => ({
      realmId,
      dataChangeEvent: { entities },
    })),
  });
}

const PAST_TENSE: Record<WebhookOperation, string> = {
  Create: 'created',
  Update: 'updated',
  Delete: 'deleted',
  Merge: 'merged',
  Void: 'voided',
  Emailed: 'emailed',
};

/** `qbo.<entity lowercase>.<operation past tense>.v1`, e.g. `qbo.refundreceipt.voided.v1`. */
export function cloudEventType(entity: string, operation: WebhookOperation): string {
  return `qbo.${entity.toLowerCase()}.${PAST_TENSE[operation]}.v1`;
}

/**
 * The CloudEvents `source`. Intuit sends `intuit.` + 44 base64 characters (a 32-byte
 * digest) that is identical across the blog's and the SDK's samples; how it is derived is
 * not documented, so the sandbox uses a SHA-256 of the app's client id: stable per app.
 */
export function cloudEventSource(clientId: string): string {
  return `intuit.${createHash('sha256').update(clientId).digest('base64')}`;
}

/**
 * CloudEvents body (blog 2025-11-12 sample; docs "Understanding the data object"): a JSON
 * array with one event per change, realms mixed. Field order follows the blog sample.
 * `data` is `{}` except for merges, which carry `{"deletedid": "<id>"}` (lowercase, docs
 * "Customer merged").
 */
export function buildCloudEventsBody(changes: readonly WebhookChange[], clientId: string): string {
  const source = cloudEventSource(clientId);
  return JSON.stringify(
    changes.map((c) => ({
      specversion: '1.0',
      id: randomUUID(),
      source,
      type: cloudEventType(c.entity, c.operation),
      datacontenttype: 'application/json',
      time: new Date(c.at).toISOString(),
      intuitentityid: c.id,
      intuitaccountid: c.realmId,
      data: c.deletedId !== undefined ? { deletedid: c.deletedId } : {},
    })),
  );
}
