// TokenStore against a real qbo-sandbox and a real database (PGlite, and Postgres when
// DATABASE_URL is set); the cross-process case uses Redis when REDIS_URL is set.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { sql, type Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { forEachDatabase, openSecondHandle } from '../../../../test/db-helpers.ts';
import type { Database } from '../../../db/schema.ts';
import type { DatabaseHandle } from '../../../infra/db.ts';
import { MemoryLock, RedisLock } from '../../../infra/lock.ts';
import { closeRedis, createRedis } from '../../../infra/redis.ts';
import { listReauthAlerts } from './connections.repo.ts';
import { OAuthSandbox } from '../../../../test/oauth-sandbox.ts';
import { OAuthTransientError, type QboOAuth, type TokenSet } from './oauth.ts';
import { systemClock, type Lock } from '../ports.ts';
import { TokenCipher } from './token-cipher.ts';
import { ReauthRequiredError, TokenStore } from './token-store.ts';

/** An alert as the token store raises it: its error line's `alert` field and realm. */
interface ReauthAlert {
  kind: string;
  realmId: string;
}

const cipher = new TokenCipher({
  currentKeyId: 'k1',
  keys: { k1: randomBytes(32).toString('hex') },
});
const DAY = 86_400_000;

forEachDatabase((t, kind) => {
  let sbx: OAuthSandbox;
  beforeAll(async () => {
    sbx = await OAuthSandbox.start();
  });
  afterAll(async () => {
    await sbx?.close();
  });

  interface Connected {
    realmId: string;
    oauth: QboOAuth;
    first: TokenSet;
    store: TokenStore;
    logs: string[];
    alerts: ReauthAlert[];
    storeWith(o: {
      lock: Lock;
      db?: Kysely<Database>;
      oauth?: Pick<QboOAuth, 'refresh' | 'revoke'>;
    }): TokenStore;
  }

  /** A company connected through the consent page, code exchange and saveTokens. */
  async function connect(): Promise<Connected> {
    const { db } = t();
    const app = await sbx.createApp();
    const realmId = await sbx.createCompany();
    const oauth = sbx.oauth(app);
    const logs: string[] = [];
    const alerts: ReauthAlert[] = [];
    const logger = pino(
      { level: 'trace' },
      {
        write: (line: string) => {
          logs.push(line);
          const l = JSON.parse(line) as { alert?: string; realmId: string };
          if (l.alert) alerts.push({ kind: l.alert, realmId: l.realmId });
        },
      },
    );
    const storeWith: Connected['storeWith'] = (o) =>
      new TokenStore({
        db: o.db ?? db,
        cipher,
        lock: o.lock,
        oauth: o.oauth ?? oauth,
        clock: systemClock,
        logger,
      });
    const store = storeWith({ lock: new MemoryLock() });
    const callback = await sbx.consent(oauth.authorizeUrl('state'), realmId);
    const first = await oauth.exchangeCode({ code: callback.get('code')!, realmId });
    await store.saveTokens(realmId, first);
    return { realmId, oauth, first, store, logs, alerts, storeWith };
  }

  async function expireAccessToken(realmId: string): Promise<void> {
    await t()
      .db.updateTable('qbo_tokens')
      .set({ access_token_expires_at: new Date(Date.now() - 1000) })
      .where('realm_id', '=', realmId)
      .execute();
  }

  const tokenRow = (realmId: string) =>
    t()
      .db.selectFrom('qbo_tokens')
      .selectAll()
      .where('realm_id', '=', realmId)
      .executeTakeFirstOrThrow();
  const connection = (realmId: string) =>
    t()
      .db.selectFrom('qbo_connections')
      .selectAll()
      .where('realm_id', '=', realmId)
      .executeTakeFirstOrThrow();

  async function hundredConcurrentCalls(c: Connected, stores: TokenStore[]) {
    await expireAccessToken(c.realmId);
    const before = await tokenRow(c.realmId);
    const since = await sbx.lastSeq();
    // A slow token endpoint keeps the first refresh in flight while every caller, in both
    // "processes", has already seen the expired token: only the lock can stop a second one.
    await sbx.injectFault({ kind: 'latency', surface: 'token', latencyMs: 300, count: 2 });
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => stores[i % stores.length]!.getAccessToken(c.realmId)),
    );
    const hits = await sbx.tokenHits(since);
    const after = await tokenRow(c.realmId);
    return { results, hits, before, after };
  }

  it('100 concurrent calls with an expired access token make exactly one refresh (two stores, in-process lock)', async () => {
    const c = await connect();
    const lock = new MemoryLock();
    const { results, hits, before, after } = await hundredConcurrentCalls(c, [
      c.storeWith({ lock }),
      c.storeWith({ lock }),
    ]);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const tokens = new Set(results.map((r) => (r as PromiseFulfilledResult<string>).value));
    expect(tokens.size).toBe(1);
    expect(tokens.has(c.first.accessToken)).toBe(false);
    expect(hits.map((h) => h.status)).toEqual([200]);
    expect(BigInt(after.version) - BigInt(before.version)).toBe(1n);
    expect((await connection(c.realmId)).last_refresh_status).toBe('success');
  });

  if (process.env.REDIS_URL) {
    const redisUrl = process.env.REDIS_URL;
    it('100 concurrent calls spread over two "processes" sharing a Redis lock make exactly one refresh', async () => {
      const c = await connect();
      const prefix = `test:token-store:${randomBytes(6).toString('hex')}:`;
      const redis: Redis[] = [
        createRedis(redisUrl, { name: 'ts-a' }),
        createRedis(redisUrl, { name: 'ts-b' }),
      ];
      // On Postgres the second process also has its own connection pool.
      const second: DatabaseHandle | null =
        kind === 'postgres' ? await openSecondHandle(t()) : null;
      try {
        await sql`select 1`.execute(second?.db ?? t().db); // connected before the race starts
        const stores = [
          c.storeWith({ lock: new RedisLock(redis[0]!, { prefix }) }),
          c.storeWith({
            lock: new RedisLock(redis[1]!, { prefix }),
            ...(second ? { db: second.db } : {}),
          }),
        ];
        const { results, hits, before, after } = await hundredConcurrentCalls(c, stores);
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        expect(new Set(results.map((r) => (r as PromiseFulfilledResult<string>).value)).size).toBe(
          1,
        );
        expect(hits.map((h) => h.status)).toEqual([200]);
        expect(BigInt(after.version) - BigInt(before.version)).toBe(1n);
      } finally {
        await second?.close();
        const keys = await redis[0]!.keys(`${prefix}*`);
        if (keys.length) await redis[0]!.del(...keys);
        await Promise.all(redis.map(closeRedis));
      }
    });
  }

  it('a burst of calls reads the stored token once; a call after it reads again', async () => {
    const c = await connect();
    let reads = 0;
    const counted = t().db.withPlugin({
      transformQuery: (args) => {
        if (args.node.kind === 'SelectQueryNode') reads += 1;
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const store = c.storeWith({ lock: new MemoryLock(), db: counted });
    const burst = await Promise.all(
      Array.from({ length: 10 }, () => store.getAccessToken(c.realmId)),
    );
    expect(new Set(burst)).toEqual(new Set([c.first.accessToken]));
    expect(reads).toBe(1);
    // A later call does not reuse the finished read: a token replaced since is seen.
    await expireAccessToken(c.realmId);
    const later = await store.getAccessToken(c.realmId);
    expect(later).not.toBe(c.first.accessToken);
    expect(reads).toBeGreaterThan(1);
  });

  it('a refresh holder that stalls past its lease cannot overwrite the tokens the next holder stored', async () => {
    const c = await connect();
    // The stale holder's call to Intuit is held until the next holder has finished: as when
    // its lease ran out mid-refresh and another process took the lock (its own lock here).
    let entered!: () => void;
    const inFlight = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const stale = c.storeWith({
      lock: new MemoryLock(),
      oauth: {
        refresh: async (refreshToken, ctx) => {
          entered();
          await held;
          return c.oauth.refresh(refreshToken, ctx);
        },
        revoke: (token, ctx) => c.oauth.revoke(token, ctx),
      },
    });
    const before = await tokenRow(c.realmId);
    const staleRefresh = stale.refresh(c.realmId, { force: true, reason: 'test' });
    await inFlight;

    expect(await c.store.refresh(c.realmId, { force: true, reason: 'test' })).toBe('refreshed');
    const newer = await tokenRow(c.realmId);
    expect(BigInt(newer.version) - BigInt(before.version)).toBe(1n);

    release();
    // Intuit answered the stale holder too (the old refresh token is within its grace), but
    // the compare-and-set on the row's version refuses its write.
    expect(await staleRefresh).toBe('already_fresh');
    expect(await tokenRow(c.realmId)).toEqual(newer);
    expect(
      c.logs.some((l) => l.includes('another process stored tokens during this refresh')),
    ).toBe(true);
    // What is stored still works: the next refresh uses the newer holder's refresh token.
    expect(await c.store.refresh(c.realmId, { force: true, reason: 'test' })).toBe('refreshed');
  });

  it('a refresh whose answer is lost does not strand the connection: the next attempt succeeds', async () => {
    const c = await connect();
    await expireAccessToken(c.realmId);
    const before = await tokenRow(c.realmId);
    const since = await sbx.lastSeq();
    await sbx.injectFault({ kind: 'drop-response', surface: 'token', count: 1 });

    await expect(c.store.getAccessToken(c.realmId)).rejects.toBeInstanceOf(OAuthTransientError);
    const kept = await tokenRow(c.realmId);
    expect(kept.refresh_token_ciphertext).toBe(before.refresh_token_ciphertext);
    expect(kept.version).toBe(before.version);
    expect(await connection(c.realmId)).toMatchObject({
      status: 'connected',
      last_refresh_status: 'error',
    });

    // Intuit rotated the token but we never saw it; the old one is still valid for 24 h.
    const token = await c.store.getAccessToken(c.realmId);
    expect(token).not.toBe(c.first.accessToken);
    const hits = await sbx.tokenHits(since);
    expect(hits.map((h) => [h.status, h.injectedFaults?.[0]?.kind ?? null])).toEqual([
      [200, 'drop-response'],
      [200, null],
    ]);
    expect(await connection(c.realmId)).toMatchObject({
      status: 'connected',
      last_refresh_status: 'success',
    });
  });

  it('a failed refresh ahead of expiry still serves the access token while it is valid', async () => {
    const c = await connect();
    await t()
      .db.updateTable('qbo_tokens')
      .set({ access_token_expires_at: new Date(Date.now() + 120_000) })
      .where('realm_id', '=', c.realmId)
      .execute();
    await sbx.injectFault({ kind: 'error', surface: 'token', count: 1 });
    expect(await c.store.getAccessToken(c.realmId)).toBe(c.first.accessToken);
    expect((await connection(c.realmId)).last_refresh_status).toBe('error');
  });

  it('a 5xx from the token endpoint keeps the old tokens and the connection', async () => {
    const c = await connect();
    await expireAccessToken(c.realmId);
    const before = await tokenRow(c.realmId);
    await sbx.injectFault({ kind: 'error', surface: 'token', count: 1, status: 502 });
    const err = await c.store.getAccessToken(c.realmId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OAuthTransientError);
    expect((err as OAuthTransientError).status).toBe(502);
    const after = await tokenRow(c.realmId);
    expect([after.access_token_ciphertext, after.refresh_token_ciphertext, after.version]).toEqual([
      before.access_token_ciphertext,
      before.refresh_token_ciphertext,
      before.version,
    ]);
    expect((await connection(c.realmId)).status).toBe('connected');
    await expect(c.store.getAccessToken(c.realmId)).resolves.toEqual(expect.any(String));
  });

  it('invalid_grant marks the connection needs_reauth, raises one alert, and a reconnect clears it', async () => {
    const c = await connect();
    await sbx.control('POST', '/_sandbox/tokens/revoke', { realmId: c.realmId });
    await expireAccessToken(c.realmId);
    const since = await sbx.lastSeq();

    const err = await c.store.getAccessToken(c.realmId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReauthRequiredError);
    expect(err).toMatchObject({ realmId: c.realmId, reason: 'invalid_grant' });
    const conn = await connection(c.realmId);
    expect(conn).toMatchObject({ status: 'needs_reauth', last_refresh_status: 'invalid_grant' });
    expect(conn.needs_reauth_since).toBeInstanceOf(Date);
    expect(c.alerts).toEqual([
      expect.objectContaining({ kind: 'qbo_reauth_required', realmId: c.realmId }),
    ]);
    const errorLines = c.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.level === 50);
    expect(errorLines).toEqual([
      expect.objectContaining({ alert: 'qbo_reauth_required', realmId: c.realmId }),
    ]);
    expect((await listReauthAlerts(t().db)).map((a) => a.realmId)).toContain(c.realmId);

    // The next call fails at once, without asking Intuit again.
    await expect(c.store.getAccessToken(c.realmId)).rejects.toMatchObject({
      reason: 'needs_reauth',
    });
    expect(await sbx.tokenHits(since)).toHaveLength(1);
    expect((await c.store.status(c.realmId))?.needsReauth).toBe(true);

    const callback = await sbx.consent(c.oauth.authorizeUrl('again'), c.realmId);
    await c.store.saveTokens(
      c.realmId,
      await c.oauth.exchangeCode({ code: callback.get('code')!, realmId: c.realmId }),
    );
    expect(await connection(c.realmId)).toMatchObject({
      status: 'connected',
      needs_reauth_since: null,
    });
    await expect(c.store.getAccessToken(c.realmId)).resolves.toEqual(expect.any(String));
    expect((await listReauthAlerts(t().db)).map((a) => a.realmId)).not.toContain(c.realmId);
  });

  it('the database and the logs never hold a plaintext token', async () => {
    const c = await connect();
    const plaintexts = new Set([c.first.accessToken, c.first.refreshToken]);
    const remember = async () => {
      const row = await tokenRow(c.realmId);
      plaintexts.add(cipher.decrypt(row.access_token_ciphertext, `${c.realmId}:access_token`));
      plaintexts.add(cipher.decrypt(row.refresh_token_ciphertext, `${c.realmId}:refresh_token`));
      expect(row.access_token_ciphertext).toMatch(/^v1:k1:/);
      expect(row.refresh_token_ciphertext).toMatch(/^v1:k1:/);
    };
    expect(await c.store.refresh(c.realmId, { force: true, reason: 'test' })).toBe('refreshed');
    await remember();
    await expireAccessToken(c.realmId);
    await c.store.getAccessToken(c.realmId);
    await remember();
    await c.store.invalidateAccessToken(c.realmId, await c.store.getAccessToken(c.realmId));
    await sbx.injectFault({ kind: 'error', surface: 'token', count: 1 });
    const errors: unknown[] = [await c.store.getAccessToken(c.realmId).catch((e: unknown) => e)];
    await sbx.control('POST', '/_sandbox/tokens/revoke', { realmId: c.realmId });
    errors.push(await c.store.getAccessToken(c.realmId).catch((e: unknown) => e));
    expect(plaintexts.size).toBe(6);

    const columns = await sql<{ table_name: string; column_name: string }>`
      select table_name, column_name from information_schema.columns
      where table_schema = current_schema()
        and table_name in (select table_name from information_schema.tables
                           where table_schema = current_schema() and table_type = 'BASE TABLE')`.execute(
      t().db,
    );
    expect(columns.rows.length).toBeGreaterThan(50);
    const found: string[] = [];
    for (const { table_name, column_name } of columns.rows) {
      for (const p of plaintexts) {
        const r = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table_name)}
          where position(${p} in ${sql.ref(column_name)}::text) > 0`.execute(t().db);
        if (r.rows[0]!.n > 0) found.push(`${table_name}.${column_name}`);
      }
    }
    expect(found).toEqual([]);

    const logText = c.logs.join('\n');
    expect(c.logs.length).toBeGreaterThan(3);
    const errorText = errors.map((e) => `${String(e)} ${JSON.stringify(e)}`).join('\n');
    for (const p of plaintexts) {
      expect(logText.includes(p)).toBe(false);
      expect(errorText.includes(p)).toBe(false);
    }
  });

  it('a token QBO refused (401) is refreshed on the next call; an already replaced one is left alone', async () => {
    const c = await connect();
    const since = await sbx.lastSeq();
    await c.store.invalidateAccessToken(c.realmId, 'some-older-token');
    expect(await c.store.getAccessToken(c.realmId)).toBe(c.first.accessToken);
    await c.store.invalidateAccessToken(c.realmId, c.first.accessToken);
    const next = await c.store.getAccessToken(c.realmId);
    expect(next).not.toBe(c.first.accessToken);
    expect(await sbx.tokenHits(since)).toHaveLength(1);
  });

  it('tracks both refresh-token expiries: the rolling one renews, the hard one stays', async () => {
    const c = await connect();
    const s1 = (await c.store.status(c.realmId))!;
    expect(Math.round((s1.refreshTokenExpiresAt.getTime() - Date.now()) / DAY)).toBe(100);
    expect(Math.round((s1.refreshTokenHardExpiresAt!.getTime() - Date.now()) / DAY)).toBe(5 * 365);
    expect(s1).toMatchObject({ needsReauth: false, lastRefreshAt: null, status: 'connected' });
    await sbx.control('POST', '/_sandbox/clock', { advanceSeconds: 3 * 86_400 });
    try {
      await c.store.refresh(c.realmId, { force: true });
    } finally {
      await sbx.control('POST', '/_sandbox/clock', { reset: true });
    }
    const s2 = (await c.store.status(c.realmId))!;
    expect(s2.refreshTokenExpiresAt.getTime()).toBeGreaterThan(s1.refreshTokenExpiresAt.getTime());
    // The grant's end is fixed at consent: a refresh (which restates it as "seconds from
    // now") leaves the stored time exactly as it was.
    expect(s2.refreshTokenHardExpiresAt!.toISOString()).toBe(
      s1.refreshTokenHardExpiresAt!.toISOString(),
    );
    expect(s2.lastRefreshAt).toBeInstanceOf(Date);
  });

  it('disconnecting revokes the grant at Intuit and wipes the tokens', async () => {
    const c = await connect();
    const row = await tokenRow(c.realmId);
    const refreshToken = cipher.decrypt(row.refresh_token_ciphertext, `${c.realmId}:refresh_token`);
    await c.store.revokeAndWipe(c.realmId);
    expect(
      await t().db.selectFrom('qbo_tokens').selectAll().where('realm_id', '=', c.realmId).execute(),
    ).toEqual([]);
    expect(await connection(c.realmId)).toMatchObject({ status: 'disconnected' });
    expect(await c.store.status(c.realmId)).toBeNull();
    await expect(c.store.getAccessToken(c.realmId)).rejects.toMatchObject({
      reason: 'disconnected',
    });
    await expect(c.oauth.refresh(refreshToken)).rejects.toMatchObject({
      errorCode: 'invalid_grant',
    });
  });

  it('an unknown realm needs a connection first', async () => {
    const c = await connect();
    await expect(c.store.getAccessToken('0000')).rejects.toMatchObject({ reason: 'not_connected' });
  });
});
