// qbo_connections and qbo_tokens queries. Every function takes `db` or a transaction, so
// the caller decides what commits together. Token columns hold token-cipher values only
// (a CHECK in the migration refuses anything else); nothing here decrypts.
import { sql, type Kysely, type Transaction } from 'kysely';
import type {
  Database,
  QboConnection,
  QboConnectionStatus,
  QboEnvironment,
  QboRefreshStatus,
  QboTokens,
} from '../../../db/schema.ts';

export type Db = Kysely<Database> | Transaction<Database>;

/** A connection with its token row, as the token store reads it. */
export interface ConnectionTokens {
  realmId: string;
  status: QboConnectionStatus;
  lastRefreshAt: Date | null;
  lastRefreshStatus: QboRefreshStatus | null;
  lastRefreshError: string | null;
  needsReauthSince: Date | null;
  tokens: QboTokens | null;
}

export async function findConnection(db: Db, realmId: string): Promise<QboConnection | null> {
  return (
    (await db
      .selectFrom('qbo_connections')
      .selectAll()
      .where('realm_id', '=', realmId)
      .executeTakeFirst()) ?? null
  );
}

/** Every connection, active ones first, then most recently connected first. */
export async function listConnections(db: Db): Promise<QboConnection[]> {
  return db
    .selectFrom('qbo_connections')
    .selectAll()
    .orderBy(sql`case when status = 'disconnected' then 1 else 0 end`)
    .orderBy('connected_at', 'desc')
    .orderBy('realm_id')
    .execute();
}

/**
 * Records a (re)connected company after a code exchange: a reconnect after needs_reauth
 * or a disconnect clears those marks, and the previous grant's last refresh outcome. Company name, environment and scopes are what the
 * callback learned; omitted ones keep their stored values.
 */
