// The read model behind GET /status: which companies are connected, which one a request
// means, and everything the admin card shows about it. Reads only the database (never QBO,
// never token plaintext), so /status stays cheap and safe to poll.
import { sql, type Kysely } from 'kysely';
import {
  MIRROR_TABLES,
  QBO_ENTITY_TYPES,
  type Database,
  type QboConnection,
  type QboEntityType,
} from '../../db/schema.ts';
import type { ConnectionSummary, StatusResponse } from '../../routes/quickbooks.schemas.ts';
import { QBO_RATE_LIMITS } from './ports.ts';

/** Paths of Intuit's OAuth endpoints contain this; Accounting API paths never do. */
export const OAUTH_PATH_MARKER = 'oauth2';

export type RealmResolution =
  | { kind: 'found'; connection: QboConnection }
  | { kind: 'unknown'; realmId: string }
  | { kind: 'none' };

/** Every connection, active ones first, then most recently connected first. */
export async function listConnections(db: Kysely<Database>): Promise<QboConnection[]> {
  return db
    .selectFrom('qbo_connections')
    .selectAll()
    .orderBy(sql`case when status = 'disconnected' then 1 else 0 end`)
    .orderBy('connected_at', 'desc')
    .orderBy('realm_id')
    .execute();
}

/**
 * The company a request is about: the given realm, or else the most recently connected one
 * that is still connected (or needs re-auth), or else the most recent of any.
 */
export async function resolveRealm(
  db: Kysely<Database>,
  realmId: string | undefined,
): Promise<RealmResolution> {
  if (realmId !== undefined) {
    const connection = await db
      .selectFrom('qbo_connections')
      .selectAll()
      .where('realm_id', '=', realmId)
      .executeTakeFirst();
    return connection ? { kind: 'found', connection } : { kind: 'unknown', realmId };
  }
  const [first] = await listConnections(db);
  return first ? { kind: 'found', connection: first } : { kind: 'none' };
}

export function summarize(c: QboConnection): ConnectionSummary {
  return {
    realm_id: c.realm_id,
    company_name: c.company_name,
    environment: c.environment,
    status: c.status,
    connected_at: c.connected_at.toISOString(),
    disconnected_at: iso(c.disconnected_at),
  };
}

export interface StatusOptions {
  now: number;
}

export async function connectionStatus(
  db: Kysely<Database>,
  connection: QboConnection | null,
  opts: StatusOptions,
): Promise<StatusResponse> {
  const connections = (await listConnections(db)).map(summarize);
  const realmId = connection?.realm_id ?? null;
  const [tokens, cursors, counts, quota] = await Promise.all([
    realmId
      ? db
          .selectFrom('qbo_tokens')
          .select([
            'access_token_expires_at',
            'refresh_token_expires_at',
            'refresh_token_hard_expires_at',
          ])
          .where('realm_id', '=', realmId)
          .executeTakeFirst()
      : undefined,
    realmId
      ? db
          .selectFrom('qbo_sync_cursors')
          .selectAll()
          .where('realm_id', '=', realmId)
          .orderBy('entity_type')
          .execute()
      : [],
    realmId ? entityCounts(db, realmId) : zeroCounts(),
    realmId ? apiQuota(db, realmId, opts.now) : { minute: 0, day: 0 },
  ]);
  const c = connection;
  return {
    // "Connected" means QBO calls can be made now: a row needing re-auth cannot.
    connected: c?.status === 'connected' && tokens !== undefined,
    realm_id: realmId,
    company_name: c?.company_name ?? null,
    environment: c?.environment ?? null,
    status: c?.status ?? null,
    connected_at: iso(c?.connected_at ?? null),
    disconnected_at: iso(c?.disconnected_at ?? null),
    needs_reauth: c?.status === 'needs_reauth',
    needs_reauth_since: iso(c?.needs_reauth_since ?? null),
    tokens: tokens
      ? {
          access_token_expires_at: tokens.access_token_expires_at.toISOString(),
          refresh_token_expires_at: tokens.refresh_token_expires_at.toISOString(),
          refresh_token_hard_expires_at: iso(tokens.refresh_token_hard_expires_at),
        }
      : null,
    last_refresh: {
      at: iso(c?.last_refresh_at ?? null),
      status: c?.last_refresh_status ?? null,
      error: c?.last_refresh_error ?? null,
    },
    sync_cursors: cursors.map((k) => ({
      entity_type: k.entity_type,
      status: k.status,
      last_cdc_at: iso(k.last_cdc_at),
      last_full_sync_at: iso(k.last_full_sync_at),
      last_webhook_at: iso(k.last_webhook_at),
      last_error: k.last_error,
      records_synced: k.records_synced,
    })),
    entity_counts: counts,
    api_quota: {
      last_minute: { used: quota.minute, limit: minuteLimit() },
      last_24h: { used: quota.day },
      per_second_limit: QBO_RATE_LIMITS.windows.find((w) => w.windowMs === 1_000)?.limit ?? 10,
      max_in_flight: QBO_RATE_LIMITS.maxInFlight,
    },
    connections,
  };
}

function minuteLimit(): number {
  return QBO_RATE_LIMITS.windows.find((w) => w.windowMs === 60_000)?.limit ?? 500;
}

function zeroCounts(): Record<QboEntityType, number> {
  return Object.fromEntries(QBO_ENTITY_TYPES.map((e) => [e, 0])) as Record<QboEntityType, number>;
}

/** Live (not deleted) mirror rows per entity. */
export async function entityCounts(
  db: Kysely<Database>,
  realmId: string,
): Promise<Record<QboEntityType, number>> {
  const counts = zeroCounts();
  await Promise.all(
    QBO_ENTITY_TYPES.map(async (entity) => {
      const row = await db
        .selectFrom(MIRROR_TABLES[entity])
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('realm_id', '=', realmId)
        .where('is_deleted', '=', false)
        .executeTakeFirstOrThrow();
      counts[entity] = Number(row.n);
    }),
  );
  return counts;
}

/** Every mirror row of a realm, deleted ones included (what a disconnect keeps). */
export async function mirrorRowCount(db: Kysely<Database>, realmId: string): Promise<number> {
  let total = 0;
  for (const entity of QBO_ENTITY_TYPES) {
    const row = await db
      .selectFrom(MIRROR_TABLES[entity])
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('realm_id', '=', realmId)
      .executeTakeFirstOrThrow();
    total += Number(row.n);
  }
  return total;
}

/**
 * Accounting API calls QBO served (a status other than 429, which consumes no quota in
 * QBO's accounting, and no lost responses) in the last minute and day.
 */
async function apiQuota(
  db: Kysely<Database>,
  realmId: string,
  now: number,
): Promise<{ minute: number; day: number }> {
  const minuteAgo = new Date(now - 60_000);
  const dayAgo = new Date(now - 86_400_000);
  const row = await db
    .selectFrom('qbo_request_log')
    .select([
      sql<string>`count(*) filter (where created_at > ${minuteAgo})`.as('minute'),
      sql<string>`count(*)`.as('day'),
    ])
    .where('realm_id', '=', realmId)
    .where('created_at', '>', dayAgo)
    .where('status', 'is not', null)
    .where('status', '<>', 429)
    .where('path', 'not like', `%${OAUTH_PATH_MARKER}%`)
    .executeTakeFirstOrThrow();
  return { minute: Number(row.minute), day: Number(row.day) };
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}
