import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { TokenCipher, TokenDecryptError } from './token-cipher.ts';

const key = () => randomBytes(32).toString('hex');
const k1 = key();
const k2 = key();
const REFRESH = 'AB11770000000abcdefghijklmnopqrstuvwxyz0123456789';

function decryptError(fn: () => unknown): TokenDecryptError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TokenDecryptError);
    return err as TokenDecryptError;
  }
  throw new Error('expected decryption to fail');
}

/** Replaces field `index` of a stored value with `edit(field)`. */
function editField(value: string, index: number, edit: (field: string) => string): string {
  const fields = value.split(':');
  fields[index] = edit(fields[index]!);
  return fields.join(':');
}

function flipFirstByte(b64url: string): string {
  const buf = Buffer.from(b64url, 'base64url');
  buf[0] = buf[0]! ^ 0x01;
  return buf.toString('base64url');
}

describe('token cipher', () => {
  const cipher = new TokenCipher({ currentKeyId: 'k1', keys: { k1 } });

  test('a stored token decrypts back to the same token, unicode included', () => {
    for (const plain of [REFRESH, '', 'ünïcødé ✓ token']) {
      expect(cipher.decrypt(cipher.encrypt(plain))).toBe(plain);
    }
  });

  test('the stored value names the format version and key id and does not contain the token', () => {
    const stored = cipher.encrypt(REFRESH);
    expect(stored).toMatch(/^v1:k1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/);
    expect(stored).not.toContain(REFRESH);
    expect(Buffer.from(stored.split(':')[4]!, 'base64url')).toHaveLength(
      Buffer.byteLength(REFRESH),
    );
  });

  test('encrypting the same token twice gives different values (random IV per value)', () => {
    const values = new Set(Array.from({ length: 50 }, () => cipher.encrypt(REFRESH)));
    expect(values.size).toBe(50);
    const ivs = new Set([...values].map((v) => v.split(':')[2]));
    expect(ivs.size).toBe(50);
  });

  test('any modified ciphertext, IV, tag or key id header is refused as tampered', () => {
    const stored = cipher.encrypt(REFRESH);
    for (const index of [2, 3, 4]) {
      const err = decryptError(() => cipher.decrypt(editField(stored, index, flipFirstByte)));
      expect(err.reason).toBe('tampered');
    }
    // Relabelling under another key id that exists is caught by the key id bound into the tag.
    const two = new TokenCipher({ currentKeyId: 'k1', keys: { k1, k1b: k1 } });
    const relabelled = editField(two.encrypt(REFRESH), 1, () => 'k1b');
    expect(decryptError(() => two.decrypt(relabelled)).reason).toBe('tampered');
  });

  test("a token stored for one realm cannot be decrypted as another realm's token", () => {
    const stored = cipher.encrypt(REFRESH, 'realm-1:refresh_token');
    expect(cipher.decrypt(stored, 'realm-1:refresh_token')).toBe(REFRESH);
    expect(decryptError(() => cipher.decrypt(stored, 'realm-2:refresh_token')).reason).toBe(
      'tampered',
    );
    expect(decryptError(() => cipher.decrypt(stored)).reason).toBe('tampered');
  });

  test('a value encrypted under a different key with the same id is refused, not garbled', () => {
    const other = new TokenCipher({ currentKeyId: 'k1', keys: { k1: k2 } });
    expect(decryptError(() => cipher.decrypt(other.encrypt(REFRESH))).reason).toBe('tampered');
  });

  test('values that are not encrypted tokens are reported as malformed', () => {
    const stored = cipher.encrypt(REFRESH);
    for (const bad of [
      REFRESH,
      '',
      'v2' + stored.slice(2),
      stored + ':extra',
      editField(stored, 3, (t) => t.slice(0, 8)), // truncated tag
      editField(stored, 2, () => '!!!!'),
    ]) {
      expect(decryptError(() => cipher.decrypt(bad)).reason).toBe('malformed');
    }
  });

  test('after rotation old tokens still decrypt, are flagged for re-encryption, and new ones use the new key', () => {
    const before = cipher.encrypt(REFRESH);
    const rotated = new TokenCipher({ currentKeyId: 'k2', keys: { k2, k1 } });
    expect(rotated.decrypt(before)).toBe(REFRESH);
    expect(rotated.needsReEncrypt(before)).toBe(true);
    const after = rotated.encrypt(rotated.decrypt(before));
    expect(rotated.keyIdOf(after)).toBe('k2');
    expect(rotated.needsReEncrypt(after)).toBe(false);
    expect(cipher.needsReEncrypt(before)).toBe(false);
    // Once k1 is retired, stragglers name the missing key instead of looking tampered.
    const retired = new TokenCipher({ currentKeyId: 'k2', keys: { k2 } });
    const err = decryptError(() => retired.decrypt(before));
    expect(err.reason).toBe('unknown_key');
    expect(err.keyId).toBe('k1');
    expect(retired.decrypt(after)).toBe(REFRESH);
  });

  test('a keyring whose current key is missing or malformed is refused at construction', () => {
    expect(() => new TokenCipher({ currentKeyId: 'k9', keys: { k1 } })).toThrow(/k9/);
    expect(() => new TokenCipher({ currentKeyId: 'k1', keys: { k1: 'abc' } })).toThrow(/64 hex/);
    expect(() => new TokenCipher({ currentKeyId: 'a:b', keys: { 'a:b': k1 } })).toThrow(/key id/);
  });
});
