// Readiness for /readyz: can this process do its work right now? The database answers, Redis
// answers when it is configured (the lock and the shared rate limits live there), and every
// migration file in supabase/migrations is recorded as applied (a process started against a
// database an older version migrated must not take traffic). Each check is bounded, so a
// hung dependency makes the answer "not ready", never a hung probe.
import type { Redis } from 'ioredis';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { MIGRATIONS_DIR, readMigrations } from './migrate.ts';

export interface CheckResult {
  ok: boolean;
  /** Why it failed: the dependency's own message, never a URL or credential. */
  error?: string;
}

export interface Readiness {
  ready: boolean;
  checks: {
    database: CheckResult;
    /** null when REDIS_URL is not set (in-process lock and limits). */
    redis: CheckResult | null;
    migrations: CheckResult & { pending: string[] };
  };
}

export interface ReadinessDeps {
  db: Kysely<Database>;
  redis: Redis | null;
  migrationsDir?: string;
  /** Per check (default 2 s). */
  timeoutMs?: number;
}

export type ReadinessCheck = () => Promise<Readiness>;

export function createReadinessCheck(d: ReadinessDeps): ReadinessCheck {
  const timeoutMs = d.timeoutMs ?? 2_000;
  // The files do not change while the process runs: read them once.
  let expected: Promise<string[]> | null = null;
  const expectedNames = () =>
    (expected ??= readMigrations(d.migrationsDir ?? MIGRATIONS_DIR).then((f) =>
      f.map((m) => m.name),
    ));

  const database = () => bounded(sql`select 1`.execute(d.db), timeoutMs);
  const redis = (r: Redis) => bounded(r.ping(), timeoutMs);
  const migrations = async (): Promise<CheckResult & { pending: string[] }> => {
    try {
      const [names, rows] = await Promise.all([
        expectedNames(),
        bounded(sql<{ name: string }>`select name from schema_migrations`.execute(d.db), timeoutMs),
      ]);
      const applied = new Set(rows.rows.map((r) => r.name));
      const pending = names.filter((n) => !applied.has(n));
      return pending.length === 0
        ? { ok: true, pending }
        : { ok: false, error: `${pending.length} migration(s) not applied`, pending };
    } catch (err) {
      return { ok: false, error: messageOf(err), pending: [] };
    }
  };

  return async () => {
    const [db, rd, mig] = await Promise.all([
      outcome(database()),
      d.redis ? outcome(redis(d.redis)) : Promise.resolve(null),
      migrations(),
    ]);
    return {
      ready: db.ok && (rd?.ok ?? true) && mig.ok,
      checks: { database: db, redis: rd, migrations: mig },
    };
  };
}

async function outcome(p: Promise<unknown>): Promise<CheckResult> {
  try {
    await p;
    return { ok: true };
  } catch (err) {
    return { ok: false, error: messageOf(err) };
  }
}

function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function messageOf(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  // Connection errors may name the URL they tried; never its credentials.
  return m.replace(/\/\/[^@/\s]*@/g, '//').slice(0, 200);
}
