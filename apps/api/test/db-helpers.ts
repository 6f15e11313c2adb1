// Test databases: every suite runs on PGlite and, when DATABASE_URL is set, on Postgres too.
// Each test file gets its own database — on Postgres a fresh schema (migrated once, dropped
// afterwards), on PGlite an in-memory copy of a migrated template — so files run in
// parallel and never see each other's rows.
//
//   forEachDatabase((t) => {
//     it('stores a connection', async () => {
//       const { db } = t();
//       await insertConnection(db);
//     });
//   });
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { PgliteSession } from '../src/infra/pglite-remote.ts';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe } from 'vitest';
import type {
  CampaignInvoice,
  Database,
  NewCampaignInvoice,
  NewQboConnection,
  NewQboTokens,
  QboConnection,
} from '../src/db/schema.ts';
import { toJson } from '../src/db/schema.ts';
import { createDatabase, type DatabaseHandle, type DatabaseKind } from '../src/infra/db.ts';
import { checksumOf, migrate, readMigrations } from '../src/infra/migrate.ts';

export interface TestDatabase extends DatabaseHandle {
  /** Drops the schema (Postgres) or discards the copy (PGlite). */
  close(): Promise<void>;
}

/** PGlite always; Postgres when DATABASE_URL is set (CI sets it). */
export function databaseKinds(): DatabaseKind[] {
  return process.env.DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

/**
 * Declares `fn`'s tests once per database kind, inside `describe('<kind>')`, with one
 * migrated database per kind for the whole file. `t()` returns it inside tests and hooks.
 */
export function forEachDatabase(fn: (t: () => TestDatabase, kind: DatabaseKind) => void): void {
  for (const kind of databaseKinds()) {
    describe(kind, () => {
      let current: TestDatabase | undefined;
      beforeAll(async () => {
        current = await openTestDatabase(kind);
      });
      afterAll(async () => {
        await current?.close();
      });
      fn(() => {
        if (!current)
          throw new Error(`the ${kind} test database is not open yet (use t() inside tests)`);
        return current;
      }, kind);
    });
  }
}

/** A migrated, isolated database. Close it when done. */
export async function openTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  return kind === 'pglite'
    ? createDatabase({ dataDir: 'memory', loadDataDir: await pgliteTemplate('migrated') })
    : openPostgresSchema(true);
}

/** An isolated database with nothing applied (for migration-runner tests). */
export async function openEmptyTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  return kind === 'pglite'
    ? createDatabase({ dataDir: 'memory', loadDataDir: await pgliteTemplate('empty') })
    : openPostgresSchema(false);
}

/**
 * Another handle on the same Postgres schema (to race two "processes"). Closing it leaves
 * the schema in place.
 */
export async function openSecondHandle(first: TestDatabase): Promise<DatabaseHandle> {
  if (first.kind !== 'postgres' || !first.schema) throw new Error('Postgres test databases only');
  return createDatabase({ databaseUrl: databaseUrl(), schema: first.schema, poolSize: 2 });
}

/** A Postgres schema name no other test file uses (the database is shared by everyone). */
export function uniqueSchemaName(): string {
  return `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

async function openPostgresSchema(migrated: boolean): Promise<TestDatabase> {
  const schema = uniqueSchemaName();
  const handle = await createDatabase({ databaseUrl: databaseUrl(), schema, poolSize: 4 });
  try {
    if (migrated) await migrate(handle);
    else await sql.raw(`create schema "${schema}"`).execute(handle.db);
  } catch (err) {
    await handle.close();
    throw err;
  }
  return {
    ...handle,
    close: async () => {
      try {
        await sql.raw(`drop schema if exists "${schema}" cascade`).execute(handle.db);
      } finally {
        await handle.close();
      }
    },
  };
}

function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  return url;
}

// ---------------------------------------------------------------------------------------
// PGlite templates. A fresh PGlite takes ~4 s (initdb in WASM) plus the migrations; loading
// a dumped data directory takes ~1 s. The tarball is cached on disk, keyed by the PGlite
// version and the migrations' checksums, so the first test file to need it builds it and
// every other file (each vitest worker is its own process) only loads it.

type TemplateKind = 'empty' | 'migrated';
const templates = new Map<TemplateKind, Promise<Blob>>();

function pgliteTemplate(kind: TemplateKind): Promise<Blob> {
  let blob = templates.get(kind);
  if (!blob) {
    blob = loadOrBuildTemplate(kind);
    templates.set(kind, blob);
    blob.catch(() => templates.delete(kind));
  }
  return blob;
}

async function loadOrBuildTemplate(kind: TemplateKind): Promise<Blob> {
  const dir = path.join(os.tmpdir(), 'qbo-sync-test-pglite');
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${kind}-${await templateKey(kind)}.tar`);
  const ready = await fs.readFile(file).catch(() => null);
  if (ready) return new Blob([ready]);
  return withBuildLock(file, async () => {
    const cached = await fs.readFile(file).catch(() => null);
    if (cached) return new Blob([cached]);
    const handle = await createDatabase({
      dataDir: 'memory',
      ...(kind === 'migrated' ? { loadDataDir: await pgliteTemplate('empty') } : {}),
    });
    try {
      if (kind === 'migrated') await migrate(handle);
      return await saveTemplate(handle.pglite!, file);
    } finally {
      await handle.close();
    }
  });
}

