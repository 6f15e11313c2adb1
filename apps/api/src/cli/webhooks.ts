// `qbo-sync webhooks replay`: asks the service to process stored webhook events again (named
// ones, or every failed one), then follows them on GET /webhook-events?replayedFrom=… (the
// database's record) with one progress bar, and prints how each that did not succeed ended.
import cliProgress from 'cli-progress';
import type {
  WebhookEvent,
  WebhookEventsResponse,
  WebhookReplayResponse,
} from '@qbo-sync/contract';
import type { ServiceClient } from './service.ts';

export interface ReplayOptions {
  ids: string[];
  status?: 'failed' | 'skipped';
  realm?: string;
  wait: boolean;
  tty: boolean;
  pollMs?: number;
  out: (line: string) => void;
}

export interface ReplayOutcome {
  queued: number;
  /** Counted once waited for; all zero with --no-wait. */
  processed: number;
  skipped: number;
  failed: number;
  /** Failed again transiently: back to pending with a retry scheduled. */
  retrying: number;
}

const FINISHED = new Set(['processed', 'skipped', 'failed']);
/** Finished, or attempted since the replay and waiting for its next try. */
const settled = (e: WebhookEvent) =>
  FINISHED.has(e.status) || (e.status === 'pending' && e.attempts > 0);

export async function runWebhookReplay(
  service: ServiceClient,
  o: ReplayOptions,
): Promise<ReplayOutcome> {
  const body = o.status
    ? { status: o.status, ...(o.realm ? { realm_id: o.realm } : {}) }
    : { ids: o.ids };
  const r = await service.post<WebhookReplayResponse>(
    '/api/quickbooks/webhook-events/replay',
    body,
  );
  const outcome: ReplayOutcome = {
    queued: r.queued,
    processed: 0,
    skipped: 0,
    failed: 0,
    retrying: 0,
  };
  if (r.queued === 0) {
    o.out(`no ${o.status ?? ''} webhook events to replay`.replace(/\s+/g, ' '));
    return outcome;
  }
  o.out(`replaying ${r.queued} webhook event(s)`);
  if (r.remaining > 0) {
    o.out(`${r.remaining} more match: run the command again once these are done`);
  }
  if (!o.wait) return outcome;

  const mine = new Set(r.ids);
  const bar = o.tty
    ? new cliProgress.SingleBar(
        { format: ' events [{bar}] {value}/{total}', hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(r.queued, 0);
  let seen = new Map<string, WebhookEvent>();
  try {
    for (;;) {
      seen = await replayedSince(service, r.replayed_at, mine);
      const done = [...seen.values()].filter(settled).length;
      bar?.update(done);
      if (done >= mine.size) break;
      await new Promise((res) => setTimeout(res, o.pollMs ?? 1000));
    }
  } finally {
    bar?.stop();
  }
  for (const e of seen.values()) {
    if (e.status === 'pending') outcome.retrying++;
    else if (e.status === 'processed' || e.status === 'skipped' || e.status === 'failed')
      outcome[e.status]++;
  }
  o.out(
    `${outcome.processed} processed, ${outcome.skipped} skipped, ${outcome.failed} failed, ${outcome.retrying} retrying`,
  );
  for (const e of seen.values()) {
    if (e.status === 'failed') o.out(`  ${e.id} failed: ${e.last_error ?? e.reason ?? ''}`);
    if (e.status === 'pending')
      o.out(`  ${e.id} retrying at ${e.next_attempt_at ?? 'once due'}: ${e.last_error ?? ''}`);
    if (e.status === 'skipped') o.out(`  ${e.id} skipped: ${e.reason ?? ''}`);
  }
  return outcome;
}

/** The events of `ids` replayed at or after `from`, as the service holds them now. */
async function replayedSince(
  service: ServiceClient,
  from: string,
  ids: ReadonlySet<string>,
): Promise<Map<string, WebhookEvent>> {
  const found = new Map<string, WebhookEvent>();
  let cursor: string | null = null;
  do {
    const page: WebhookEventsResponse = await service.get<WebhookEventsResponse>(
      `/api/quickbooks/webhook-events?limit=500&replayedFrom=${encodeURIComponent(from)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    for (const e of page.events) if (ids.has(e.id)) found.set(e.id, e);
    cursor = page.next_cursor;
  } while (cursor);
  return found;
}
