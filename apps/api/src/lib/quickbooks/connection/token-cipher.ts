// Encrypts OAuth tokens at rest. Why AES-256-GCM, the stored format and how to rotate
// keys: docs/decisions/0002-token-encryption.md.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Key material by id; the current key encrypts, every listed key decrypts. */
export interface TokenKeyring {
  currentKeyId: string;
  /** 32-byte keys as 64 hex characters. */
  keys: Readonly<Record<string, string>>;
}

export type TokenDecryptErrorReason = 'malformed' | 'unknown_key' | 'tampered';

/** The value cannot be decrypted; `reason` says whether to fix the data or the keyring. */
export class TokenDecryptError extends Error {
  override readonly name = 'TokenDecryptError';
  constructor(
    readonly reason: TokenDecryptErrorReason,
    message: string,
    readonly keyId?: string,
  ) {
    super(message);
  }
}

const VERSION = 'v1';
const IV_BYTES = 12; // NIST SP 800-38D: 96-bit IVs are the efficient, recommended size
const TAG_BYTES = 16;
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export class TokenCipher {
  readonly currentKeyId: string;
  readonly #keys: ReadonlyMap<string, Buffer>;

  constructor(keyring: TokenKeyring) {
    const keys = new Map<string, Buffer>();
    for (const [id, hex] of Object.entries(keyring.keys)) {
      if (!KEY_ID_PATTERN.test(id))
        throw new Error(`token key id "${id}" must match ${KEY_ID_PATTERN}`);
      if (!/^[0-9a-fA-F]{64}$/.test(hex))
        throw new Error(`token key "${id}" must be 64 hex characters`);
      keys.set(id, Buffer.from(hex, 'hex'));
    }
    if (!keys.has(keyring.currentKeyId)) {
      throw new Error(`current token key "${keyring.currentKeyId}" is not in the keyring`);
    }
    this.currentKeyId = keyring.currentKeyId;
    this.#keys = keys;
  }

  /**
   * `context` (e.g. `${realmId}:refresh_token`) is authenticated but not stored: a value
   * copied into another row or field then fails to decrypt instead of being accepted.
   */
  encrypt(plaintext: string, context = ''): string {
    const key = this.#keys.get(this.currentKeyId)!;
    // A fresh random IV per value: GCM with a repeated (key, IV) pair leaks the XOR of the
    // plaintexts and the authentication key. 2^32 values per key keep the collision risk
    // below 2^-32 (SP 800-38D §8.3), far above any token volume.
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(this.currentKeyId, context));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.currentKeyId, b64(iv), b64(tag), b64(ct)].join(':');
  }

  decrypt(value: string, context = ''): string {
    const parts = parse(value);
    const key = this.#keys.get(parts.keyId);
    if (!key) {
      throw new TokenDecryptError(
        'unknown_key',
        `token was encrypted with key "${parts.keyId}", which is not in the keyring; ` +
          'add it back to QBO_TOKEN_ENCRYPTION_KEYS until every token is re-encrypted',
        parts.keyId,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, parts.iv, {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(aad(parts.keyId, context));
      decipher.setAuthTag(parts.tag);
      return Buffer.concat([decipher.update(parts.ct), decipher.final()]).toString('utf8');
    } catch {
      // Modified ciphertext, IV, tag or context, or a different key under the same id.
      throw new TokenDecryptError(
        'tampered',
        `token failed authentication under key "${parts.keyId}" (modified, moved, or the key changed)`,
        parts.keyId,
      );
    }
  }

  /** True when the value is not under the current key: re-encrypt it after reading it. */
  needsReEncrypt(value: string): boolean {
    return parse(value).keyId !== this.currentKeyId;
  }

  /** The key id a stored value was encrypted with (for reports during a rotation). */
  keyIdOf(value: string): string {
    return parse(value).keyId;
  }
}

interface Parsed {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  ct: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function parse(value: string): Parsed {
  const fields = value.split(':');
  const [version, keyId, iv, tag, ct] = fields;
  if (fields.length !== 5 || version !== VERSION) {
    throw new TokenDecryptError('malformed', `not a ${VERSION} encrypted token value`);
  }
  if (!KEY_ID_PATTERN.test(keyId!) || ![iv, tag, ct].every((f) => B64URL.test(f!))) {
    throw new TokenDecryptError('malformed', 'encrypted token value has invalid fields');
  }
  const parsed = {
    keyId: keyId!,
    iv: Buffer.from(iv!, 'base64url'),
    tag: Buffer.from(tag!, 'base64url'),
    ct: Buffer.from(ct!, 'base64url'),
  };
  if (parsed.iv.length !== IV_BYTES || parsed.tag.length !== TAG_BYTES) {
    // A short tag would weaken authentication (Node accepts 4-byte tags if not told).
    throw new TokenDecryptError('malformed', 'encrypted token value has a bad IV or tag length');
  }
  return parsed;
}

// The version and key id are bound into the tag so the header cannot be edited either.
function aad(keyId: string, context: string): Buffer {
  return Buffer.from(`${VERSION}:${keyId}:${context}`, 'utf8');
}

function b64(buf: Buffer): string {
  return buf.toString('base64url');
}