/**
 * One builder at a time across processes (parallel test files would otherwise all pay for
 * the same build on a 2-core CI machine). A lock older than two minutes is a dead builder's.
 */
async function withBuildLock<T>(file: string, build: () => Promise<T>): Promise<T> {
  const lockFile = `${file}.lock`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      await fs.writeFile(lockFile, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const stat = await fs.stat(lockFile).catch(() => null);
      if (stat && Date.now() - stat.mtimeMs > 120_000) await fs.rm(lockFile, { force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockFile}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await build();
  } finally {
    await fs.rm(lockFile, { force: true });
  }
}

async function saveTemplate(pglite: PgliteSession, file: string): Promise<Blob> {
  const dump = await pglite.dumpDataDir('none');
  // Write-then-rename: a concurrent reader sees the old state or the whole file, never half.
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await fs.writeFile(tmp, Buffer.from(await dump.arrayBuffer()));
  await fs.rename(tmp, file);
  // Templates of earlier migration sets are dead weight (~40 MB each): drop them.
  const dir = path.dirname(file);
  const kind = path.basename(file).split('-')[0]!;
  for (const name of await fs.readdir(dir)) {
    if (name.startsWith(`${kind}-`) && name.endsWith('.tar') && name !== path.basename(file)) {
      await fs.rm(path.join(dir, name), { force: true });
    }
  }
  return dump;
}

async function templateKey(kind: TemplateKind): Promise<string> {
  const parts = [`pglite ${await pgliteVersion()}`];
  if (kind === 'migrated') {
    for (const f of await readMigrations()) parts.push(`${f.name} ${f.checksum}`);
  }
  return checksumOf(parts.join('\n')).slice(0, 16);
}

// The package's exports hide its package.json, so find it from the entry point.
async function pgliteVersion(): Promise<string> {
  let dir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  for (;;) {
    const manifest = await fs.readFile(path.join(dir, 'package.json'), 'utf8').catch(() => null);
    const parsed = manifest ? (JSON.parse(manifest) as { name?: string; version?: string }) : null;
    if (parsed?.name === '@electric-sql/pglite' && parsed.version) return parsed.version;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the installed @electric-sql/pglite version');
    dir = parent;
  }
}

// ---------------------------------------------------------------------------------------
// Fixtures: rows with sensible defaults and unique ids, overridable field by field.

/** A realm id no other test uses (QBO realm ids are long decimal strings). */
export function newRealmId(): string {
  return `9${Date.now()}${Math.floor(Math.random() * 1e6)
    .toString()
    .padStart(6, '0')}`;
}

/** Shaped like a token-cipher value, so the table's "never plaintext" CHECK accepts it. */
export function fakeCiphertext(keyId = 'test'): string {
  const b64 = (n: number) => randomBytes(n).toString('base64url');
  return `v1:${keyId}:${b64(12)}:${b64(16)}:${b64(32)}`;
}

export async function insertConnection(
  db: Kysely<Database>,
  overrides: Partial<NewQboConnection> = {},
): Promise<QboConnection> {
  return db
    .insertInto('qbo_connections')
    .values({
      realm_id: newRealmId(),
      company_name: 'Test Company',
      environment: 'sandbox',
      status: 'connected',
      scopes: ['com.intuit.quickbooks.accounting'],
      ...overrides,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertTokens(
  db: Kysely<Database>,
  realmId: string,
  overrides: Partial<NewQboTokens> = {},
): Promise<void> {
  const now = Date.now();
  await db
    .insertInto('qbo_tokens')
    .values({
      realm_id: realmId,
      access_token_ciphertext: fakeCiphertext(),
      refresh_token_ciphertext: fakeCiphertext(),
      key_id: 'test',
      access_token_expires_at: new Date(now + 3600_000),
      refresh_token_expires_at: new Date(now + 100 * 86_400_000),
      refresh_token_hard_expires_at: new Date(now + 5 * 365 * 86_400_000),
      ...overrides,
    })
    .execute();
}

export async function insertCampaignInvoice(
  db: Kysely<Database>,
  overrides: Partial<NewCampaignInvoice> = {},
): Promise<CampaignInvoice> {
  return db
    .insertInto('campaign_invoices')
    .values({
      client_name: `Client ${randomBytes(3).toString('hex')}`,
      client_email: 'billing@example.com',
      line_items: toJson([
        {
          description: 'Campaign management',
          quantity: '2',
          unit_price: '150.00',
          amount: '300.00',
        },
      ]),
      subtotal: '300.00',
      tax: '0.00',
      total: '300.00',
      currency: 'USD',
      issue_date: '2026-02-01',
      due_date: '2026-03-03',
      status: 'issued',
      ...overrides,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}
