import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { forEachDatabase } from '../../../../test/db-helpers.ts';
import {
  consumeOAuthState,
  createOAuthState,
  deriveOAuthStateSecret,
  OAUTH_STATE_TTL_MS,
} from './oauth-state.ts';

const secret = randomBytes(32);
const T0 = Date.UTC(2026, 1, 11, 12, 0, 0);
const session = () => `sess-${randomBytes(8).toString('hex')}`;

describe('deriveOAuthStateSecret', () => {
  it('derives a 32-byte key from the current encryption key, different from the key itself', () => {
    const hex = 'ab'.repeat(32);
    const k = deriveOAuthStateSecret({ currentKeyId: 'k1', keys: { k1: hex } });
    expect(k).toHaveLength(32);
    expect(k.toString('hex')).not.toBe(hex);
    expect(deriveOAuthStateSecret({ currentKeyId: 'k1', keys: { k1: hex } }).equals(k)).toBe(true);
  });
});

forEachDatabase((t) => {
  it('a state issued to a session is accepted once, from that session, within 10 minutes', async () => {
    const { db } = t();
    const sessionId = session();
    const state = await createOAuthState(db, { sessionId, now: T0, secret });
    expect(state).toMatch(/^v1\.[A-Za-z0-9_.-]+$/);
    expect(encodeURIComponent(state)).toBe(state);
    const ok = await consumeOAuthState(db, state, {
      sessionId,
      now: T0 + OAUTH_STATE_TTL_MS - 1,
      secret,
    });
    expect(ok).toEqual({ ok: true });
  });

  it('refuses a missing state', async () => {
    const { db } = t();
    for (const state of [undefined, null, '']) {
      expect(await consumeOAuthState(db, state, { sessionId: session(), now: T0, secret })).toEqual(
        {
          ok: false,
          reason: 'missing',
        },
      );
    }
  });

  it('refuses forged states: garbage, an edited expiry, another key, a signed state never issued', async () => {
    const { db } = t();
    const sessionId = session();
    const opts = { sessionId, now: T0, secret };
    const state = await createOAuthState(db, opts);
    const parts = state.split('.');
    const longer = [
      ...parts.slice(0, 2),
      String(Number(parts[2]) + 86_400_000),
      ...parts.slice(3),
    ].join('.');
    const forged = ['xyz', 'v1.a.b.c.d', `${state}x`, longer, state.replace(/^v1/, 'v2')];
    for (const s of forged)
      expect(await consumeOAuthState(db, s, opts), s).toEqual({ ok: false, reason: 'forged' });
    expect(await consumeOAuthState(db, state, { ...opts, secret: randomBytes(32) })).toEqual({
      ok: false,
      reason: 'forged',
    });

    // Correctly signed (same key) but no row: issued by another database, or the key leaked.
    const elsewhere = await createOAuthState(db, opts);
    await db.deleteFrom('qbo_oauth_states').execute();
    expect(await consumeOAuthState(db, elsewhere, opts)).toEqual({ ok: false, reason: 'forged' });
    // The untouched original still works.
    const again = await createOAuthState(db, opts);
    expect(await consumeOAuthState(db, again, opts)).toEqual({ ok: true });
  });

  it('refuses a replayed state, even when two callbacks race', async () => {
    const { db } = t();
    const sessionId = session();
    const state = await createOAuthState(db, { sessionId, now: T0, secret });
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        consumeOAuthState(db, state, { sessionId, now: T0 + 1000, secret }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual(Array(4).fill({ ok: false, reason: 'replayed' }));
    expect(await consumeOAuthState(db, state, { sessionId, now: T0 + 2000, secret })).toEqual({
      ok: false,
      reason: 'replayed',
    });
  });

  it('refuses an expired state (10 minutes), and prunes expired rows when issuing', async () => {
    const { db } = t();
    const sessionId = session();
    const state = await createOAuthState(db, { sessionId, now: T0, secret });
    expect(
      await consumeOAuthState(db, state, { sessionId, now: T0 + OAUTH_STATE_TTL_MS, secret }),
    ).toEqual({
      ok: false,
      reason: 'expired',
    });
    await createOAuthState(db, { sessionId, now: T0 + OAUTH_STATE_TTL_MS + 1, secret });
    const left = await db
      .selectFrom('qbo_oauth_states')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('expires_at', '<=', new Date(T0 + OAUTH_STATE_TTL_MS))
      .executeTakeFirstOrThrow();
    expect(left.n).toBe(0);
  });

  it('refuses a state presented by another session (or none) and leaves it usable by its own', async () => {
    const { db } = t();
    const sessionId = session();
    const state = await createOAuthState(db, { sessionId, now: T0, secret });
    for (const other of [session(), '']) {
      expect(await consumeOAuthState(db, state, { sessionId: other, now: T0, secret })).toEqual({
        ok: false,
        reason: 'wrong_session',
      });
    }
    expect(await consumeOAuthState(db, state, { sessionId, now: T0, secret })).toEqual({
      ok: true,
    });
  });

  it('stores neither the state nor the session id', async () => {
    const { db } = t();
    const sessionId = session();
    const state = await createOAuthState(db, { sessionId, now: T0, secret });
    const rows = await db.selectFrom('qbo_oauth_states').selectAll().execute();
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(sessionId);
    for (const part of state.split('.').slice(1)) expect(dump).not.toContain(part);
  });
});
