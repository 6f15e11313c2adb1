import { randomUUID } from 'node:crypto';
import type { SandboxContext } from '../core/context.ts';
import type { ChangeEvent } from '../core/company.ts';
import { formatQboTime } from '../core/clock.ts';
import {
  buildCloudEventsBody,
  buildLegacyBody,
  webhookEntityName,
  type WebhookChange,
} from './payloads.ts';
import { retryDelayMs, seededRandom, shuffle } from './retry-schedule.ts';
import { signPayload } from './signer.ts';
import { postNotification } from './transport.ts';

/** Delivery behaviour that the control API can change while the sandbox runs. */
export interface WebhookOptions {
  batchDelayMs: number;
  retryScale: number;
  maxAttempts: number;
  timeoutMs: number;
  /** Send every delivered notification a second time (Intuit: "events can arrive duplicated"). */
  duplicate: boolean;
  /** Chance (0–1) that a delivered notification is sent a second time. */
  duplicateProbability: number;
  /** Shuffle entities within a batch, hold some back to a later batch, and queue batches out of order. */
  reorder: boolean;
  /** Seed of the random source behind duplicate/reorder, so chaos is repeatable. */
  seed: number;
}

export type FailureMode = 'fail' | 'drop';

export interface FailureRule {
  id: string;
  clientId?: string;
  mode: FailureMode;
  /** Attempts still to fail; null = until `until`. */
  remaining: number | null;
  /** Real-time epoch ms after which the rule lapses; null = until `remaining` runs out. */
  until: number | null;
}

/** One POST (or injected non-POST) of one notification. */
export interface DeliveryRecord {
  id: string;
  notificationId: string;
  clientId: string;
  realmIds: string[];
  url: string;
  format: 'legacy' | 'cloudevents';
  /** The raw body exactly as signed and sent. */
  payload: string;
  signature: string;
  headers: Record<string, string>;
  /** 1 for the first try of a notification; a duplicate repeats its original's number. */
  attempt: number;
  duplicate: boolean;
  /** Whether the request left the sandbox (false for injected `fail`). */
  sent: boolean;
  status: number | null;
  error: string | null;
  injected: FailureMode | null;
  /** `retrying` = will be tried again; `failed` = given up (or a failed duplicate). */
  result: 'delivered' | 'retrying' | 'failed';
  nextAttemptInMs: number | null;
  /** Sandbox-clock time of the attempt, ISO-8601. */
  at: string;
  latencyMs: number;
  responseBody: string | null;
}

interface Notification {
  id: string;
  clientId: string;
  url: string;
  format: 'legacy' | 'cloudevents';
  changes: WebhookChange[];
  body: string;
  signature: string;
  createdTime: string;
  attempts: number;
}

interface Channel {
  clientId: string;
  collecting: WebhookChange[];
  batchTimer?: NodeJS.Timeout;
  queue: Notification[];
  retryTimer?: NodeJS.Timeout;
  running?: Promise<void>;
}

export interface FlushSummary {
  attempts: number;
  delivered: number;
  failed: number;
  retrying: number;
  /** Notifications still queued after the flush (behind a failed one, waiting to retry). */
  pending: number;
}

/**
 * Turns data changes into signed webhook notifications and delivers them the way Intuit
 * does: batched per app, only for connected companies and subscribed entities, one at a
 * time per app (docs "Best practices": "You may not receive subsequent events from our
 * system until you correctly acknowledge the first event"), retried on Intuit's schedule.
 */
export class WebhookDispatcher {
  readonly options: WebhookOptions;
  private readonly channels = new Map<string, Channel>();
  private readonly log: DeliveryRecord[] = [];
  private readonly failures: FailureRule[] = [];
  private random: () => number;
  private attemptSeq = 0;
  private notificationSeq = 0;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly unsubscribe: () => void;

  constructor(private readonly ctx: SandboxContext) {
    const w = ctx.config.webhooks;
    this.options = {
      batchDelayMs: w.batchDelayMs,
      retryScale: w.retryScale,
      maxAttempts: w.maxAttempts,
      timeoutMs: w.timeoutMs,
      duplicate: false,
      duplicateProbability: 0,
      reorder: false,
      seed: w.seed,
    };
    this.random = seededRandom(this.options.seed);
    this.unsubscribe = w.enabled ? ctx.state.onChange((e) => this.onChange(e)) : () => false;
  }

  setOptions(patch: Partial<WebhookOptions>): WebhookOptions {
    Object.assign(this.options, patch);
    if (patch.seed !== undefined) this.random = seededRandom(patch.seed);
    return { ...this.options };
  }

  /** Queues a notification for an arbitrary change; returns the apps it will reach. */
  notify(change: WebhookChange): string[] {
    return this.enqueue(change);
  }

  addFailure(rule: Omit<FailureRule, 'id'>): FailureRule {
    const r = { ...rule, id: randomUUID() };
    this.failures.push(r);
    return r;
  }

  listFailures(): FailureRule[] {
    this.pruneFailures();
    return this.failures.map((r) => ({ ...r }));
  }

  clearFailures(): void {
    this.failures.length = 0;
  }

