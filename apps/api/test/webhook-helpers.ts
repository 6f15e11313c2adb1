// Shared by the webhook tests: changes made in the sandbox as a QuickBooks user makes them
// (notified by webhook), signed posts as Intuit sends them, and waiting until every delivery
// is in and processed.
import { createHash, createHmac } from 'node:crypto';
import {
  countUnfinished,
  type NewDelivery,
} from '../src/lib/quickbooks/webhooks/webhook-events.repo.ts';
import { control, type Sandbox, type TestService } from './service-harness.ts';

/** "Someone edited it in QuickBooks": a write through the sandbox's control API. */
export async function change(
  sandbox: Sandbox,
  realmId: string,
  entity: string,
  body: Record<string, unknown>,
  operation?: string,
): Promise<Record<string, unknown>> {
  const r = await control(sandbox, 'POST', `/companies/${realmId}/entities/${entity}`, {
    ...(operation ? { operation } : {}),
    body,
  });
  if (r.status !== 200)
    throw new Error(`sandbox ${entity} ${operation}: ${JSON.stringify(r.body)}`);
  return r.body[entity] as Record<string, unknown>;
}

/** Waits (polling, no timing assertion) until every delivery is in and processed. */
export async function settle(
  sandbox: Sandbox,
  svc: TestService,
  timeoutMs = 60_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const flushed = await control(sandbox, 'POST', '/webhooks/flush');
    const pending = await control(sandbox, 'GET', '/webhooks/pending');
    const open = (pending.body.pending as unknown[]).length + flushed.body.pending;
    if (open === 0 && (await countUnfinished(svc.db)) === 0) return;
    if (Date.now() > until) {
      throw new Error(
        `not settled: sandbox ${JSON.stringify(pending.body)}, unfinished ${await countUnfinished(svc.db)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A sandbox fault rule: QBO answers every Accounting API call of `realmId` with 403 (the app
 * lacks a permission), so webhook processing fails at once. Returns the rule's removal.
 */
export async function refuseReads(sandbox: Sandbox, realmId: string): Promise<() => Promise<void>> {
  const rule = await control(sandbox, 'POST', '/faults', {
    kind: 'error',
    status: 403,
    surface: 'accounting',
    realmId,
  });
  if (rule.status !== 201) throw new Error(`fault rule: ${JSON.stringify(rule.body)}`);
  return async () => {
    const r = await control(sandbox, 'DELETE', `/faults/${rule.body.id}`);
    if (r.status !== 204) throw new Error(`fault rule ${rule.body.id} not removed: ${r.status}`);
  };
}

/** A legacy-format notification body for one realm. */
export function legacy(realmId: string, entities: Record<string, unknown>[]): string {
  return JSON.stringify({ eventNotifications: [{ realmId, dataChangeEvent: { entities } }] });
}

/** A signed legacy delivery of one Customer Update, as the receiver hands it to storage. */
export function newDelivery(
  realmId: string,
  customerId: string,
  o: Partial<NewDelivery> = {},
): NewDelivery {
  const rawBody = legacy(realmId, [{ name: 'Customer', id: customerId, operation: 'Update' }]);
  return {
    eventId: createHash('sha256').update(rawBody).digest('hex'),
    rawBody,
    payload: JSON.parse(rawBody),
    signatureValid: true,
    format: 'legacy',
    realmIds: [realmId],
    entities: ['Customer'],
    operations: ['Update'],
    notificationCount: 1,
    intuitTid: null,
    status: 'pending',
    reason: null,
    receivedAt: new Date(),
    ...o,
  };
}

/** POST /webhook with `body` as is; the answer parsed. */
export async function postWebhook(
  svc: TestService,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const res = await svc.fetch('/api/quickbooks/webhook', {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** base64(HMAC-SHA256(the service's verifier token, body)): Intuit's intuit-signature. */
export function sign(svc: TestService, body: string): string {
  return createHmac('sha256', svc.services.intuit.webhookVerifierToken)
    .update(body)
    .digest('base64');
}

/** POST /webhook signed as Intuit signs. */
export function postSigned(svc: TestService, body: string, extra: Record<string, string> = {}) {
  return postWebhook(svc, body, { 'intuit-signature': sign(svc, body), ...extra });
}
