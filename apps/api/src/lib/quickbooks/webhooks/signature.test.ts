import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from './signature.ts';

const vector = JSON.parse(
  fs.readFileSync(
    new URL(
      '../../../../../../fixtures/qbo-recordings/intuit-dotnet-sdk/webhooks/eventNotifications_verify.json',
      import.meta.url,
    ),
    'utf8',
  ),
) as { payload_raw: string; verifier_token: string; expected_signature: string };

describe('intuit-signature', () => {
  it('accepts the .NET SDK’s test vector', () => {
    expect(vector.expected_signature).toBe('6q+xGyMirJupwKTh2/WBl2NcdxzxqdIbk3sneKTxLWM=');
    expect(
      verifyWebhookSignature(
        Buffer.from(vector.payload_raw),
        vector.expected_signature,
        vector.verifier_token,
      ),
    ).toBe(true);
  });

  it('refuses the same JSON with one byte of whitespace more: the HMAC is over the exact bytes', () => {
    const reformatted = JSON.stringify(JSON.parse(vector.payload_raw), null, 1);
    expect(
      verifyWebhookSignature(
        Buffer.from(reformatted),
        vector.expected_signature,
        vector.verifier_token,
      ),
    ).toBe(false);
  });

  it('refuses a missing, malformed or other token’s signature', () => {
    const body = Buffer.from(vector.payload_raw);
    expect(verifyWebhookSignature(body, undefined, vector.verifier_token)).toBe(false);
    expect(verifyWebhookSignature(body, 'not base64!', vector.verifier_token)).toBe(false);
    expect(verifyWebhookSignature(body, 'A'.repeat(10_000), vector.verifier_token)).toBe(false);
    expect(verifyWebhookSignature(body, vector.expected_signature, 'another-token')).toBe(false);
    expect(verifyWebhookSignature(body, vector.expected_signature, '')).toBe(false);
  });
});
