// The OAuth `state` parameter for GET /connect → Intuit → GET /callback. intuit-oauth stores
// the state it is given but never checks it on the way back (its createToken only copies
// it), so this is the whole CSRF defence of /callback (RFC 6749 §10.12):
//   signed      HMAC-SHA256 under a key derived from the token-encryption key: a state we
//               did not issue, or one with an edited expiry, is refused without a DB read;
//   bound       it carries a tag of the admin session that asked for it, so a state (and
//               code) handed to another browser is refused ("login CSRF");
//   expiring    10 minutes, the window a person needs to click through Intuit's consent;
//   single-use  a row in qbo_oauth_states is consumed by one conditional UPDATE, so a
//               replayed callback URL fails even within those 10 minutes.
// Format: v1.<nonce>.<expiry ms>.<session tag>.<mac>, all URL-safe (base64url and digits).
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../../db/schema.ts';
import { MINUTE_MS } from '../ports.ts';
import type { TokenKeyring } from './token-cipher.ts';

export const OAUTH_STATE_TTL_MS = 10 * MINUTE_MS;

export type OAuthStateRefusal = 'missing' | 'forged' | 'expired' | 'replayed' | 'wrong_session';
export type OAuthStateResult = { ok: true } | { ok: false; reason: OAuthStateRefusal };

export interface OAuthStateOptions {
  /** The admin session (or the /connect nonce cookie) the state is bound to. */
  sessionId: string;
  /** Milliseconds since the epoch. */
  now: number;
  /** At least 32 bytes; see `deriveOAuthStateSecret`. */
  secret: Buffer;
}

const VERSION = 'v1';
const NONCE_BYTES = 16;
const TAG_BYTES = 16;
const B64URL = /^[A-Za-z0-9_-]+$/;

/**
 * The state-signing key, derived (HKDF-SHA256) from the current token-encryption key so no
 * extra secret has to be configured, yet a leaked state key reveals nothing about token
 * encryption. Rotating the encryption key invalidates states in flight (at most 10 minutes).
 */
export function deriveOAuthStateSecret(keyring: TokenKeyring): Buffer {
  const hex = keyring.keys[keyring.currentKeyId];
  if (!hex) throw new Error(`current token key "${keyring.currentKeyId}" is not in the keyring`);
  return Buffer.from(hkdfSync('sha256', Buffer.from(hex, 'hex'), 'qbo-sync', 'oauth-state v1', 32));
}

export async function createOAuthState(
  db: Kysely<Database>,
  opts: OAuthStateOptions & { ttlMs?: number },
): Promise<string> {
  checkOptions(opts);
  const nonce = randomBytes(NONCE_BYTES).toString('base64url');
  const expiresAt = opts.now + (opts.ttlMs ?? OAUTH_STATE_TTL_MS);
  const body = `${VERSION}.${nonce}.${expiresAt}.${sessionTag(opts.secret, opts.sessionId)}`;
  // Expired rows are useless (the signature already carries the expiry): prune as we go.
  await db.deleteFrom('qbo_oauth_states').where('expires_at', '<', new Date(opts.now)).execute();
  await db
    .insertInto('qbo_oauth_states')
    .values({
      nonce_hash: sha256(nonce),
      session_hash: sha256(opts.sessionId),
      expires_at: new Date(expiresAt),
    })
    .execute();
  return `${body}.${mac(opts.secret, body)}`;
}

/** Checks a state from /callback and consumes it; each refusal names its reason. */
export async function consumeOAuthState(
  db: Kysely<Database>,
  state: string | null | undefined,
  opts: OAuthStateOptions,
): Promise<OAuthStateResult> {
  checkOptions(opts, { allowEmptySession: true });
  if (typeof state !== 'string' || state === '') return refuse('missing');
  const parts = state.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) return refuse('forged');
  const [, nonce, expiry, tag, sig] = parts as [string, string, string, string, string];
  if (![nonce, tag, sig].every((p) => B64URL.test(p)) || !/^\d{1,15}$/.test(expiry)) {
    return refuse('forged');
  }
  const body = parts.slice(0, 4).join('.');
  if (!safeEqual(sig, mac(opts.secret, body))) return refuse('forged');
  // Signed by us from here on, so the remaining checks can be told apart honestly.
  if (!opts.sessionId || !safeEqual(tag, sessionTag(opts.secret, opts.sessionId))) {
    return refuse('wrong_session');
  }
  const expiresAt = Number(expiry);
  if (expiresAt <= opts.now) return refuse('expired');

  const nonceHash = sha256(nonce);
  const consumed = await db
    .updateTable('qbo_oauth_states')
    .set({ consumed_at: new Date(opts.now) })
    .where('nonce_hash', '=', nonceHash)
    .where('consumed_at', 'is', null)
    .returning('nonce_hash')
    .executeTakeFirst();
  if (consumed) return { ok: true };
  const row = await db
    .selectFrom('qbo_oauth_states')
    .select('consumed_at')
    .where('nonce_hash', '=', nonceHash)
    .executeTakeFirst();
  // Correctly signed but never recorded: issued by another database holding the same key,
  // or the key leaked. Either way not a state this service handed out.
  return refuse(row ? 'replayed' : 'forged');
}

function refuse(reason: OAuthStateRefusal): OAuthStateResult {
  return { ok: false, reason };
}

function checkOptions(opts: OAuthStateOptions, o: { allowEmptySession?: boolean } = {}): void {
  if (!Buffer.isBuffer(opts.secret) || opts.secret.length < 32) {
    throw new Error('the OAuth state secret must be at least 32 bytes');
  }
  if (!Number.isFinite(opts.now)) throw new Error('now must be milliseconds since the epoch');
  if (!o.allowEmptySession && !opts.sessionId) {
    throw new Error('an OAuth state must be bound to a session id');
  }
}

// Domain-separated HMACs: the session tag can never be replayed as a MAC or vice versa.
function sessionTag(secret: Buffer, sessionId: string): string {
  return createHmac('sha256', secret)
    .update(`qbo-sync oauth-state session\0${sessionId}`)
    .digest()
    .subarray(0, TAG_BYTES)
    .toString('base64url');
}

function mac(secret: Buffer, body: string): string {
  return createHmac('sha256', secret)
    .update(`qbo-sync oauth-state mac\0${body}`)
    .digest('base64url');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
