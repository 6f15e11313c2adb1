// The schema's promises that other code relies on: row-level security, the constraints
// that keep bad rows out, and indexes behind the lookups sync and write-back run.
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { expect, it } from 'vitest';
import type { Database } from '../src/db/schema.ts';
import {
  fakeCiphertext,
  forEachDatabase,
  insertCampaignInvoice,
  insertConnection,
  insertTokens,
  newRealmId,
} from './db-helpers.ts';

const BRIEF_TABLES = [
  'campaign_invoices',
  'qbo_connections',
  'qbo_tokens',
  'qbo_request_log',
  'qbo_webhook_events',
  'qbo_sync_cursors',
  'qbo_customers',
  'qbo_invoices',
  'qbo_payments',
  'qbo_vendors',
  'qbo_items',
  'qbo_accounts',
];

async function tablesWithRls(db: Kysely<Database>) {
  const { rows } = await sql<{ table: string; rls: boolean }>`
    select c.relname as table, c.relrowsecurity as rls
    from pg_class c
    where c.relnamespace = current_schema()::regnamespace and c.relkind = 'r'
    order by 1`.execute(db);
  return rows;
}

/** Runs `fn` as a fresh NOLOGIN, NOBYPASSRLS role that has SELECT/INSERT on every table. */
async function asUnprivilegedRole<T>(
  db: Kysely<Database>,
  fn: (trx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  const role = `qbo_rls_probe_${randomBytes(5).toString('hex')}`;
  await sql.raw(`create role ${role} nologin nosuperuser nobypassrls`).execute(db);
  try {
    await sql.raw(`grant usage on schema "${await currentSchema(db)}" to ${role}`).execute(db);
    await sql
      .raw(`grant select, insert on all tables in schema "${await currentSchema(db)}" to ${role}`)
      .execute(db);
    await sql
      .raw(`grant usage on all sequences in schema "${await currentSchema(db)}" to ${role}`)
      .execute(db);
    // PostgreSQL 15 lets a role SET ROLE only to roles it is a member of.
    await sql.raw(`grant ${role} to current_user`).execute(db);
    return await db.transaction().execute(async (trx) => {
      await sql.raw(`set local role ${role}`).execute(trx);
      return fn(trx);
    });
  } finally {
    await sql.raw(`drop owned by ${role}`).execute(db);
    await sql.raw(`drop role ${role}`).execute(db);
  }
}

async function currentSchema(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ s: string }>`select current_schema() as s`.execute(db);
  return rows[0]!.s;
}

// Realm '1' and 'seed' are used only by the index test; other tests use fresh realm ids.
// Request-log rows spread over 30 realms: at 10 % of the table, a realm's newest 50 rows are
// as cheap to find by walking created_at backwards, and the planner may pick either index.
const SEED_FOR_PLANS = `
insert into qbo_customers (realm_id, qbo_id, display_name, email, raw)
  select (i % 10)::text, i::text, 'Customer ' || i, 'c' || i || '@example.com', '{}'
  from generate_series(1, 3000) i;
insert into qbo_invoices (realm_id, qbo_id, doc_number, customer_qbo_id, raw, qbo_updated_at)
  select (i % 10)::text, i::text, (1000 + i)::text, (i % 300)::text, '{}', now() - i * interval '1 minute'
  from generate_series(1, 3000) i;
insert into qbo_items (realm_id, qbo_id, name, raw)
  select (i % 10)::text, i::text, 'Item ' || i, '{}' from generate_series(1, 3000) i;
insert into qbo_accounts (realm_id, qbo_id, name, account_type, raw)
  select (i % 10)::text, i::text, 'Account ' || i, 'Type' || (i % 15), '{}'
  from generate_series(1, 3000) i;
insert into qbo_request_log (realm_id, kind, method, path, status, duration_ms, qbo_error_code, created_at)
  select (i % 30)::text, case when i % 100 = 0 then 'oauth_token_refresh' else 'accounting' end,
         'GET', '/v3/company/' || (i % 30) || '/' || (i % 7), 200, 5,
         case when i % 500 = 0 then '3001' end, now() - i * interval '1 hour'
  from generate_series(1, 3000) i;
insert into qbo_webhook_events (event_id, raw_body, signature_valid, status, received_at)
  select 'seed-' || i, '{}', true, case when i % 300 = 0 then 'pending' else 'processed' end,
         now() - i * interval '1 minute'
  from generate_series(1, 3000) i;
insert into campaign_invoices (client_name, qbo_sync_status, qbo_invoice_id, qbo_realm_id)
  select 'Client ' || i, case when i % 300 = 0 then 'pending' else 'synced' end, i::text, 'seed'
  from generate_series(1, 3000) i;
analyze;
`;

