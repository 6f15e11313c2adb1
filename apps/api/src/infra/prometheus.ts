// Prometheus exposition (GET /metrics/prometheus) beside the JSON /metrics. Every HTTP attempt
// to QBO or Intuit's OAuth server already passes through the one RequestLogSink, so the
// counters are fed there: a call cannot be logged without being counted, or the other way
// round. Each process exports its own figures (Prometheus sums the instances); one registry
// per service set, so two in one process (tests) do not share counters.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
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
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
