// Receiving a webhook delivery: verify, store, wake the processor — nothing else, so the
// answer goes back at once (Intuit wants a 2xx within 3 s, and holds later notifications
// back until one is acknowledged: docs "Webhooks", best practices).
//
// Rules, and why:
//   * The signature is checked on the raw bytes (signature.ts) before anything is parsed.
//   * Every delivery is stored, invalid ones too (status `rejected`, never processed), so an
//     operator can see forged or misconfigured posts. The database is the record: once the
//     row is written a crash loses nothing, the processor's start-up sweep finds it.
//   * A signed body already stored (Intuit's retry or duplicate) is counted on its row, not
//     stored or processed again.
//   * Liberal in what a signed delivery carries: a format we cannot read is stored and
//     marked `skipped`, and still acknowledged — refusing it would only make Intuit retry it
//     for days and hold back the notifications behind it.
//   * A flood of invalid posts must not crowd out Intuit's: invalid deliveries are stored
//     only up to `invalidStorePerMinute` (a token bucket per process); past it they are
//     answered 401 without touching the database. Checking an HMAC costs microseconds, so
//     valid deliveries keep their database writes and their latency.
//   * Deliveries arriving together are stored together (delivery-writer.ts: group commit),
//     so a burst costs a few statements, not one commit per delivery.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../../db/schema.ts';
import type { Clock } from '../ports.ts';
import { parseDelivery, summarise, type ParsedDelivery } from './payload.ts';
import { verifyWebhookSignature } from './signature.ts';
import { DeliveryWriter } from './delivery-writer.ts';

export type ReceiveOutcome =
  /** Signed and stored: acknowledge. */
  | { kind: 'accepted'; id: string; duplicate: boolean }
  /** Signed but not a payload we can read: stored as skipped, acknowledged. */
  | { kind: 'unreadable'; id: string; duplicate: boolean }
  /** Signature missing or wrong; `id` null when the flood cap kept it out of the database. */
  | { kind: 'rejected'; id: string | null; reason: string };

export interface WebhookReceiverDeps {
  db: Kysely<Database>;
  clock: Clock;
  verifierToken: string;
  /** Called after a signed delivery is stored (wakes the processor); must not throw. */
  onStored: () => void;
  /** Invalid deliveries stored per minute at most (default 60); the rest are only answered. */
  invalidStorePerMinute?: number;
}

export const DEFAULT_INVALID_STORE_PER_MINUTE = 60;

export class WebhookReceiver {
  private readonly writer: DeliveryWriter;
  private readonly capacity: number;
  private tokens: number;
  private refilledAt: number;
  /** Invalid deliveries answered without being stored (flood cap), since start. */
  droppedInvalid = 0;

  constructor(private readonly d: WebhookReceiverDeps) {
    this.writer = new DeliveryWriter(d.db);
    this.capacity = d.invalidStorePerMinute ?? DEFAULT_INVALID_STORE_PER_MINUTE;
    this.tokens = this.capacity;
    this.refilledAt = d.clock.now();
  }

  async receive(
    raw: Buffer,
    headers: { signature?: string | undefined; intuitTid?: string | undefined },
  ): Promise<ReceiveOutcome> {
    const valid = verifyWebhookSignature(raw, headers.signature, this.d.verifierToken);
    if (!valid) {
      const reason = headers.signature
        ? 'intuit-signature does not match the body (HMAC-SHA256 with the verifier token)'
        : 'no intuit-signature header';
      if (!this.takeInvalidToken()) {
        this.droppedInvalid++;
        return { kind: 'rejected', id: null, reason };
      }
      const stored = await this.store(raw, headers.intuitTid, false, reason);
      return { kind: 'rejected', id: stored.id, reason };
    }
    const stored = await this.store(raw, headers.intuitTid, true, null);
    if (stored.status === 'pending' && !stored.duplicate) this.d.onStored();
    return stored.status === 'pending'
      ? { kind: 'accepted', id: stored.id, duplicate: stored.duplicate }
      : { kind: 'unreadable', id: stored.id, duplicate: stored.duplicate };
  }

  private async store(
    raw: Buffer,
    intuitTid: string | undefined,
    signatureValid: boolean,
    rejectReason: string | null,
  ): Promise<{ id: string; duplicate: boolean; status: 'pending' | 'rejected' | 'skipped' }> {
    // Postgres text holds no NUL: the stored copy replaces it (the signature was checked on the bytes).
    const text = raw.toString('utf8').replaceAll('\u0000', '\uFFFD');
    let body: unknown = null;
    let parsed: ParsedDelivery = { format: null, changes: [], unreadable: 0 };
    try {
      body = JSON.parse(text);
      parsed = parseDelivery(body);
    } catch {
      body = null;
    }
    const s = summarise(parsed);
    const status = !signatureValid ? 'rejected' : parsed.format ? 'pending' : 'skipped';
    const reason =
      rejectReason ??
      (status === 'skipped'
        ? body === null
          ? 'the body is not JSON'
          : 'neither an eventNotifications object nor a CloudEvents array'
        : null);
    const r = await this.writer.write({
      eventId: createHash('sha256').update(raw).digest('hex'),
      rawBody: text,
      payload: storableJson(body),
      signatureValid,
      format: parsed.format,
      realmIds: s.realmIds.slice(0, 100),
      entities: s.entities.slice(0, 100),
      operations: s.operations.slice(0, 100),
      notificationCount: parsed.changes.length,
      intuitTid: cleanHeader(intuitTid),
      status,
      reason,
      receivedAt: new Date(this.d.clock.now()),
    });
    return { ...r, status };
  }

  private takeInvalidToken(): boolean {
    const now = this.d.clock.now();
    this.tokens = Math.min(
      this.capacity,
      this.tokens + ((now - this.refilledAt) * this.capacity) / 60_000,
    );
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** jsonb refuses `\u0000` and lone surrogates: such a body is kept as raw text only. */
function storableJson(body: unknown): unknown {
  if (body === null) return null;
  const s = JSON.stringify(body);
  return /\\u0000|\\ud[89a-f]/i.test(s) ? null : body;
}

function cleanHeader(v: string | undefined): string | null {
  if (!v) return null;
  const s = v.replaceAll('\u0000', '').trim().slice(0, 200);
  return s || null;
}