/** The database's own plan for `query`. */
async function plan(db: Kysely<Database>, query: string): Promise<string> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql.raw<Record<string, string>>(`explain ${query}`).execute(trx);
    return rows.map((r) => Object.values(r)[0]).join('\n');
  });
}

forEachDatabase((t) => {
  it('every table has row-level security enabled and no policy opening it', async () => {
    const { db } = t();
    const tables = await tablesWithRls(db);
    expect(tables.map((r) => r.table)).toEqual(
      expect.arrayContaining([...BRIEF_TABLES, 'schema_migrations']),
    );
    expect(tables.filter((r) => !r.rls).map((r) => r.table)).toEqual([]);
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_policies where schemaname = current_schema()`.execute(db);
    expect(rows[0]!.n).toBe(0);
  });

  it('a role other than the owner sees no rows and cannot insert, even with grants', async () => {
    const { db } = t();
    const conn = await insertConnection(db);
    await insertTokens(db, conn.realm_id);
    await insertCampaignInvoice(db);

    const seen = await asUnprivilegedRole(db, async (trx) => {
      const count = async (table: 'qbo_connections' | 'qbo_tokens' | 'campaign_invoices') =>
        Number(
          (
            await trx
              .selectFrom(table)
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      const counts = {
        connections: await count('qbo_connections'),
        tokens: await count('qbo_tokens'),
        invoices: await count('campaign_invoices'),
      };
      await sql`savepoint probe`.execute(trx);
      const insert = await insertConnection(trx).then(
        () => 'inserted',
        (e: Error) => e.message,
      );
      await sql`rollback to savepoint probe`.execute(trx);
      return { counts, insert };
    });

    expect(seen.counts).toEqual({ connections: 0, tokens: 0, invoices: 0 });
    expect(seen.insert).toMatch(/row-level security/);
    // …while the owner (this service) still sees its rows.
    const owner = await db
      .selectFrom('qbo_tokens')
      .select('realm_id')
      .where('realm_id', '=', conn.realm_id)
      .execute();
    expect(owner).toHaveLength(1);
  });

  it('enum-like columns refuse values outside their set', async () => {
    const { db } = t();
    await expect(insertConnection(db, { status: 'broken' as never })).rejects.toThrow(
      /qbo_connections_status_check/,
    );
    await expect(insertConnection(db, { environment: 'staging' as never })).rejects.toThrow(
      /qbo_connections_environment_check/,
    );
    const conn = await insertConnection(db);
    await expect(
      db
        .insertInto('qbo_sync_cursors')
        .values({ realm_id: conn.realm_id, entity_type: 'Bill' as never })
        .execute(),
    ).rejects.toThrow(/qbo_sync_cursors_entity_type_check/);
    await expect(insertCampaignInvoice(db, { qbo_sync_status: 'done' as never })).rejects.toThrow(
      /campaign_invoices_qbo_sync_status_check/,
    );
    await expect(
      db
        .insertInto('qbo_webhook_events')
        .values({
          event_id: 'x',
          raw_body: '<xml/>',
          signature_valid: true,
          format: 'xml' as never,
        })
        .execute(),
    ).rejects.toThrow(/qbo_webhook_events_format_check/);
  });

  it('a plaintext token cannot be stored', async () => {
    const { db } = t();
    const conn = await insertConnection(db);
    await expect(
      insertTokens(db, conn.realm_id, {
        access_token_ciphertext: 'eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..x',
      }),
    ).rejects.toThrow(/qbo_tokens_access_token_encrypted_check/);
    await expect(
      insertTokens(db, conn.realm_id, {
        refresh_token_ciphertext: 'AB11773409200abcdefghijklmnopqrstuvwxyz',
      }),
    ).rejects.toThrow(/qbo_tokens_refresh_token_encrypted_check/);
    await insertTokens(db, conn.realm_id, { access_token_ciphertext: fakeCiphertext('k2026') });
  });

  it('tokens belong to a connection and are deleted with it', async () => {
    const { db } = t();
    await expect(insertTokens(db, newRealmId())).rejects.toThrow(/foreign key/);
    const conn = await insertConnection(db);
    await insertTokens(db, conn.realm_id);
    await db.deleteFrom('qbo_connections').where('id', '=', conn.id).execute();
    const left = await db.selectFrom('qbo_tokens').where('realm_id', '=', conn.realm_id).execute();
    expect(left).toEqual([]);
  });

  it('an unsigned webhook delivery can only be stored as rejected', async () => {
    const { db } = t();
    const base = {
      event_id: `evt-${randomBytes(6).toString('hex')}`,
      raw_body: '{}',
      signature_valid: false,
    };
    await expect(db.insertInto('qbo_webhook_events').values(base).execute()).rejects.toThrow(
      /qbo_webhook_events_rejected_check/,
    );
    await db
      .insertInto('qbo_webhook_events')
      .values({ ...base, status: 'rejected' })
      .execute();
  });

  it('a redelivered webhook event is stored once, and a forged copy cannot block the real one', async () => {
    const { db } = t();
    const eventId = `evt-${randomBytes(6).toString('hex')}`;
    const insert = (signatureValid: boolean) =>
      db
        .insertInto('qbo_webhook_events')
        .values({
          realm_id: newRealmId(),
          event_id: eventId,
          raw_body: '[]',
          payload: '[]',
          signature_valid: signatureValid,
          format: 'cloudevents',
          status: signatureValid ? 'pending' : 'rejected',
        })
        // the index is partial: the conflict target must repeat its predicate
        .onConflict((oc) =>
          oc
            .column('event_id')
            .where(sql<boolean>`signature_valid`)
            .doNothing(),
        )
        .returning('id')
        .execute();

    expect(await insert(false)).toHaveLength(1); // forged copy arrives first
    expect(await insert(true)).toHaveLength(1); // genuine event still accepted
    expect(await insert(true)).toHaveLength(0); // Intuit's retry is a no-op
  });

  it('a new campaign invoice waits to be pushed, and "synced" needs the QBO invoice it points at', async () => {
    const { db } = t();
    const inv = await insertCampaignInvoice(db);
    expect(inv).toMatchObject({
      qbo_sync_status: 'pending',
      qbo_invoice_id: null,
      qbo_last_synced_at: null,
      qbo_error_message: null,
      qbo_realm_id: null,
      qbo_request_id: null,
    });
    await expect(
      db
        .updateTable('campaign_invoices')
        .set({ qbo_sync_status: 'synced' })
        .where('id', '=', inv.id)
        .execute(),
    ).rejects.toThrow(/campaign_invoices_qbo_synced_has_id_check/);

    const realmId = newRealmId();
    await db
      .updateTable('campaign_invoices')
      .set({
        qbo_sync_status: 'synced',
        qbo_invoice_id: '130',
        qbo_realm_id: realmId,
        qbo_last_synced_at: new Date(),
      })
      .where('id', '=', inv.id)
      .execute();
    await expect(
      insertCampaignInvoice(db, { qbo_invoice_id: '130', qbo_realm_id: realmId }),
    ).rejects.toThrow(/campaign_invoices_qbo_invoice_key/);
  });

  it('the lookups sync, write-back and the admin page run are served by indexes', async () => {
    const { db } = t();
    // Realistic volumes and statistics, so the planner picks by selectivity, not by ties.
    for (const statement of SEED_FOR_PLANS.split(';').filter((x) => x.trim())) {
      await sql.raw(statement).execute(db);
    }
    const cases: [string, string][] = [
      [
        "select * from qbo_customers where realm_id = '1' and lower(display_name) = 'acme'",
        'qbo_customers_display_name_idx',
      ],
      [
        "select * from qbo_customers where realm_id = '1' and lower(email) = 'a@b.c'",
        'qbo_customers_email_idx',
      ],
      [
        "select * from qbo_invoices where realm_id = '1' and customer_qbo_id = '5'",
        'qbo_invoices_customer_idx',
      ],
      [
        "select * from qbo_invoices where realm_id = '1' and doc_number = '1001'",
        'qbo_invoices_doc_number_idx',
      ],
      [
        "select * from qbo_items where realm_id = '1' and lower(name) = 'hours'",
        'qbo_items_name_idx',
      ],
      [
        "select * from qbo_accounts where realm_id = '1' and account_type = 'Income'",
        'qbo_accounts_type_idx',
      ],
      [
        "select * from qbo_request_log where realm_id = '1' order by created_at desc limit 50",
        'qbo_request_log_realm_created_idx',
      ],
      [
        "select count(*) from qbo_request_log where realm_id = '10' and kind = 'oauth_token_refresh' and created_at > now() - interval '24 hours'",
        'qbo_request_log_oauth_idx',
      ],
      [
        "select * from qbo_request_log where path like '/v3/company/1/query%'",
        'qbo_request_log_path_idx',
      ],
      [
        "select * from qbo_request_log where qbo_error_code = '3001'",
        'qbo_request_log_error_code_idx',
      ],
      [
        "delete from qbo_request_log where created_at < now() - interval '120 days'",
        'qbo_request_log_created_idx',
      ],
      [
        "select * from qbo_webhook_events where status in ('pending', 'processing') order by received_at limit 20",
        'qbo_webhook_events_pickup_idx',
      ],
      [
        "select * from campaign_invoices where qbo_sync_status in ('pending', 'error')",
        'campaign_invoices_qbo_sync_status_idx',
      ],
    ];
    for (const [query, index] of cases) {
      expect(await plan(db, query), query).toContain(index);
    }
  });
});
