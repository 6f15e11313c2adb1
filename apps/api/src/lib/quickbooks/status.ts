// The read model behind GET /status: which companies are connected and everything the admin
// card shows about the one a request means. Reads only the database (never QBO,
// never token plaintext), so /status stays cheap and safe to poll.
import { sql, type Kysely } from 'kysely';
import {
  MIRROR_TABLES,
  QBO_ENTITY_TYPES,
  type Database,
  type QboConnection,
  type QboEntityType,
  type QboSyncCursor,
} from '../../db/schema.ts';
import { listConnections } from './connection/connections.repo.ts';
import { DAY_MS, MINUTE_MS } from './ports.ts';

export interface TokenExpiries {
  accessTokenExpiresAt: Date;
  /** Rolling (100 days at Intuit), renewed by each refresh. */
  refreshTokenExpiresAt: Date;
  /** The grant's absolute end (5 years), null when Intuit did not say. */
  refreshTokenHardExpiresAt: Date | null;
}

/** What the admin card shows about one company (and the list of all of them). */
export interface ConnectionStatus {
  /** The company the request is about; null when none is known. */
  connection: QboConnection | null;
  /** QBO calls can be made now: the connection is `connected` and has tokens. */
  connected: boolean;
  tokens: TokenExpiries | null;
  syncCursors: QboSyncCursor[];
  /** Live (not deleted) mirror rows per entity. */
  entityCounts: Record<QboEntityType, number>;
  /** Accounting API calls QBO served in the last minute and the last day. */
  apiUsage: { lastMinute: number; lastDay: number };
  /** Every connection, active ones first, then most recently connected first. */
  connections: QboConnection[];
}

export interface StatusOptions {
  now: number;
}

export async function connectionStatus(
  db: Kysely<Database>,
  connection: QboConnection | null,
  opts: StatusOptions,
): Promise<ConnectionStatus> {
  const realmId = connection?.realm_id ?? null;
  const [connections, tokens, syncCursors, entityCounts, apiUsage] = await Promise.all([
    listConnections(db),
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
    realmId ? liveEntityCounts(db, realmId) : zeroCounts(),
    realmId ? servedApiCalls(db, realmId, opts.now) : { lastMinute: 0, lastDay: 0 },
  ]);
  return {
    connection,
    connected: connection?.status === 'connected' && tokens !== undefined,
    tokens: tokens
      ? {
          accessTokenExpiresAt: tokens.access_token_expires_at,
          refreshTokenExpiresAt: tokens.refresh_token_expires_at,
          refreshTokenHardExpiresAt: tokens.refresh_token_hard_expires_at,
        }
      : null,
    syncCursors,
    entityCounts,
    apiUsage,
    connections,
  };
}

function zeroCounts(): Record<QboEntityType, number> {
  return Object.fromEntries(QBO_ENTITY_TYPES.map((e) => [e, 0])) as Record<QboEntityType, number>;
}

/** Live (not deleted) mirror rows per entity. */
export async function liveEntityCounts(
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
async function servedApiCalls(
  db: Kysely<Database>,
  realmId: string,
  now: number,
): Promise<{ lastMinute: number; lastDay: number }> {
  const minuteAgo = new Date(now - MINUTE_MS);
  const dayAgo = new Date(now - DAY_MS);
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
    .where('kind', '=', 'accounting')
    .executeTakeFirstOrThrow();
  return { lastMinute: Number(row.minute), lastDay: Number(row.day) };
}