export async function upsertConnection(
  db: Db,
  c: {
    realmId: string;
    companyName?: string | null;
    environment?: QboEnvironment;
    scopes?: string[];
    now: Date;
  },
): Promise<QboConnection> {
  return db
    .insertInto('qbo_connections')
    .values({
      realm_id: c.realmId,
      company_name: c.companyName ?? null,
      ...(c.environment ? { environment: c.environment } : {}),
      ...(c.scopes ? { scopes: c.scopes } : {}),
      status: 'connected',
      connected_at: c.now,
    })
    .onConflict((oc) =>
      oc.column('realm_id').doUpdateSet((eb) => ({
        status: 'connected',
        needs_reauth_since: null,
        disconnected_at: null,
        // The last refresh belonged to the grant this one replaces (often its invalid_grant):
        // the new grant has not been refreshed yet.
        last_refresh_at: null,
        last_refresh_status: null,
        last_refresh_error: null,
        // connected_at marks the current grant; keep it when the row was already connected
        connected_at: sql<Date>`case when ${eb.ref('qbo_connections.status')} = 'connected'
          then ${eb.ref('qbo_connections.connected_at')} else ${c.now.toISOString()}::timestamptz end`,
        ...(c.companyName !== undefined ? { company_name: c.companyName } : {}),
        ...(c.environment ? { environment: c.environment } : {}),
        ...(c.scopes ? { scopes: c.scopes } : {}),
        updated_at: c.now,
      })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function readConnectionTokens(
  db: Db,
  realmId: string,
): Promise<ConnectionTokens | null> {
  // One query, not the connection and then its tokens: every QBO call starts with this read.
  const row = await db
    .selectFrom('qbo_connections as c')
    .leftJoin('qbo_tokens as t', 't.realm_id', 'c.realm_id')
    .selectAll('t')
    .select([
      'c.status as connection_status',
      'c.last_refresh_at as connection_last_refresh_at',
      'c.last_refresh_status as connection_last_refresh_status',
      'c.last_refresh_error as connection_last_refresh_error',
      'c.needs_reauth_since as connection_needs_reauth_since',
    ])
    .where('c.realm_id', '=', realmId)
    .executeTakeFirst();
  if (!row) return null;
  const {
    connection_status,
    connection_last_refresh_at,
    connection_last_refresh_status,
    connection_last_refresh_error,
    connection_needs_reauth_since,
    ...tokens
  } = row;
  return {
    realmId,
    status: connection_status,
    lastRefreshAt: connection_last_refresh_at,
    lastRefreshStatus: connection_last_refresh_status,
    lastRefreshError: connection_last_refresh_error,
    needsReauthSince: connection_needs_reauth_since,
    // Left-joined: every token column is null when the connection has no tokens.
    tokens: tokens.realm_id === null ? null : (tokens as QboTokens),
  };
}

export interface EncryptedTokenValues {
  accessTokenCiphertext: string;
  refreshTokenCiphertext: string;
  keyId: string;
  accessTokenExpiresAt: Date;
  refreshTokenExpiresAt: Date;
  refreshTokenHardExpiresAt: Date | null;
}

/** A new grant: insert or replace the token row, bumping its version. */
export async function putTokens(
  db: Db,
  realmId: string,
  v: EncryptedTokenValues,
  now: Date,
): Promise<void> {
  const values = {
    access_token_ciphertext: v.accessTokenCiphertext,
    refresh_token_ciphertext: v.refreshTokenCiphertext,
    key_id: v.keyId,
    access_token_expires_at: v.accessTokenExpiresAt,
    refresh_token_expires_at: v.refreshTokenExpiresAt,
    refresh_token_hard_expires_at: v.refreshTokenHardExpiresAt,
    refreshed_at: null,
    updated_at: now,
  };
  await db
    .insertInto('qbo_tokens')
    .values({ realm_id: realmId, ...values })
    .onConflict((oc) =>
      oc.column('realm_id').doUpdateSet((eb) => ({
        ...values,
        version: sql<string>`${eb.ref('qbo_tokens.version')} + 1`,
      })),
    )
    .execute();
}

/**
 * Compare-and-set on `version`: writes only if nobody wrote since `expectedVersion` was
 * read. False means another writer won (its tokens are as valid as ours).
 */
export async function updateTokensIfVersion(
  db: Db,
  realmId: string,
  expectedVersion: string,
  v: Partial<EncryptedTokenValues> & { refreshedAt?: Date },
  now: Date,
): Promise<boolean> {
  const r = await db
    .updateTable('qbo_tokens')
    .set((eb) => ({
      ...(v.accessTokenCiphertext !== undefined
        ? { access_token_ciphertext: v.accessTokenCiphertext }
        : {}),
      ...(v.refreshTokenCiphertext !== undefined
        ? { refresh_token_ciphertext: v.refreshTokenCiphertext }
        : {}),
      ...(v.keyId !== undefined ? { key_id: v.keyId } : {}),
      ...(v.accessTokenExpiresAt ? { access_token_expires_at: v.accessTokenExpiresAt } : {}),
      ...(v.refreshTokenExpiresAt ? { refresh_token_expires_at: v.refreshTokenExpiresAt } : {}),
      ...(v.refreshTokenHardExpiresAt !== undefined
        ? { refresh_token_hard_expires_at: v.refreshTokenHardExpiresAt }
        : {}),
      ...(v.refreshedAt ? { refreshed_at: v.refreshedAt } : {}),
      version: sql<string>`${eb.ref('version')} + 1`,
      updated_at: now,
    }))
    .where('realm_id', '=', realmId)
    .where('version', '=', expectedVersion)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function deleteTokens(db: Db, realmId: string): Promise<void> {
  await db.deleteFrom('qbo_tokens').where('realm_id', '=', realmId).execute();
}

/** The outcome of one refresh attempt, shown on /status and counted by /metrics. */
export async function recordRefreshOutcome(
  db: Db,
  realmId: string,
  o: { status: QboRefreshStatus; error: string | null; at: Date },
): Promise<void> {
  await db
    .updateTable('qbo_connections')
    .set({
      last_refresh_at: o.at,
      last_refresh_status: o.status,
      last_refresh_error: o.error,
      updated_at: o.at,
    })
    .where('realm_id', '=', realmId)
    .execute();
}

/** Intuit refused the grant: only a new consent can fix it. Idempotent. */
export async function markNeedsReauth(
  db: Db,
  realmId: string,
  o: { error: string; at: Date },
): Promise<void> {
  await db
    .updateTable('qbo_connections')
    .set((eb) => ({
      status: 'needs_reauth',
      needs_reauth_since: sql<Date>`coalesce(${eb.ref('needs_reauth_since')}, ${o.at.toISOString()}::timestamptz)`,
      last_refresh_at: o.at,
      last_refresh_status: 'invalid_grant',
      last_refresh_error: o.error,
      updated_at: o.at,
    }))
    .where('realm_id', '=', realmId)
    .where('status', '!=', 'disconnected')
    .execute();
}

export async function markDisconnected(db: Db, realmId: string, at: Date): Promise<void> {
  await db
    .updateTable('qbo_connections')
    .set({ status: 'disconnected', disconnected_at: at, needs_reauth_since: null, updated_at: at })
    .where('realm_id', '=', realmId)
    .execute();
}

/** Connections waiting for a person to reconnect: the re-auth alert /metrics shows. */
export async function listReauthAlerts(
  db: Db,
): Promise<{ realmId: string; since: Date | null; error: string | null }[]> {
  const rows = await db
    .selectFrom('qbo_connections')
    .select(['realm_id', 'needs_reauth_since', 'last_refresh_error'])
    .where('status', '=', 'needs_reauth')
    .orderBy('needs_reauth_since')
    .execute();
  return rows.map((r) => ({
    realmId: r.realm_id,
    since: r.needs_reauth_since,
    error: r.last_refresh_error,
  }));
}