  deliveries(filter: { clientId?: string; realmId?: string; limit: number }): DeliveryRecord[] {
    const out = this.log.filter(
      (d) =>
        (!filter.clientId || d.clientId === filter.clientId) &&
        (!filter.realmId || d.realmIds.includes(filter.realmId)),
    );
    return out.slice(Math.max(0, out.length - filter.limit));
  }

  /** Changes still being collected and notifications not yet acknowledged, per app. */
  pending(): { clientId: string; collecting: number; queued: number; waitingForRetry: boolean }[] {
    return [...this.channels.values()]
      .filter((c) => c.collecting.length || c.queue.length)
      .map((c) => ({
        clientId: c.clientId,
        collecting: c.collecting.length,
        queued: c.queue.length,
        waitingForRetry: c.retryTimer !== undefined,
      }));
  }

  /** Sends everything pending now (retries included) and resolves once each app's queue has drained or failed again. */
  async flush(): Promise<FlushSummary> {
    const from = this.attemptSeq;
    for (const ch of this.channels.values()) {
      this.seal(ch, false);
      if (ch.retryTimer) clearTimeout(ch.retryTimer);
      ch.retryTimer = undefined;
    }
    await Promise.all([...this.channels.values()].map((ch) => this.drain(ch)));
    const made = this.log.slice(Math.max(0, this.log.length - (this.attemptSeq - from)));
    return {
      attempts: made.length,
      delivered: made.filter((d) => d.result === 'delivered').length,
      failed: made.filter((d) => d.result === 'failed').length,
      retrying: made.filter((d) => d.result === 'retrying').length,
      pending: [...this.channels.values()].reduce((n, c) => n + c.queue.length, 0),
    };
  }

  /** Stops every timer and in-flight request; called by `Sandbox.close()`. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.abort.abort();
    for (const ch of this.channels.values()) {
      clearTimeout(ch.batchTimer);
      clearTimeout(ch.retryTimer);
      ch.batchTimer = ch.retryTimer = undefined;
    }
  }

  private onChange(e: ChangeEvent): void {
    this.enqueue({
      realmId: e.realmId,
      entity: e.entity,
      id: e.id,
      operation: e.operation,
      at: e.at,
      ...(e.deletedId !== undefined ? { deletedId: e.deletedId } : {}),
    });
  }

  private enqueue(change: WebhookChange): string[] {
    if (this.closed) return [];
    // Only entities in Intuit's webhook table notify (CompanyInfo, TaxCode do not).
    const entity = webhookEntityName(change.entity);
    if (!entity) return [];
    const c = { ...change, entity };
    const now = this.ctx.state.clock.now();
    const reached: string[] = [];
    for (const app of this.ctx.state.apps.values()) {
      if (!app.webhookUrl) continue;
      if (
        app.webhookEntities &&
        !app.webhookEntities.some((e) => e.toLowerCase() === entity.toLowerCase())
      )
        continue;
      // Docs: "you'll only receive change notifications for QuickBooks Online companies
      // that are connected and authorized via OAuth 2.0".
      if (!this.connected(app.clientId, c.realmId, now)) continue;
      const ch = this.channel(app.clientId);
      ch.collecting.push(c);
      this.armBatch(ch);
      reached.push(app.clientId);
    }
    return reached;
  }

  private connected(clientId: string, realmId: string, now: number): boolean {
    for (const rt of this.ctx.state.refreshTokens.values()) {
      if (
        rt.clientId === clientId &&
        rt.realmId === realmId &&
        !rt.revoked &&
        rt.hardExpiresAt > now
      )
        return true;
    }
    return false;
  }

  private channel(clientId: string): Channel {
    let ch = this.channels.get(clientId);
    if (!ch) this.channels.set(clientId, (ch = { clientId, collecting: [], queue: [] }));
    return ch;
  }

  private armBatch(ch: Channel): void {
    if (ch.batchTimer || this.closed) return;
    ch.batchTimer = setTimeout(() => {
      ch.batchTimer = undefined;
      this.seal(ch, true);
    }, this.options.batchDelayMs);
    ch.batchTimer.unref();
  }

  /** Closes the collection window into one notification and queues it. */
  private seal(ch: Channel, mayHoldBack: boolean): void {
    clearTimeout(ch.batchTimer);
    ch.batchTimer = undefined;
    let changes = ch.collecting;
    ch.collecting = [];
    if (!changes.length) return;
    if (this.options.reorder) {
      shuffle(changes, this.random);
      if (mayHoldBack && changes.length > 1) {
        // "Events can arrive out of order": some changes slip into the next batch.
        const later = changes.filter(() => this.random() < 0.5);
        const now = changes.filter((c) => !later.includes(c));
        if (!now.length) now.push(later.shift()!);
        changes = now;
        if (later.length) {
          ch.collecting = later;
          this.armBatch(ch);
        }
      }
    }
    const app = this.ctx.state.apps.get(ch.clientId);
    if (!app?.webhookUrl) return;
    const body =
      app.webhookFormat === 'cloudevents'
        ? buildCloudEventsBody(changes, app.clientId)
        : buildLegacyBody(changes);
    const company = this.ctx.state.companies.get(changes[0]!.realmId);
    const n: Notification = {
      id: `n-${++this.notificationSeq}`,
      clientId: app.clientId,
      url: app.webhookUrl,
      format: app.webhookFormat,
      changes,
      body,
      signature: signPayload(body, app.verifierToken),
      // Docs sample header: `intuit-created-time:2016-02-02T16:25:00-0800`.
      createdTime: formatQboTime(this.ctx.state.clock.now(), company?.offsetMinutes ?? 0).replace(
        /([+-]\d{2}):(\d{2})$/,
        '$1$2',
      ),
      attempts: 0,
    };
    let pos = ch.queue.length;
    if (this.options.reorder) {
      const first = ch.running || ch.queue[0]?.attempts ? 1 : 0;
      pos = first + Math.floor(this.random() * (ch.queue.length - first + 1));
    }
    ch.queue.splice(Math.min(pos, ch.queue.length), 0, n);
    void this.kick(ch);
  }

