// Invoice write-back: the host application's campaign invoices, pushing them to QBO and what
// QBO says back. POST /invoices/push, POST /invoices/push-all, GET /invoices/sync-status,
// and /campaign-invoices for applications that do not share the database.
import { z } from 'zod';
import { Iso, NullableIso } from './common.ts';

// Text Postgres and QBO can store: no NUL or other control characters except tab/newline.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;
const text = (name: string, max: number) =>
  z
    .string()
    .max(max, `${name} must be at most ${max} characters`)
    .refine((s) => !CONTROL.test(s), `${name} must not contain control characters`);

/** A decimal string such as "150.00": no float ever carries money. */
const decimal = (name: string, fractionDigits: number) =>
  z
    .string()
    .regex(
      new RegExp(`^-?\\d{1,16}(\\.\\d{1,${fractionDigits}})?$`),
      `${name} must be a decimal string with at most 16 digits before and ${fractionDigits} after the point, e.g. "150.00"`,
    );

const date = (name: string) =>
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, `${name} must be a date YYYY-MM-DD`)
    .refine((s) => {
      const [y, m, d] = s.split('-').map(Number) as [number, number, number];
      const t = new Date(Date.UTC(2000, m - 1, d));
      t.setUTCFullYear(y);
      return y >= 1 && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
    }, `${name} is not a calendar day`);

export const InvoiceLine = z.strictObject({
  description: text('description', 4000),
  quantity: decimal('quantity', 6),
  unit_price: decimal('unit_price', 6),
  amount: decimal('amount', 2),
});
export type InvoiceLine = z.infer<typeof InvoiceLine>;

export const CampaignInvoiceStatus = z.enum([
  'draft',
  'issued',
  'sent',
  'paid',
  'void',
  'cancelled',
]);
export const QboSyncStatus = z.enum(['pending', 'syncing', 'synced', 'error']);
export const QboPaidStatus = z.enum(['unpaid', 'partially_paid', 'paid']);

/** POST /campaign-invoices. */
export const CampaignInvoiceInput = z.strictObject({
  client_name: text('client_name', 500).refine((s) => s.trim() !== '', 'client_name is empty'),
  client_email: text('client_email', 100).nullable().optional(),
  line_items: z.array(InvoiceLine).max(250, 'at most 250 line items'),
  subtotal: decimal('subtotal', 2),
  tax: decimal('tax', 2).optional(),
  total: decimal('total', 2),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code such as USD')
    .optional(),
  issue_date: date('issue_date').optional(),
  due_date: date('due_date').nullable().optional(),
  invoice_number: text('invoice_number', 21).nullable().optional(),
  status: CampaignInvoiceStatus.optional(),
});
export type CampaignInvoiceInput = z.infer<typeof CampaignInvoiceInput>;

/** PATCH /campaign-invoices/{id}: any of the fields, checked again as a whole. */
export const CampaignInvoicePatch = CampaignInvoiceInput.partial();
export type CampaignInvoicePatch = z.infer<typeof CampaignInvoicePatch>;

export const InvoiceIdParams = z.strictObject({ id: z.uuid('id must be a UUID') });

export const CampaignInvoiceListQuery = z.strictObject({
  sync_status: QboSyncStatus.optional(),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, 'limit must be a whole number')
    .transform(Number)
    .pipe(z.number().min(1, 'limit must be 1-500').max(500, 'limit must be 1-500'))
    .optional(),
});

export const CampaignInvoice = z.object({
  id: z.string(),
  client_name: z.string(),
  client_email: z.string().nullable(),
  line_items: z.array(
    z.object({
      description: z.string(),
      quantity: z.string(),
      unit_price: z.string(),
      amount: z.string(),
    }),
  ),
  subtotal: z.string(),
  tax: z.string(),
  total: z.string(),
  currency: z.string(),
  issue_date: z.string(),
  due_date: z.string().nullable(),
  invoice_number: z.string().nullable(),
  status: CampaignInvoiceStatus,
  created_at: Iso,
  updated_at: Iso,
  qbo: z.object({
    sync_status: QboSyncStatus,
    invoice_id: z.string().nullable(),
    realm_id: z.string().nullable(),
    doc_number: z.string().nullable(),
    last_synced_at: NullableIso,
    error_message: z.string().nullable(),
    /** Bumped by every edit QBO would show; pushed_version is the one QBO holds. */
    version: z.number().int(),
    pushed_version: z.number().int().nullable(),
    total: z.string().nullable(),
    balance: z.string().nullable(),
    paid_status: QboPaidStatus.nullable(),
    paid_at: z.string().nullable(),
    voided: z.boolean(),
    deleted: z.boolean(),
  }),
});
export type CampaignInvoice = z.infer<typeof CampaignInvoice>;

export const CampaignInvoiceList = z.object({ invoices: z.array(CampaignInvoice) });
export type CampaignInvoiceList = z.infer<typeof CampaignInvoiceList>;

/** POST /invoices/push. */
export const PushInvoiceBody = z.strictObject({ invoice_id: z.uuid('invoice_id must be a UUID') });
export const PushOutcome = z.enum(['created', 'updated', 'unchanged', 'failed']);

export const PushInvoiceResponse = z.object({
  realm_id: z.string(),
  outcome: PushOutcome,
  /** Why it failed: QBO's message and code, and what to do. */
  message: z.string().nullable(),
  invoice: CampaignInvoice,
});
export type PushInvoiceResponse = z.infer<typeof PushInvoiceResponse>;

export const WritebackRunStatus = z.enum(['queued', 'running', 'finished', 'failed']);
export const WritebackRun = z.object({
  id: z.string(),
  realm_id: z.string(),
  status: WritebackRunStatus,
  total: z.number().int(),
  pushed: z.number().int(),
  unchanged: z.number().int(),
  failed: z.number().int(),
  /** The first 100 failures. */
  failures: z.array(z.object({ invoice_id: z.string(), message: z.string() })),
  error_message: z.string().nullable(),
  created_at: Iso,
  started_at: NullableIso,
  finished_at: NullableIso,
});
export type WritebackRun = z.infer<typeof WritebackRun>;

/** POST /invoices/push-all (202). */
export const PushAllResponse = z.object({
  run: WritebackRun,
  /** True when a run was already queued or running: this is that one. */
  deduplicated: z.boolean(),
});
export type PushAllResponse = z.infer<typeof PushAllResponse>;

/** GET /invoices/sync-status. */
export const InvoiceSyncStatusResponse = z.object({
  realm_id: z.string(),
  counts: z.object({
    pending: z.number().int(),
    syncing: z.number().int(),
    synced: z.number().int(),
    error: z.number().int(),
  }),
  latest_run: WritebackRun.nullable(),
  recent_errors: z.array(
    z.object({
      invoice_id: z.string(),
      client_name: z.string(),
      message: z.string(),
      at: NullableIso,
    }),
  ),
});
export type InvoiceSyncStatusResponse = z.infer<typeof InvoiceSyncStatusResponse>;
