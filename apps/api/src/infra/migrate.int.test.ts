import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  databaseKinds,
  openEmptyTestDatabase,
  openSecondHandle,
  type TestDatabase,
} from '../../test/db-helpers.ts';
import type { DatabaseHandle } from './db.ts';
import { MigrationError, migrate, readMigrations } from './migrate.ts';

// Each test starts from a database with nothing applied: its own schema on Postgres, a
// copy of an empty PGlite cluster otherwise.
const opened: { close(): Promise<void> }[] = [];
const tempDirs: string[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((h) => h.close()));
  await Promise.all(tempDirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function emptyDatabase(kind: TestDatabase['kind']): Promise<TestDatabase> {
  const handle = await openEmptyTestDatabase(kind);
  opened.push(handle);
  return handle;
}

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qbo-sync-migrations-'));
  tempDirs.push(dir);
  for (const [name, text] of Object.entries(files)) await fs.writeFile(path.join(dir, name), text);
  return dir;
}

async function recorded(handle: DatabaseHandle) {
  return handle.db
    .selectFrom('schema_migrations')
    .select(['name', 'checksum', 'applied_at'])
    .orderBy('name')
    .execute();
}

async function tableExists(handle: DatabaseHandle, table: string): Promise<boolean> {
  const { rows } = await sql<{ t: string | null }>`select to_regclass(${table})::text as t`.execute(
    handle.db,
  );
  return rows[0]?.t != null;
}

