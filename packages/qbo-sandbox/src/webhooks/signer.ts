import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The `intuit-signature` header: base64(HMAC-SHA256(key = the app's verifier token,
 * message = the raw request body)), both as UTF-8 (docs "Validate webhook notifications";
 * .NET SDK WebhooksService.VerifyPayload and its test vector in
 * fixtures/qbo-recordings/intuit-dotnet-sdk/webhooks/eventNotifications_verify.json).
 */
export function signPayload(body: string, verifierToken: string): string {
  return createHmac('sha256', verifierToken).update(body, 'utf8').digest('base64');
}

/** Constant-time check of a received signature, as a receiver would do it. */
export function verifySignature(body: string, signature: string, verifierToken: string): boolean {
  const expected = Buffer.from(signPayload(body, verifierToken));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
