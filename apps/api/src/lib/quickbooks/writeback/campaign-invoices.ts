// campaign_invoices as an application that does not share the database writes them (the
// admin routes): the same checks as a push (validate.ts), so what is accepted here can be
// pushed, and what cannot is refused with the same sentences.
import { sql, type Kysely } from 'kysely';
import {
  toJson,
  type CampaignInvoice,
  type CampaignInvoiceStatus,
  type Database,
  type QboSyncStatus,
} from '../../../db/schema.ts';
import { validateInvoice, type InvoiceInput, type InvoiceLineInput } from './validate.ts';

export interface CampaignInvoiceFields {
  client_name: string;
  client_email?: string | null;
  line_items: InvoiceLineInput[];
  subtotal: string;
  tax?: string;
  total: string;
  currency?: string;
  issue_date?: string;
  due_date?: string | null;
  invoice_number?: string | null;
  status?: CampaignInvoiceStatus;
}

export class InvalidInvoiceError extends Error {
  override readonly name = 'InvalidInvoiceError';
  constructor(readonly problems: string[]) {
    super(`the invoice cannot be pushed to QBO: ${problems.join('; ')}`);
  }
}

function inputOf(f: CampaignInvoiceFields, today: string): InvoiceInput {
  return {
    client_name: f.client_name,
    client_email: f.client_email ?? null,
    line_items: f.line_items,
    subtotal: f.subtotal,
    tax: f.tax ?? '0.00',
    total: f.total,
    currency: f.currency ?? 'USD',
    issue_date: f.issue_date ?? today,
    due_date: f.due_date ?? null,
    invoice_number: f.invoice_number ?? null,
  };
}

/** The row's columns for `fields`, once they pass the push's checks. */
function checkedRow(fields: CampaignInvoiceFields, today: string) {
  const input = inputOf(fields, today);
  const v = validateInvoice(input);
  if (!v.ok) throw new InvalidInvoiceError(v.problems);
  return {
    ...input,
    client_email: input.client_email?.trim() || null,
    line_items: toJson(input.line_items),
    ...(fields.status ? { status: fields.status } : {}),
  };
}

export async function createCampaignInvoice(
  db: Kysely<Database>,
  fields: CampaignInvoiceFields,
  today: string,
): Promise<CampaignInvoice> {
  return db
    .insertInto('campaign_invoices')
    .values(checkedRow(fields, today))
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Applies `patch` to the row; the result as a whole must pass. Null when there is no row. */
export async function updateCampaignInvoice(
  db: Kysely<Database>,
  id: string,
  patch: Partial<CampaignInvoiceFields>,
): Promise<CampaignInvoice | null> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('campaign_invoices')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return null;
    const merged: CampaignInvoiceFields = {
      client_name: row.client_name,
      client_email: row.client_email,
      line_items: row.line_items,
      subtotal: row.subtotal,
      tax: row.tax,
      total: row.total,
      currency: row.currency,
      issue_date: row.issue_date,
      due_date: row.due_date,
      invoice_number: row.invoice_number,
      status: row.status,
      ...patch,
    };
    return trx
      .updateTable('campaign_invoices')
      .set(checkedRow(merged, row.issue_date))
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}

export function getCampaignInvoice(
  db: Kysely<Database>,
  id: string,
): Promise<CampaignInvoice | undefined> {
  return db.selectFrom('campaign_invoices').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listCampaignInvoices(
  db: Kysely<Database>,
  o: { syncStatus?: QboSyncStatus; limit?: number },
): Promise<CampaignInvoice[]> {
  let q = db.selectFrom('campaign_invoices').selectAll();
  if (o.syncStatus) q = q.where('qbo_sync_status', '=', o.syncStatus);
  return q
    .orderBy('created_at', 'desc')
    .orderBy(sql`id`)
    .limit(o.limit ?? 100)
    .execute();
}

/** Demo invoices for the embedded default, added once to an empty table. Returns how many. */
export async function seedDemoCampaignInvoices(
  db: Kysely<Database>,
  today: string,
): Promise<number> {
  const any = await db.selectFrom('campaign_invoices').select('id').limit(1).executeTakeFirst();
  if (any) return 0;
  const demo: CampaignInvoiceFields[] = [
    {
      client_name: "O'Brien & Sons",
      client_email: 'accounts@obrien-sons.example',
      line_items: [
        {
          description: 'Spring campaign: creative',
          quantity: '1',
          unit_price: '1200.00',
          amount: '1200.00',
        },
        {
          description: 'Spring campaign: media buying (hours)',
          quantity: '12.5',
          unit_price: '85.00',
          amount: '1062.50',
        },
      ],
      subtotal: '2262.50',
      total: '2262.50',
      status: 'issued',
    },
    {
      client_name: 'Northwind Traders',
      client_email: 'ap@northwind.example',
      line_items: [
        {
          description: 'Social media retainer (March)',
          quantity: '1',
          unit_price: '950.00',
          amount: '950.00',
        },
      ],
      subtotal: '950.00',
      total: '950.00',
      status: 'sent',
    },
    {
      client_name: 'Cedar Street Bakery',
      client_email: null,
      line_items: [
        { description: 'Flyer design', quantity: '3', unit_price: '0.10', amount: '0.30' },
      ],
      subtotal: '0.30',
      total: '0.30',
      status: 'issued',
    },
  ];
  for (const f of demo) await createCampaignInvoice(db, { ...f, issue_date: today }, today);
  return demo.length;
}