for (const kind of databaseKinds()) {
  describe(kind, () => {
    it('a fresh database gets every migration, each recorded with its checksum', async () => {
      const handle = await emptyDatabase(kind);
      const files = await readMigrations();

      const result = await migrate(handle);

      expect(result.applied).toEqual(files.map((f) => f.name));
      expect(result.skipped).toEqual([]);
      const rows = await recorded(handle);
      expect(rows.map((r) => [r.name, r.checksum])).toEqual(files.map((f) => [f.name, f.checksum]));
      expect(rows.every((r) => r.applied_at instanceof Date)).toBe(true);
      for (const table of ['campaign_invoices', 'qbo_connections', 'qbo_tokens', 'qbo_accounts']) {
        expect(await tableExists(handle, table), table).toBe(true);
      }
    });

    it('running the migrations again applies nothing and keeps the records', async () => {
      const handle = await emptyDatabase(kind);
      await migrate(handle);
      const before = await recorded(handle);

      const again = await migrate(handle);

      expect(again.applied).toEqual([]);
      expect(again.skipped).toEqual(before.map((r) => r.name));
      expect(await recorded(handle)).toEqual(before);
    });

    it('a failing migration names its file and line, and leaves nothing of itself behind', async () => {
      const handle = await emptyDatabase(kind);
      const dir = await migrationsDir({
        '20990101000000_first.sql': 'create table first_table (id int primary key);\n',
        '20990102000000_broken.sql':
          'create table half_done (id int);\n\nselect * from table_that_does_not_exist;\n',
        '20990103000000_after.sql': 'create table after_table (id int);\n',
      });

      const error = await migrate(handle, { dir }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).file).toBe('20990102000000_broken.sql');
      expect((error as Error).message).toMatch(
        /migration 20990102000000_broken\.sql failed: relation "table_that_does_not_exist" does not exist \(line 3\)/,
      );
      expect((await recorded(handle)).map((r) => r.name)).toEqual(['20990101000000_first.sql']);
      expect(await tableExists(handle, 'first_table')).toBe(true);
      expect(await tableExists(handle, 'half_done')).toBe(false);
      expect(await tableExists(handle, 'after_table')).toBe(false);
    });

    it('an applied migration that was edited is refused before anything else runs', async () => {
      const handle = await emptyDatabase(kind);
      const dir = await migrationsDir({
        '20990101000000_first.sql': 'create table first_table (id int);\n',
      });
      await migrate(handle, { dir });
      await fs.writeFile(
        path.join(dir, '20990101000000_first.sql'),
        'create table first_table (id bigint);\n',
      );
      await fs.writeFile(
        path.join(dir, '20990102000000_next.sql'),
        'create table next_table (id int);\n',
      );

      const error = await migrate(handle, { dir }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).file).toBe('20990101000000_first.sql');
      expect((error as Error).message).toMatch(
        /migration 20990101000000_first\.sql was changed after it was applied/,
      );
      expect(await tableExists(handle, 'next_table')).toBe(false);
    });

    it('a line-ending-only change (a Windows checkout) is not an edit', async () => {
      const handle = await emptyDatabase(kind);
      const dir = await migrationsDir({
        '20990101000000_first.sql': 'create table first_table (id int);\n-- note\n',
      });
      await migrate(handle, { dir });
      await fs.writeFile(
        path.join(dir, '20990101000000_first.sql'),
        'create table first_table (id int);\r\n-- note\r\n',
      );

      await expect(migrate(handle, { dir })).resolves.toEqual({
        applied: [],
        skipped: ['20990101000000_first.sql'],
      });
    });

    it('a new migration dated before an applied one is refused', async () => {
      const handle = await emptyDatabase(kind);
      const dir = await migrationsDir({
        '20990105000000_later.sql': 'create table later_table (id int);\n',
      });
      await migrate(handle, { dir });
      await fs.writeFile(
        path.join(dir, '20990101000000_earlier.sql'),
        'create table earlier_table (id int);\n',
      );

      const error = await migrate(handle, { dir }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toMatch(
        /20990101000000_earlier\.sql sorts before 20990105000000_later\.sql, which is already applied/,
      );
      expect(await tableExists(handle, 'earlier_table')).toBe(false);
    });

    it('request-log rows written before the kind column get their kind from the old path convention', async () => {
      const handle = await emptyDatabase(kind);
      const files = await readMigrations();
      const at = files.findIndex((f) => f.name === '20260301000000_qbo_request_log_kind.sql');
      const before = await migrationsDir(
        Object.fromEntries(files.slice(0, at).map((f) => [f.name, f.sql])),
      );
      await migrate(handle, { dir: before });
      await sql`insert into qbo_request_log (realm_id, method, path, duration_ms) values
        ('1', 'GET', '/v3/company/1/query?query=select * from Customer', 5),
        ('1', 'POST', '/oauth2/v1/tokens/bearer?grant_type=authorization_code', 5),
        ('1', 'POST', '/oauth2/v1/tokens/bearer?grant_type=refresh_token', 5),
        ('1', 'POST', '/v2/oauth2/tokens/revoke', 5)`.execute(handle.db);

      await migrate(handle);

      const rows = await handle.db
        .selectFrom('qbo_request_log')
        .select(['kind', 'path'])
        .orderBy('id')
        .execute();
      expect(rows).toEqual([
        { kind: 'accounting', path: '/v3/company/1/query?query=select * from Customer' },
        { kind: 'oauth_token_exchange', path: '/oauth2/v1/tokens/bearer' },
        { kind: 'oauth_token_refresh', path: '/oauth2/v1/tokens/bearer' },
        { kind: 'oauth_revoke', path: '/v2/oauth2/tokens/revoke' },
      ]);
    });

    if (kind === 'postgres') {
      it('two processes migrating at once apply each file exactly once', async () => {
        const first = await emptyDatabase(kind);
        const second = await openSecondHandle(first);
        opened.push(second);
        const files = await readMigrations();

        const [a, b] = await Promise.all([migrate(first), migrate(second)]);

        expect([...a.applied, ...b.applied].sort()).toEqual(files.map((f) => f.name));
        // whoever got the lock second found everything done
        expect(a.applied.length === 0 || b.applied.length === 0).toBe(true);
        expect((await recorded(first)).map((r) => r.name)).toEqual(files.map((f) => f.name));
      });
    }
  });
}

describe('migration files', () => {
  it('a file not named <timestamp>_<name>.sql is refused rather than skipped', async () => {
    const dir = await migrationsDir({
      '20990101000000_fine.sql': 'select 1;\n',
      'add-users.sql': 'select 1;\n',
    });
    await expect(readMigrations(dir)).rejects.toThrow(/add-users\.sql .* is not named/);
  });

  it('the repository migrations keep the brief recognisable and sort in the right order', async () => {
    const names = (await readMigrations()).map((f) => f.name);
    expect(names.slice(0, 3)).toEqual([
      '20260210000000_campaign_invoices.sql',
      '20260211000000_quickbooks_integration.sql',
      '20260211000100_quickbooks_invoice_writeback.sql',
    ]);
    expect([...names].sort()).toEqual(names);
  });
});
