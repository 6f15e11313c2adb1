// Key rotation (docs/decisions/0002): the token store moves a value to the current key when it
// reads it; this moves every stored value at once, so the old key can be dropped from
// QBO_TOKEN_ENCRYPTION_KEYS without waiting for each company to be used. Each row is written
// with a compare-and-set on its version: a refresh that lands meanwhile wins (its values are
// already under the current key) and the row is counted as done.
import type { Kysely } from 'kysely';
import type { Database } from '../../../db/schema.ts';
import { updateTokensIfVersion } from './connections.repo.ts';
import { TokenDecryptError, type TokenCipher } from './token-cipher.ts';
import { tokenCipherContext as ctx } from './token-store.ts';

export interface KeyRotationResult {
  /** Token rows stored. */
  rows: number;
  /** Rows re-encrypted by this run. */
  reEncrypted: number;
  /** Rows already under the current key (or moved by a concurrent refresh). */
  current: number;
  /** Rows that could not be decrypted with any configured key: the old key is still needed. */
  unreadable: { realmId: string; keyId: string; reason: string }[];
}

export async function reEncryptAllTokens(
  db: Kysely<Database>,
  cipher: TokenCipher,
  now: () => Date = () => new Date(),
): Promise<KeyRotationResult> {
  const rows = await db
    .selectFrom('qbo_tokens')
    .select([
      'realm_id',
      'key_id',
      'version',
      'access_token_ciphertext',
      'refresh_token_ciphertext',
    ])
    .orderBy('realm_id')
    .execute();
  const result: KeyRotationResult = {
    rows: rows.length,
    reEncrypted: 0,
    current: 0,
    unreadable: [],
  };
  for (const row of rows) {
    const stale =
      cipher.needsReEncrypt(row.access_token_ciphertext) ||
      cipher.needsReEncrypt(row.refresh_token_ciphertext);
    if (!stale) {
      result.current += 1;
      continue;
    }
    let access: string;
    let refresh: string;
    try {
      access = cipher.decrypt(row.access_token_ciphertext, ctx(row.realm_id, 'access_token'));
      refresh = cipher.decrypt(row.refresh_token_ciphertext, ctx(row.realm_id, 'refresh_token'));
    } catch (err) {
      if (!(err instanceof TokenDecryptError)) throw err;
      result.unreadable.push({ realmId: row.realm_id, keyId: row.key_id, reason: err.reason });
      continue;
    }
    const written = await updateTokensIfVersion(
      db,
      row.realm_id,
      row.version,
      {
        accessTokenCiphertext: cipher.encrypt(access, ctx(row.realm_id, 'access_token')),
        refreshTokenCiphertext: cipher.encrypt(refresh, ctx(row.realm_id, 'refresh_token')),
        keyId: cipher.currentKeyId,
      },
      now(),
    );
    if (written) result.reEncrypted += 1;
    else result.current += 1;
  }
  return result;
}
