import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Checks Intuit's `intuit-signature` header: base64(HMAC-SHA256(key = the app's verifier
 * token, message = the raw request body)) (docs "Validate webhook notifications"; .NET SDK
 * `WebhooksService.VerifyPayload`, whose test vector is in
 * fixtures/qbo-recordings/intuit-dotnet-sdk/webhooks/). The HMAC is computed over the bytes
 * exactly as received — never over a re-serialised parse, which would change whitespace,
 * key order or escapes and fail a genuine notification. The comparison is on the decoded
 * digests, in constant time, so the answer time says nothing about how much matched.
 */
export function verifyWebhookSignature(
  rawBody: Buffer,
  signature: string | undefined,
  verifierToken: string,
): boolean {
  if (!signature || !verifierToken) return false;
  // A base64 SHA-256 digest is 44 characters; anything longer is not one (and is not decoded).
  if (signature.length > 128 || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature.trim())) return false;
  const expected = createHmac('sha256', verifierToken).update(rawBody).digest();
  const given = Buffer.from(signature.trim(), 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
