// Kysely's view of supabase/migrations/*.sql (the SQL is the source of truth; this file
// follows it). What each table is for: docs/database.md.
//
// How values travel, identically on PGlite and node-postgres (infra/db.ts sets the parsers):
//   numeric  -> string, and only strings are accepted on write: money never becomes a float
//   bigint   -> string (bigserial ids, token version): lossless beyond 2^53
//   date     -> 'YYYY-MM-DD' string: a calendar day, no time zone to shift it
//   timestamptz -> Date on read; Date or ISO 8601 string on write
//   jsonb    -> parsed value on read; JSON text on write (`toJson(value)`), because
//              node-postgres would send a JS array as a Postgres array literal
//   text[]   -> string[]
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** numeric(18,2) and friends: a decimal string such as "12345678901234.56". */
export type Money = ColumnType<string, string, string>;
export type NullableMoney = ColumnType<string | null, string | null, string | null>;
/** bigint / bigserial read back as a decimal string. */
export type Int8 = ColumnType<string, string | number | bigint, string | number | bigint>;
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
export type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
/** A timestamp column with a database default (`now()`). */
export type TimestampDefault = ColumnType<Date, Date | string | undefined, Date | string>;
/** `date`: 'YYYY-MM-DD'. */
export type CalendarDate = ColumnType<string, string, string>;
export type NullableCalendarDate = ColumnType<string | null, string | null, string | null>;
/** jsonb: parsed on read, JSON text on write. */
export type Json<T = unknown> = ColumnType<T, string, string>;
export type NullableJson<T = unknown> = ColumnType<T | null, string | null, string | null>;

/** JSON text for a jsonb column (see the header: arrays must not reach node-postgres raw). */
export function toJson(value: unknown): string {
  return JSON.stringify(value);
}

export type QboEntityType = 'Customer' | 'Invoice' | 'Payment' | 'Vendor' | 'Item' | 'Account';
export const QBO_ENTITY_TYPES: readonly QboEntityType[] = Object.freeze([
  'Customer',
  'Invoice',
  'Payment',
  'Vendor',
  'Item',
  'Account',
]);

// ---------------------------------------------------------------------------------------
// Host application

export type CampaignInvoiceStatus = 'draft' | 'issued' | 'sent' | 'paid' | 'void' | 'cancelled';
export type QboSyncStatus = 'pending' | 'syncing' | 'synced' | 'error';

export interface CampaignInvoiceLine {
  description: string;
  /** Decimal strings, e.g. "2", "150.00". */
  quantity: string;
  unit_price: string;
  amount: string;
}

export interface CampaignInvoicesTable {
  id: Generated<string>;
  client_name: string;
  client_email: string | null;
  line_items: ColumnType<CampaignInvoiceLine[], string | undefined, string>;
  subtotal: ColumnType<string, string | undefined, string>;
  tax: ColumnType<string, string | undefined, string>;
  total: ColumnType<string, string | undefined, string>;
  currency: ColumnType<string, string | undefined, string>;
  issue_date: ColumnType<string, string | undefined, string>;
  due_date: NullableCalendarDate;
  status: ColumnType<
    CampaignInvoiceStatus,
    CampaignInvoiceStatus | undefined,
    CampaignInvoiceStatus
  >;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
  qbo_invoice_id: string | null;
  qbo_sync_status: ColumnType<QboSyncStatus, QboSyncStatus | undefined, QboSyncStatus>;
  qbo_last_synced_at: NullableTimestamp;
  qbo_error_message: string | null;
  qbo_realm_id: string | null;
  qbo_request_id: string | null;
  /** 20260330000000_campaign_invoice_push.sql */
  invoice_number: string | null;
  qbo_version: ColumnType<number, number | undefined, number>;
  qbo_pushed_version: number | null;
  qbo_doc_number: string | null;
  qbo_customer_id: string | null;
  qbo_sync_token: string | null;
  qbo_total: NullableMoney;
  qbo_balance: NullableMoney;
  qbo_paid_status: QboPaidStatus | null;
  qbo_paid_at: NullableCalendarDate;
  qbo_voided: ColumnType<boolean, boolean | undefined, boolean>;
  qbo_deleted: ColumnType<boolean, boolean | undefined, boolean>;
}

export type QboPaidStatus = 'unpaid' | 'partially_paid' | 'paid';
export type WritebackRunStatus = 'queued' | 'running' | 'finished' | 'failed';

export interface WritebackFailure {
  invoice_id: string;
  message: string;
}

