// Prometheus exposition (GET /metrics/prometheus) beside the JSON /metrics. Every HTTP attempt
// to QBO or Intuit's OAuth server already passes through the one RequestLogSink, so the
// counters are fed there: a call cannot be logged without being counted, or the other way
// round. Each process exports its own figures (Prometheus sums the instances); one registry
// per service set, so two in one process (tests) do not share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueCounts } from '../lib/jobs.ts';
import type { MeteredUsage } from '../lib/quickbooks/client/metering.ts';
import { ALERT_NAMES, type RealmAlerts } from '../lib/quickbooks/metrics.ts';
import type { RealmSyncStatus } from '../lib/quickbooks/sync/status.ts';
import type { RequestLogRecord, RequestLogSink } from '../lib/quickbooks/ports.ts';

/** QBO answers in tens to hundreds of ms; retried and throttled calls take seconds. */
const LATENCY_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];

export class QboPrometheus {
  readonly registry = new Registry();
  readonly #calls: Counter<'realm_id' | 'kind' | 'status' | 'code'>;
  readonly #latency: Histogram<'kind' | 'status_class'>;
  readonly #throttles: Counter<'realm_id'>;
  readonly #refreshes: Counter<'realm_id' | 'outcome'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.#calls = new Counter({
      name: 'qbo_requests_total',
      help: 'HTTP attempts to QBO and Intuit OAuth, by realm, kind, status (or "network") and QBO fault / OAuth error code',
      labelNames: ['realm_id', 'kind', 'status', 'code'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'qbo_request_duration_seconds',
      help: 'Duration of one HTTP attempt to QBO or Intuit OAuth',
      labelNames: ['kind', 'status_class'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#throttles = new Counter({
      name: 'qbo_throttled_total',
      help: 'Attempts QBO refused for its rate limits (HTTP 429 or fault 3001), by realm',
      labelNames: ['realm_id'],
      registers,
    });
    this.#refreshes = new Counter({
      name: 'qbo_token_refreshes_total',
      help: 'Token refresh attempts at Intuit, by realm and outcome (success, invalid_grant, network, or the error code)',
      labelNames: ['realm_id', 'outcome'],
      registers,
    });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Gauges read when Prometheus scrapes, from the database and the queues (the record of what
   * is left to do): job queue depths, the webhook backlog, sync progress and drift per realm and
   * entity, this month's metered reads, every /metrics alert per realm. One failing source
   * leaves its gauges out of that scrape.
   */
  addStateSources(s: {
    queueCounts: () => Promise<Record<string, QueueCounts>>;
    oldestPendingWebhook: () => Promise<Date | null>;
    syncStatus: () => Promise<RealmSyncStatus[]>;
    meteredUsage: () => Promise<MeteredUsage>;
    alerts: () => Promise<RealmAlerts[]>;
  }): void {
    const registers = [this.registry];
    /** A gauge set afresh at each scrape from `read`'s answer; left out when `read` fails. */
    const scraped = <T, L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      read: () => Promise<T>,
      fill: (gauge: Gauge<L>, value: T) => void,
    ) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          let value: T;
          try {
            value = await read();
          } catch {
            return;
          }
          this.reset();
          fill(this, value);
        },
      });
    new Gauge({
      name: 'qbo_job_queue_depth',
      help: 'Background jobs by queue and state (waiting, active, delayed, failed)',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        const counts = await s.queueCounts().catch(() => ({}));
        for (const [queue, c] of Object.entries(counts)) {
          for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) {
            this.set({ queue, state }, c[state]);
          }
        }
      },
    });
    new Gauge({
      name: 'qbo_webhook_backlog_seconds',
      help: 'Age of the oldest webhook event not yet processed (0 when none)',
      registers,
      async collect() {
        const oldest = await s.oldestPendingWebhook().catch(() => undefined);
        if (oldest === undefined) return;
        this.set(oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0);
      },
    });
    // Three gauges from one read of the sync status per scrape.
    const syncStatus = this.#perScrape(s.syncStatus);
    const perEntity = (
      name: string,
      help: string,
      value: (e: RealmSyncStatus['entities'][number]) => number | null,
    ) =>
      scraped(name, help, ['realm_id', 'entity'], syncStatus, (gauge, realms) => {
        for (const r of realms) {
          for (const e of r.entities) {
            const v = value(e);
            if (v !== null) gauge.set({ realm_id: r.realmId, entity: e.entity }, v);
          }
        }
      });
    perEntity('qbo_mirror_rows', 'Live mirror rows by realm and entity', (e) => e.mirrorCount);
    perEntity(
      'qbo_sync_progress_ratio',
      'Share of objects done by the running sync, by realm and entity (absent when idle)',
      (e) => (e.progress?.total ? e.progress.done / e.progress.total : null),
    );
    perEntity(
      'qbo_sync_drift',
      'Objects that differed between QBO and the mirror at the last reconciliation',
      (e) => e.drift,
    );
    scraped(
      'qbo_coreplus_calls',
      'This month\'s successful metered (CorePlus) read calls, by realm, and the allowance (realm_id="allowance")',
      ['realm_id'],
      s.meteredUsage,
      (gauge, u) => {
        gauge.set({ realm_id: 'allowance' }, u.allowance);
        for (const r of u.byRealm) gauge.set({ realm_id: r.realmId }, r.used);
      },
    );
    // The alerts of GET /metrics, by the same rules, so Prometheus can alert on them too.
    const alerts = this.#perScrape(s.alerts);
    const perAlert = (
      name: string,
      help: string,
      value: (a: RealmAlerts['alerts'][keyof RealmAlerts['alerts']]) => number | null,
    ) =>
      scraped(name, help, ['realm_id', 'alert'], alerts, (gauge, realms) => {
        for (const r of realms) {
          for (const [key, alert] of Object.entries(ALERT_NAMES) as [
            keyof typeof ALERT_NAMES,
            string,
          ][]) {
            const v = value(r.alerts[key]);
            if (v !== null) gauge.set({ realm_id: r.realmId, alert }, v);
          }
        }
      });
    perAlert(
      'qbo_alert_active',
      'Whether each /metrics alert is raised for the realm (1) or not (0)',
      (a) => (a.active ? 1 : 0),
    );
    perAlert(
      'qbo_alert_value',
      "What each /metrics alert rule measured, in the rule's unit (absent when unknown)",
      (a) => a.value,
    );
    perAlert(
      'qbo_alert_threshold',
      'The limit each /metrics alert rule compares its value with',
      (a) => a.threshold,
    );
  }

  /** `sink`, with every record counted first (counting never throws or waits). */
  wrap(sink: RequestLogSink): RequestLogSink {
    return { write: (record) => (this.observe(record), sink.write(record)) };
  }

  observe(r: RequestLogRecord): void {
    const realm = r.realmId ?? '';
    const status = r.status === null ? 'network' : String(r.status);
    this.#calls.inc({ realm_id: realm, kind: r.kind, status, code: r.errorCode ?? '' });
    this.#latency.observe(
      {
        kind: r.kind,
        status_class: r.status === null ? 'network' : `${Math.floor(r.status / 100)}xx`,
      },
      r.durationMs / 1000,
    );
    if (r.kind === 'accounting' && (r.status === 429 || r.errorCode === '3001')) {
      this.#throttles.inc({ realm_id: realm });
    }
    if (r.kind === 'oauth_token_refresh') {
      const outcome =
        r.status !== null && r.status < 300
          ? 'success'
          : r.status === null
            ? 'network'
            : (r.errorCode ?? String(r.status));
      this.#refreshes.inc({ realm_id: realm, outcome });
    }
  }

  /** The text format and its content type, for the route. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    this.#scrape += 1;
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Scrapes so far: a value read once per scrape is cached under this number. */
  #scrape = 0;

  /** `fn`'s promise, shared by every gauge of one scrape (one query, not one per gauge). */
  #perScrape<T>(fn: () => Promise<T>): () => Promise<T> {
    let at = -1;
    let last: Promise<T> | null = null;
    return () => {
      if (!last || at !== this.#scrape) {
        at = this.#scrape;
        last = fn();
      }
      return last;
    };
  }
}
