// /readyz's checks against real databases (PGlite, and Postgres when DATABASE_URL is set)
// and a real Redis (when REDIS_URL is set) or one that is not there.
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { forEachDatabase } from '../../test/db-helpers.ts';
import { createReadinessCheck } from './health.ts';
import { readMigrations } from './migrate.ts';
import { closeRedis, createRedis } from './redis.ts';

forEachDatabase((t) => {
  it('a migrated database is ready; without REDIS_URL Redis is not checked', async () => {
    const r = await createReadinessCheck({ db: t().db, redis: null })();
    expect(r).toEqual({
      ready: true,
      checks: { database: { ok: true }, redis: null, migrations: { ok: true, pending: [] } },
    });
  });

  it('a migration not yet applied makes the process not ready and is named', async () => {
    const last = (await readMigrations()).at(-1)!.name;
    // Set aside and put back: the other tests of this file share the database.
    const removed = await sql<{ name: string; checksum: string; applied_at: Date }>`
      delete from schema_migrations where name = ${last}
      returning name, checksum, applied_at`.execute(t().db);
    try {
      const r = await createReadinessCheck({ db: t().db, redis: null })();
      expect(r.ready).toBe(false);
      expect(r.checks.migrations).toEqual({
        ok: false,
        error: '1 migration(s) not applied',
        pending: [last],
      });
      expect(r.checks.database.ok).toBe(true);
    } finally {
      for (const m of removed.rows) {
        await sql`insert into schema_migrations (name, checksum, applied_at)
          values (${m.name}, ${m.checksum}, ${m.applied_at})`.execute(t().db);
      }
    }
  });

  it('a Redis that does not answer makes the process not ready, within the bound', async () => {
    // Port 1: nothing listens there; ioredis keeps reconnecting, the check gives up.
    const down = createRedis('redis://127.0.0.1:1', { name: 'readyz-test' });
    down.on('error', () => {});
    try {
      const r = await createReadinessCheck({ db: t().db, redis: down, timeoutMs: 300 })();
      expect(r.ready).toBe(false);
      expect(r.checks.redis).toEqual({ ok: false, error: expect.any(String) });
      expect(r.checks.database.ok).toBe(true);
    } finally {
      down.disconnect();
    }
  });

  if (process.env.REDIS_URL) {
    it('a Redis that answers is ready', async () => {
      const redis = createRedis(process.env.REDIS_URL!, { name: 'readyz-test' });
      try {
        const r = await createReadinessCheck({ db: t().db, redis })();
        expect(r.checks.redis).toEqual({ ok: true });
        expect(r.ready).toBe(true);
      } finally {
        await closeRedis(redis);
      }
    });
  }
});