/** A push-all run (20260330000000_campaign_invoice_push.sql). */
export interface QboWritebackRunsTable {
  id: Generated<string>;
  realm_id: string;
  status: ColumnType<WritebackRunStatus, WritebackRunStatus | undefined, WritebackRunStatus>;
  total: ColumnType<number, number | undefined, number>;
  pushed: ColumnType<number, number | undefined, number>;
  unchanged: ColumnType<number, number | undefined, number>;
  failed: ColumnType<number, number | undefined, number>;
  failures: ColumnType<WritebackFailure[], string | undefined, string>;
  error_message: string | null;
  created_at: TimestampDefault;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
}

// ---------------------------------------------------------------------------------------
// Connections and tokens

export type QboEnvironment = 'sandbox' | 'production';
export type QboConnectionStatus = 'connected' | 'needs_reauth' | 'disconnected';
export type QboRefreshStatus = 'success' | 'error' | 'invalid_grant';

export interface QboConnectionsTable {
  id: Generated<string>;
  realm_id: string;
  company_name: string | null;
  environment: ColumnType<QboEnvironment, QboEnvironment | undefined, QboEnvironment>;
  status: ColumnType<QboConnectionStatus, QboConnectionStatus | undefined, QboConnectionStatus>;
  scopes: ColumnType<string[], string[] | undefined, string[]>;
  connected_at: TimestampDefault;
  disconnected_at: NullableTimestamp;
  last_refresh_at: NullableTimestamp;
  last_refresh_status: QboRefreshStatus | null;
  last_refresh_error: string | null;
  needs_reauth_since: NullableTimestamp;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface QboTokensTable {
  realm_id: string;
  /** token-cipher values ("v1:<key id>:…"); a CHECK refuses anything else. */
  access_token_ciphertext: string;
  refresh_token_ciphertext: string;
  key_id: string;
  access_token_expires_at: Timestamp;
  refresh_token_expires_at: Timestamp;
  refresh_token_hard_expires_at: NullableTimestamp;
  version: ColumnType<string, string | number | bigint | undefined, string | number | bigint>;
  refreshed_at: NullableTimestamp;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

/** Single-use OAuth `state` records (20260211000200_qbo_oauth_states.sql); see oauth-state.ts. */
export interface QboOAuthStatesTable {
  /** sha256 hex of the state's nonce; the table never holds a usable state. */
  nonce_hash: string;
  /** sha256 hex of the admin session id it was issued to. */
  session_hash: string;
  expires_at: Timestamp;
  consumed_at: NullableTimestamp;
  created_at: TimestampDefault;
}

// ---------------------------------------------------------------------------------------
// Observability

/** What a request-log row is (migration 20260301000000_qbo_request_log_kind.sql). */
export type QboRequestLogKind =
  'accounting' | 'oauth_token_exchange' | 'oauth_token_refresh' | 'oauth_revoke';

export interface QboRequestLogTable {
  id: Generated<string>;
  realm_id: string | null;
  kind: QboRequestLogKind;
  method: string;
  path: string;
  status: number | null;
  duration_ms: number;
  intuit_tid: string | null;
  qbo_error_code: string | null;
  request_id: string | null;
  attempt: ColumnType<number, number | undefined, number>;
  error_message: string | null;
  created_at: TimestampDefault;
}

/** Metered read calls of pruned request-log rows (migration 20260401000000_qbo_api_usage_daily.sql). */
export interface QboApiUsageDailyTable {
  /** UTC day, as Postgres returns a `date`: YYYY-MM-DD. */
  day: ColumnType<string, string, string>;
  realm_id: string;
  coreplus_calls: ColumnType<string, number | string, number | string>;
}

export type WebhookFormat = 'legacy' | 'cloudevents';
export type WebhookEventStatus =
  'pending' | 'processing' | 'processed' | 'skipped' | 'failed' | 'rejected';

export interface QboWebhookEventsTable {
  id: Generated<string>;
  realm_id: string | null;
  event_id: string;
  payload: NullableJson;
  raw_body: string;
  signature_valid: boolean;
  format: WebhookFormat | null;
  status: ColumnType<WebhookEventStatus, WebhookEventStatus | undefined, WebhookEventStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  received_at: TimestampDefault;
  processed_at: NullableTimestamp;
  /** Every realm the delivery names; `realm_id` is the first. */
  realm_ids: ColumnType<string[], string[] | undefined, string[]>;
  entities: ColumnType<string[], string[] | undefined, string[]>;
  operations: ColumnType<string[], string[] | undefined, string[]>;
  notification_count: ColumnType<number, number | undefined, number>;
  /** Copies of this exact body received (Intuit retries and duplicates). */
  deliveries: ColumnType<number, number | undefined, number>;
  last_received_at: NullableTimestamp;
  intuit_t_id: string | null;
  reason: string | null;
  next_attempt_at: NullableTimestamp;
  claimed_at: NullableTimestamp;
  objects_applied: ColumnType<number, number | undefined, number>;
  /** Times an operator asked to process it again (POST /webhook-events/replay). */
  replays: ColumnType<number, number | undefined, number>;
  last_replayed_at: NullableTimestamp;
}

export type SyncCursorStatus = 'idle' | 'running' | 'success' | 'error';

export interface QboSyncCursorsTable {
  realm_id: string;
  entity_type: QboEntityType;
  last_cdc_at: NullableTimestamp;
  last_full_sync_at: NullableTimestamp;
  last_webhook_at: NullableTimestamp;
  status: ColumnType<SyncCursorStatus, SyncCursorStatus | undefined, SyncCursorStatus>;
  last_error: string | null;
  last_run_started_at: NullableTimestamp;
  last_run_finished_at: NullableTimestamp;
  records_synced: ColumnType<number, number | undefined, number>;
  updated_at: TimestampDefault;
  // 20260310000000_qbo_sync_engine.sql
  /** The run now (or last) working on this entity. */
  run_id: string | null;
  progress_done: ColumnType<number, number | undefined, number>;
  progress_total: number | null;
  /** QBO's fault code of the last error, when QBO gave one. */
  last_error_code: string | null;
  last_reconciled_at: NullableTimestamp;
  reconcile_qbo_count: number | null;
  reconcile_mirror_count: number | null;
  reconcile_drift: number | null;
  reconcile_repaired: number | null;
}

export type SyncRunKind = 'full' | 'incremental' | 'reconcile';
export type SyncRunStatus = 'queued' | 'running' | 'success' | 'error';

/** Per entity progress of a run (qbo_sync_runs.progress). */
export interface SyncRunEntityProgress {
  done: number;
  total: number | null;
  /** Full sync: the STARTPOSITION a resumed pass continues from. */
  next_position?: number;
  complete: boolean;
  written?: number;
  /** Reconciliation: objects that differed from the mirror, and live mirror rows found. */
  drift?: number;
  mirrored?: number;
}

export interface QboSyncRunsTable {
  id: Generated<string>;
  realm_id: string;
  kind: SyncRunKind;
  entities: ColumnType<QboEntityType[], QboEntityType[], QboEntityType[]>;
  status: ColumnType<SyncRunStatus, SyncRunStatus | undefined, SyncRunStatus>;
  job_id: string | null;
  started_at: TimestampDefault;
  finished_at: NullableTimestamp;
  error: string | null;
  error_code: string | null;
  progress: ColumnType<
    Partial<Record<QboEntityType, SyncRunEntityProgress>>,
    string | undefined,
    string
  >;
}

// ---------------------------------------------------------------------------------------
// Mirrors

/** Columns every mirror table has. */
export interface MirrorColumns {
  realm_id: string;
  qbo_id: string;
  /** Null only for a tombstone of an object this service never saw. */
  sync_token: string | null;
  /** The full QBO object as received (or the `{"status":"Deleted",…}` stub). */
  raw: Json<Record<string, unknown>>;
  qbo_created_at: NullableTimestamp;
  /** MetaData.LastUpdatedTime: an upsert must not replace a row with a newer one. */
  qbo_updated_at: NullableTimestamp;
  is_deleted: ColumnType<boolean, boolean | undefined, boolean>;
  deleted_at: NullableTimestamp;
  synced_at: TimestampDefault;
  /** When this version was read from QBO; of two reads of one version the later wins. */
  read_at: NullableTimestamp;
}

type ActiveFlag = ColumnType<boolean, boolean | undefined, boolean>;

/** Name lists that QBO can merge (20260310000000_qbo_sync_engine.sql). */
interface MergeableColumns {
  /** Set when QBO merged this object into another: the survivor's Id. */
  merged_into_qbo_id: string | null;
}

export interface QboCustomersTable extends MirrorColumns, MergeableColumns {
  display_name: string | null;
  fully_qualified_name: string | null;
  parent_qbo_id: string | null;
  given_name: string | null;
  family_name: string | null;
  company_name: string | null;
  email: string | null;
  phone: string | null;
  active: ActiveFlag;
  balance: NullableMoney;
  currency: string | null;
}

export interface QboInvoicesTable extends MirrorColumns {
  doc_number: string | null;
  customer_qbo_id: string | null;
  customer_name: string | null;
  txn_date: NullableCalendarDate;
  due_date: NullableCalendarDate;
  total_amt: NullableMoney;
  balance: NullableMoney;
  currency: string | null;
  email_status: string | null;
  voided: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface QboPaymentsTable extends MirrorColumns {
  customer_qbo_id: string | null;
  txn_date: NullableCalendarDate;
  total_amt: NullableMoney;
  unapplied_amt: NullableMoney;
  currency: string | null;
  payment_ref_num: string | null;
  /** Invoices this payment applies to (Line[].LinkedTxn[] of TxnType "Invoice"). */
  linked_invoice_qbo_ids: ColumnType<string[], string[] | undefined, string[]>;
  voided: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface QboVendorsTable extends MirrorColumns, MergeableColumns {
  display_name: string | null;
  company_name: string | null;
  email: string | null;
  phone: string | null;
  active: ActiveFlag;
  balance: NullableMoney;
  currency: string | null;
}

export interface QboItemsTable extends MirrorColumns, MergeableColumns {
  name: string | null;
  fully_qualified_name: string | null;
  /** QBO's Item.Type: Service, NonInventory, Inventory, Category, Group… */
  type: string | null;
  /** Unscaled numeric: QBO keeps more than two decimals on unit prices. */
  unit_price: NullableMoney;
  income_account_qbo_id: string | null;
  active: ActiveFlag;
}

export interface QboAccountsTable extends MirrorColumns, MergeableColumns {
  name: string | null;
  fully_qualified_name: string | null;
  account_type: string | null;
  account_sub_type: string | null;
  classification: string | null;
  current_balance: NullableMoney;
  currency: string | null;
  active: ActiveFlag;
}

// ---------------------------------------------------------------------------------------
// Migration bookkeeping (created by infra/migrate.ts, not by a migration file)

export interface SchemaMigrationsTable {
  name: string;
  checksum: string;
  applied_at: TimestampDefault;
}

export interface Database {
  campaign_invoices: CampaignInvoicesTable;
  qbo_connections: QboConnectionsTable;
  qbo_tokens: QboTokensTable;
  qbo_oauth_states: QboOAuthStatesTable;
  qbo_request_log: QboRequestLogTable;
  qbo_api_usage_daily: QboApiUsageDailyTable;
  qbo_webhook_events: QboWebhookEventsTable;
  qbo_sync_cursors: QboSyncCursorsTable;
  qbo_sync_runs: QboSyncRunsTable;
  qbo_customers: QboCustomersTable;
  qbo_invoices: QboInvoicesTable;
  qbo_payments: QboPaymentsTable;
  qbo_vendors: QboVendorsTable;
  qbo_items: QboItemsTable;
  qbo_accounts: QboAccountsTable;
  qbo_writeback_runs: QboWritebackRunsTable;
  schema_migrations: SchemaMigrationsTable;
}

/** Mirror tables by QBO entity name: sync code picks the table from the entity. */
export const MIRROR_TABLES = Object.freeze({
  Customer: 'qbo_customers',
  Invoice: 'qbo_invoices',
  Payment: 'qbo_payments',
  Vendor: 'qbo_vendors',
  Item: 'qbo_items',
  Account: 'qbo_accounts',
} as const satisfies Record<QboEntityType, keyof Database>);
export type MirrorTableName = (typeof MIRROR_TABLES)[QboEntityType];

export type CampaignInvoice = Selectable<CampaignInvoicesTable>;
export type NewCampaignInvoice = Insertable<CampaignInvoicesTable>;
export type CampaignInvoiceUpdate = Updateable<CampaignInvoicesTable>;
export type QboConnection = Selectable<QboConnectionsTable>;
export type NewQboConnection = Insertable<QboConnectionsTable>;
export type QboTokens = Selectable<QboTokensTable>;
export type NewQboTokens = Insertable<QboTokensTable>;
export type QboOAuthState = Selectable<QboOAuthStatesTable>;
export type QboRequestLogRow = Selectable<QboRequestLogTable>;
export type NewQboRequestLogRow = Insertable<QboRequestLogTable>;
export type QboWebhookEvent = Selectable<QboWebhookEventsTable>;
export type NewQboWebhookEvent = Insertable<QboWebhookEventsTable>;
export type QboSyncCursor = Selectable<QboSyncCursorsTable>;
export type QboSyncRun = Selectable<QboSyncRunsTable>;
export type QboCustomer = Selectable<QboCustomersTable>;
export type QboInvoice = Selectable<QboInvoicesTable>;
export type QboPayment = Selectable<QboPaymentsTable>;
export type QboVendor = Selectable<QboVendorsTable>;
export type QboItem = Selectable<QboItemsTable>;
export type QboAccount = Selectable<QboAccountsTable>;
export type QboWritebackRun = Selectable<QboWritebackRunsTable>;
