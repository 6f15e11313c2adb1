// `qbo-sync doctor`: checks what a running service depends on and says what to fix. Each
// check is independent; one failing does not hide the others.
import { Redis } from 'ioredis';
import type { AppConfig } from '../config.ts';
import {
  createDatabase,
  databaseOptionsFromConfig,
  maskPassword,
  pgliteClusterExists,
} from '../infra/db.ts';
import { readMigrations } from '../infra/migrate.ts';
import type { StatusResponse } from '@qbo-sync/contract';
import type { ServiceClient } from './service.ts';
import { ServiceUnreachableError } from './service.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when it failed. */
  fix?: string;
}

/** Beyond this, OAuth token lifetimes and webhook timestamps are judged wrongly. */
export const MAX_CLOCK_SKEW_MS = 60_000;
const RENEW_WARN_DAYS = 14;

export async function runDoctor(config: AppConfig, service: ServiceClient): Promise<Check[]> {
  const checks: Check[] = [
    {
      name: 'configuration',
      ok: true,
      detail: `${config.mode} mode, ${config.databaseUrl ? 'Postgres' : 'PGlite'}${config.redisUrl ? ' + Redis' : ''}`,
    },
  ];
  const reachable = await checkService(service, checks);
  checks.push(await checkDatabase(config, reachable));
  if (config.redisUrl) checks.push(await checkRedis(config.redisUrl));
  checks.push(await checkClock(config));
  if (reachable) checks.push(...(await checkConnections(service)));
  return checks;
}

async function checkService(service: ServiceClient, checks: Check[]): Promise<boolean> {
  try {
    await service.get('/api/quickbooks/status');
    checks.push({ name: 'service', ok: true, detail: `answers at ${service.baseUrl}` });
    return true;
  } catch (err) {
    const down = err instanceof ServiceUnreachableError;
    checks.push({
      name: 'service',
      ok: false,
      detail: err instanceof Error ? err.message : String(err),
      fix: down
        ? 'start it with `npm start` (or point QBO_SYNC_URL at a running API process)'
        : 'check ADMIN_API_TOKEN: the CLI must use the same token as the service',
    });
    return false;
  }
}

async function checkDatabase(config: AppConfig, serviceUp: boolean): Promise<Check> {
  // PGlite admits one process: while the service runs it holds the data directory.
  if (!config.databaseUrl && serviceUp) {
    return {
      name: 'database',
      ok: true,
      detail: `PGlite at ${config.dataDir} (held by the running service)`,
    };
  }
  const where = config.databaseUrl
    ? maskPassword(config.databaseUrl)
    : `PGlite at ${config.dataDir}`;
  const options = databaseOptionsFromConfig(config);
  if (!config.databaseUrl && options.dataDir && !pgliteClusterExists(options.dataDir)) {
    return {
      name: 'database',
      ok: false,
      detail: `${where}: not created yet`,
      fix: '`npm start` creates it on its first start (or `npx qbo-sync migrate`)',
    };
  }
  let handle;
  try {
    handle = await createDatabase({ ...options, poolSize: 1 });
  } catch (err) {
    return {
      name: 'database',
      ok: false,
      detail: `${where}: ${err instanceof Error ? err.message : String(err)}`,
      fix: config.databaseUrl
        ? 'check DATABASE_URL and that Postgres accepts connections'
        : 'check DATA_DIR is writable',
    };
  }
  try {
    const files = await readMigrations();
    const applied = await handle.db
      .selectFrom('schema_migrations')
      .select('name')
      .execute()
      .catch(() => []);
    const done = new Set(applied.map((r) => r.name));
    const pending = files.filter((f) => !done.has(f.name));
    return pending.length === 0
      ? { name: 'database', ok: true, detail: `${where}: ${files.length} migrations applied` }
      : {
          name: 'database',
          ok: false,
          detail: `${where}: ${pending.length} migration(s) not applied (${pending.map((f) => f.name).join(', ')})`,
          fix: 'run `npx qbo-sync migrate` (every process also migrates at start)',
        };
  } finally {
    await handle.close();
  }
}

async function checkRedis(url: string): Promise<Check> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const pong = await redis.ping();
    return { name: 'redis', ok: pong === 'PONG', detail: `${maskPassword(url)}: ${pong}` };
  } catch (err) {
    return {
      name: 'redis',
      ok: false,
      detail: `${maskPassword(url)}: ${err instanceof Error ? err.message : String(err)}`,
      fix: 'check REDIS_URL and that Redis is running (unset REDIS_URL to use in-process jobs)',
    };
  } finally {
    redis.disconnect();
  }
}

/** Our clock against QBO's Date header (Intuit's API host, or the QBO_SANDBOX_URL given). */
async function checkClock(config: AppConfig): Promise<Check> {
  if (!config.intuit) {
    return {
      name: 'clock',
      ok: true,
      detail: "the embedded QuickBooks sandbox runs on this machine's clock",
    };
  }
  const base = config.intuit.urls.apiBase;
  const sent = Date.now();
  try {
    const res = await fetch(base, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    const received = Date.now();
    const date = res.headers.get('date');
    if (!date)
      return { name: 'clock', ok: true, detail: `${base} sent no Date header; not compared` };
    // The header has 1 s resolution: compare with the middle of the round trip.
    const skew = Date.parse(date) - (sent + received) / 2;
    const ok = Math.abs(skew) <= MAX_CLOCK_SKEW_MS;
    return {
      name: 'clock',
      ok,
      detail: `${Math.round(skew / 1000)} s from ${base}`,
      ...(ok
        ? {}
        : { fix: "synchronise this machine's clock (NTP): token expiries are computed from it" }),
    };
  } catch (err) {
    return {
      name: 'clock',
      ok: false,
      detail: `${base} did not answer (${err instanceof Error ? err.message : String(err)})`,
      fix: 'check outbound HTTPS to QuickBooks (proxy, firewall, DNS)',
    };
  }
}

async function checkConnections(service: ServiceClient): Promise<Check[]> {
  const first = await service.get<StatusResponse>('/api/quickbooks/status');
  if (first.connections.length === 0) {
    return [
      {
        name: 'connections',
        ok: false,
        detail: 'no QuickBooks company connected',
        fix: 'run `npx qbo-sync connect-url` and open the link',
      },
    ];
  }
  const out: Check[] = [];
  for (const c of first.connections) {
    const s = await service.get<StatusResponse>(
      `/api/quickbooks/status?realmId=${encodeURIComponent(c.realm_id)}`,
    );
    const name = `company ${c.company_name ?? ''} (${c.realm_id})`.replace('  ', ' ');
    if (c.status === 'disconnected') {
      out.push({ name, ok: true, detail: 'disconnected (kept for its history)' });
    } else if (s.needs_reauth) {
      out.push({
        name,
        ok: false,
        detail: `needs re-authorization since ${s.needs_reauth_since ?? '?'}`,
        fix: 'reconnect it: `npx qbo-sync connect-url`, then Connect on the admin page',
      });
    } else {
      const ends = s.tokens?.refresh_token_expires_at ?? null;
      const days = ends ? (Date.parse(ends) - Date.now()) / 86_400_000 : null;
      const soon = days !== null && days < RENEW_WARN_DAYS;
      out.push({
        name,
        ok: !soon,
        detail: `connected; refresh token valid ${days === null ? '?' : `${Math.floor(days)} more days`}`,
        ...(soon ? { fix: 'refresh it now: POST /api/quickbooks/refresh, or reconnect' } : {}),
      });
    }
  }
  return out;
}