  private kick(ch: Channel): Promise<void> {
    if (!ch.running) {
      ch.running = (async () => {
        try {
          await this.run(ch);
        } finally {
          ch.running = undefined;
        }
      })();
    }
    return ch.running;
  }

  private async drain(ch: Channel): Promise<void> {
    while (!this.closed) {
      if (ch.running) await ch.running;
      else if (ch.queue.length && !ch.retryTimer) await this.kick(ch);
      else return;
    }
  }

  private async run(ch: Channel): Promise<void> {
    while (!this.closed && !ch.retryTimer && ch.queue.length) {
      const n = ch.queue[0]!;
      const record = await this.attempt(n, false);
      if (this.closed) return;
      if (record.result === 'retrying') {
        ch.retryTimer = setTimeout(() => {
          ch.retryTimer = undefined;
          void this.kick(ch);
        }, record.nextAttemptInMs!);
        ch.retryTimer.unref();
        return;
      }
      ch.queue.shift();
      if (record.result === 'delivered' && this.shouldDuplicate()) await this.attempt(n, true);
    }
  }

  private shouldDuplicate(): boolean {
    if (this.options.duplicate) return true;
    return (
      this.options.duplicateProbability > 0 && this.random() < this.options.duplicateProbability
    );
  }

  private async attempt(n: Notification, duplicate: boolean): Promise<DeliveryRecord> {
    if (!duplicate) n.attempts += 1;
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      accept: 'application/json',
      'user-agent': 'intuit_notification_server/0.1',
      'intuit-signature': n.signature,
      'intuit-created-time': n.createdTime,
      'intuit-t-id': randomUUID(),
      'intuit-notification-schema-version': '0.1',
    };
    const at = new Date(this.ctx.state.clock.now()).toISOString();
    const injected = duplicate ? null : this.takeInjectedFailure(n.clientId);
    const res =
      injected === 'fail'
        ? { error: 'injected failure: not sent', latencyMs: 0 }
        : await postNotification(n.url, n.body, headers, this.options.timeoutMs, this.abort.signal);
    const status = 'status' in res && res.status !== undefined ? res.status : null;
    const ok = !injected && status !== null && status >= 200 && status < 300 && !res.error;
    let result: DeliveryRecord['result'] = ok ? 'delivered' : 'failed';
    let nextAttemptInMs: number | null = null;
    if (!ok && !duplicate && n.attempts < this.options.maxAttempts) {
      result = 'retrying';
      nextAttemptInMs = retryDelayMs(n.attempts, this.options.retryScale);
    }
    const record: DeliveryRecord = {
      id: `d-${++this.attemptSeq}`,
      notificationId: n.id,
      clientId: n.clientId,
      realmIds: [...new Set(n.changes.map((c) => c.realmId))],
      url: n.url,
      format: n.format,
      payload: n.body,
      signature: n.signature,
      headers,
      attempt: n.attempts,
      duplicate,
      sent: injected !== 'fail',
      status,
      error:
        res.error ??
        (injected === 'drop' ? 'injected failure: answer ignored' : ok ? null : `HTTP ${status}`),
      injected,
      result,
      nextAttemptInMs,
      at,
      latencyMs: res.latencyMs,
      responseBody:
        'responseBody' in res && res.responseBody !== undefined ? res.responseBody : null,
    };
    this.log.push(record);
    const excess = this.log.length - this.ctx.config.webhooks.logSize;
    if (excess > 0) this.log.splice(0, excess);
    return record;
  }

  private pruneFailures(): void {
    const now = Date.now();
    for (let i = this.failures.length - 1; i >= 0; i--) {
      const r = this.failures[i]!;
      if (r.remaining === 0 || (r.until !== null && r.until <= now)) this.failures.splice(i, 1);
    }
  }

  private takeInjectedFailure(clientId: string): FailureMode | null {
    this.pruneFailures();
    const rule = this.failures.find((r) => !r.clientId || r.clientId === clientId);
    if (!rule) return null;
    if (rule.remaining !== null) rule.remaining -= 1;
    return rule.mode;
  }
}
