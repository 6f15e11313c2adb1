// A process killed (SIGKILL) in the middle of a full sync loses nothing: nothing is marked
// deleted by the half-done pass, and after a restart the next run leaves the mirror equal
// to QBO. The sync runs in a child process (test/sync-child.ts); PGlite on disk and Postgres.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import pino from 'pino';
import { seedCompany, type Sandbox } from 'qbo-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intuitUrls } from '../../../config.ts';
import type { Database } from '../../../db/schema.ts';
import { buildServices } from '../../../infra/container.ts';
import { createDatabase, type DatabaseHandle } from '../../../infra/db.ts';
import { migrate } from '../../../infra/migrate.ts';
import { databaseKinds, uniqueSchemaName } from '../../../../test/db-helpers.ts';
import { control, startTestSandbox } from '../../../../test/service-harness.ts';
import type { SyncChildJob } from '../../../../test/sync-child.ts';
import { expectMirrorEqualsQbo } from '../../../../test/sync-helpers.ts';
import { createRun } from './runs.ts';

const ROOT = fileURLToPath(new URL('../../../../../../', import.meta.url));

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(async () => {
  await sandbox?.close();
});

for (const kind of databaseKinds()) {
  describe(kind, () => {
    it('kill -9 midway through a full sync, restart, next run: the mirror equals QBO', async () => {
      const location: SyncChildJob['database'] =
        kind === 'pglite'
          ? { dataDir: await fs.mkdtemp(path.join(os.tmpdir(), 'qbo-sync-kill-')) }
          : { databaseUrl: process.env.DATABASE_URL!, schema: uniqueSchemaName() };
      const open = () => createDatabase(location);
      let handle: DatabaseHandle = await open();
      await migrate(handle);

      const app = sandbox.registerApp({ name: 'kill test', redirectUris: ['http://localhost/cb'] });
      const company = sandbox.addCompany({ companyName: `Kill ${randomBytes(3).toString('hex')}` });
      // 12 pages of Customers, Invoices and Payments: enough that a kill lands mid-pass.
      seedCompany(company, { seed: 43, entities: 12_000, bills: 0 });
      const realmId = company.realmId;
      const tokenKeyHex = randomBytes(32).toString('hex');
      const servicesOf = (db: Kysely<Database>) =>
        buildServices({
          db,
          intuit: {
            clientId: app.clientId,
            clientSecret: app.clientSecret,
            redirectUri: 'http://localhost/cb',
            environment: 'sandbox',
            webhookVerifierToken: 'unused',
            sandboxUrl: sandbox.url,
            urls: intuitUrls('sandbox', sandbox.url),
          },
          adminApiToken: 'unused',
          tokenKeyring: { currentKeyId: 'kill', keys: { kill: tokenKeyHex } },
          minorVersion: 75,
          logger: pino({ level: 'silent' }),
        });
      const minted = await control(sandbox, 'POST', '/tokens', { clientId: app.clientId, realmId });
      const now = Date.now();
      await servicesOf(handle.db).tokens.saveTokens(realmId, {
        accessToken: minted.body.access_token,
        refreshToken: minted.body.refresh_token,
        accessTokenExpiresAt: new Date(now + 3_600_000),
        refreshTokenExpiresAt: new Date(now + 86_400_000),
        refreshTokenHardExpiresAt: null,
      });
      // A row QBO never had: only a complete pass may mark it deleted.
      await sql`insert into qbo_invoices (realm_id, qbo_id, sync_token, raw)
        values (${realmId}, '888888', '0', '{}')`.execute(handle.db);
      const run = await createRun(handle.db, realmId, 'full', ['Customer', 'Invoice', 'Payment']);
      // Slow pages, so the kill lands mid-pass.
      await control(sandbox, 'POST', '/faults', {
        kind: 'latency',
        surface: 'accounting',
        realmId,
        latencyMs: 400,
      });
      if (kind === 'pglite') await handle.close(); // one process per PGlite data directory

      const child = spawn(process.execPath, ['--import', 'tsx', 'apps/api/test/sync-child.ts'], {
        cwd: ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
      child.stdin.end(
        JSON.stringify({
          database: location,
          sandboxUrl: sandbox.url,
          clientId: app.clientId,
          clientSecret: app.clientSecret,
          tokenKeyHex,
          runId: run.id,
        } satisfies SyncChildJob),
      );
      // Midway: the sandbox has served the child some pages, not all.
      const deadline = Date.now() + 120_000;
      const pagesServed = () =>
        sandbox.state.journal.filter(
          (e) => e.realmId === realmId && e.url.includes('STARTPOSITION'),
        ).length;
      while (pagesServed() < 3) {
        if (Date.now() > deadline) throw new Error(`child made no progress:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      expect(out).not.toContain('FINISHED');

      if (kind === 'pglite') handle = await open();
      const db = handle.db;
      const stale = await db
        .selectFrom('qbo_invoices')
        .select('is_deleted')
        .where('realm_id', '=', realmId)
        .where('qbo_id', '=', '888888')
        .executeTakeFirstOrThrow();
      expect(stale.is_deleted).toBe(false);
      const left = await db
        .selectFrom('qbo_sync_runs')
        .select('status')
        .where('id', '=', run.id)
        .executeTakeFirstOrThrow();
      expect(left.status).toBe('running');

      // Restart: a new process's services take the unfinished run up again.
      await control(sandbox, 'DELETE', '/faults');
      const services = servicesOf(db);
      await services.jobs.start();
      try {
        expect(await services.sync.resumeUnfinished()).toEqual([run.id]);
        const end = Date.now() + 120_000;
        for (;;) {
          const r = await db
            .selectFrom('qbo_sync_runs')
            .select(['status', 'error'])
            .where('id', '=', run.id)
            .executeTakeFirstOrThrow();
          if (r.status === 'success') break;
          if (r.status === 'error' || Date.now() > end)
            throw new Error(`run: ${JSON.stringify(r)}`);
          await new Promise((res) => setTimeout(res, 100));
        }
      } finally {
        await services.jobs.close(1_000);
      }
      await expectMirrorEqualsQbo(db, company, ['Customer', 'Invoice', 'Payment']);
      if (kind === 'postgres' && 'schema' in location) {
        await sql.raw(`drop schema if exists "${location.schema}" cascade`).execute(db);
      }
      await handle.close();
      if ('dataDir' in location) await fs.rm(location.dataDir, { recursive: true, force: true });
    }, 300_000);
  });
}
