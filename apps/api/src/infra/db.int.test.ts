// Both adapters must hand back the same value shapes (src/db/schema.ts): code written and
// tested on PGlite then behaves the same on Postgres.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  forEachDatabase,
  insertCampaignInvoice,
  insertConnection,
  insertTokens,
  newRealmId,
} from '../../test/db-helpers.ts';
import { toJson } from '../db/schema.ts';
import { createDatabase, maskPassword } from './db.ts';

forEachDatabase((t) => {
  it('money round-trips exactly as a decimal string, sums included', async () => {
    const { db } = t();
    const a = await insertCampaignInvoice(db, {
      subtotal: '12345678901234.56',
      tax: '0.01',
      total: '12345678901234.57',
    });
    const b = await insertCampaignInvoice(db, { total: '0.10' });

    const row = await db
      .selectFrom('campaign_invoices')
      .select(['subtotal', 'tax', 'total'])
      .where('id', '=', a.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ subtotal: '12345678901234.56', tax: '0.01', total: '12345678901234.57' });

    const sum = await db
      .selectFrom('campaign_invoices')
      .select((eb) => eb.fn.sum<string>('total').as('sum'))
      .where('id', 'in', [a.id, b.id])
      .executeTakeFirstOrThrow();
    expect(sum.sum).toBe('12345678901234.67');
  });

  it('unit prices keep every decimal QBO sent', async () => {
    const { db } = t();
    const realmId = newRealmId();
    await db
      .insertInto('qbo_items')
      .values({ realm_id: realmId, qbo_id: '1', name: 'Hours', unit_price: '0.12345', raw: '{}' })
      .execute();
    const item = await db
      .selectFrom('qbo_items')
      .select('unit_price')
      .where('realm_id', '=', realmId)
      .executeTakeFirstOrThrow();
    expect(item.unit_price).toBe('0.12345');
  });

  it('calendar dates come back as the same YYYY-MM-DD text', async () => {
    const { db } = t();
    const inv = await insertCampaignInvoice(db, {
      issue_date: '2026-02-28',
      due_date: '2026-03-01',
    });
    expect([inv.issue_date, inv.due_date]).toEqual(['2026-02-28', '2026-03-01']);
  });

  it('timestamps come back as Date instants', async () => {
    const { db } = t();
    const at = new Date('2026-02-11T10:15:30.123Z');
    const conn = await insertConnection(db, { connected_at: at });
    expect(conn.connected_at).toBeInstanceOf(Date);
    expect(conn.connected_at.toISOString()).toBe('2026-02-11T10:15:30.123Z');
    expect(conn.created_at).toBeInstanceOf(Date);
  });

  it('bigint columns come back as strings', async () => {
    const { db } = t();
    const conn = await insertConnection(db);
    await insertTokens(db, conn.realm_id);
    const tokens = await db
      .selectFrom('qbo_tokens')
      .select('version')
      .where('realm_id', '=', conn.realm_id)
      .executeTakeFirstOrThrow();
    expect(tokens.version).toBe('1');
    const log = await db
      .insertInto('qbo_request_log')
      .values({
        realm_id: conn.realm_id,
        kind: 'accounting',
        method: 'GET',
        path: '/v3/company/1/query',
        duration_ms: 12,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect(log.id).toMatch(/^\d+$/);
  });

  it('jsonb keeps arrays, objects and decimal strings; text[] comes back as an array', async () => {
    const { db } = t();
    const lines = [
      { description: 'Design', quantity: '1.5', unit_price: '100.00', amount: '150.00' },
      { description: 'Ads', quantity: '1', unit_price: '0.10', amount: '0.10' },
    ];
    const inv = await insertCampaignInvoice(db, { line_items: toJson(lines) });
    expect(inv.line_items).toEqual(lines);
    const conn = await insertConnection(db, {
      scopes: ['com.intuit.quickbooks.accounting', 'openid'],
    });
    expect(conn.scopes).toEqual(['com.intuit.quickbooks.accounting', 'openid']);
  });

  it('a transaction that throws leaves nothing behind', async () => {
    const { db } = t();
    const realmId = newRealmId();
    await expect(
      db.transaction().execute(async (trx) => {
        await insertConnection(trx, { realm_id: realmId });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const rows = await db.selectFrom('qbo_connections').where('realm_id', '=', realmId).execute();
    expect(rows).toEqual([]);
  });

  it('a statement that fails inside a savepoint does not undo the rest of the transaction', async () => {
    const { db } = t();
    const realmId = newRealmId();
    await db.transaction().execute(async (trx) => {
      await insertConnection(trx, { realm_id: realmId });
      await sql`savepoint dup`.execute(trx);
      await expect(insertConnection(trx, { realm_id: realmId })).rejects.toThrow(/duplicate key/);
      await sql`rollback to savepoint dup`.execute(trx);
      await trx
        .updateTable('qbo_connections')
        .set({ company_name: 'Kept' })
        .where('realm_id', '=', realmId)
        .execute();
    });
    const row = await db
      .selectFrom('qbo_connections')
      .select('company_name')
      .where('realm_id', '=', realmId)
      .executeTakeFirstOrThrow();
    expect(row.company_name).toBe('Kept');
  });
});

describe('PGlite data directory', () => {
  it('a directory already open in this process cannot be opened again', async () => {
    const dir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'qbo-sync-pglite-')), 'pglite');
    // A lock left by a process that no longer exists is taken over.
    await fs.writeFile(`${dir}.lock`, '2147483646\n');
    const first = await createDatabase({ dataDir: dir });
    try {
      await expect(createDatabase({ dataDir: dir })).rejects.toThrow(
        /already open in this process/,
      );
    } finally {
      await first.close();
    }
    await expect(fs.stat(`${dir}.lock`)).rejects.toThrow(/ENOENT/);
    await fs.rm(path.dirname(dir), { recursive: true, force: true });
    // A fresh on-disk PGlite runs initdb in WebAssembly: ~4 s alone, far more on a busy
    // 2-core machine.
  }, 120_000);

  it('a directory in use by another live process is refused with a way out', async () => {
    const dir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'qbo-sync-pglite-')), 'pglite');
    await fs.writeFile(`${dir}.lock`, `${process.ppid}\n`);
    await expect(createDatabase({ dataDir: dir })).rejects.toThrow(
      new RegExp(`in use by process ${process.ppid}.*set DATABASE_URL`),
    );
    await fs.rm(path.dirname(dir), { recursive: true, force: true });
  });
});

describe('database URLs in logs', () => {
  it('never show the password', () => {
    expect(maskPassword('postgres://svc:s3cret@db.example.com:5432/app')).toBe(
      'postgres://svc:***@db.example.com:5432/app',
    );
  });
});
