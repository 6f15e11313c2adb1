// Replaying stored webhook events: an operator's way to have events processed again once
// the cause of their failure is gone (a company reconnected, QBO back, a permission fixed).
//
// Rules, and why:
//   * A replay is a state change on the row, not a second delivery: the event goes back to
//     `pending`, due at once, with a fresh attempt budget, and the processor wakes. The row
//     stays the record — a crash right after the replay loses nothing (the sweep finds it).
//   * It is safe to replay anything signed: processing reads each object's current state
//     from QBO and the sync engine's upsert keeps the newer version, so processing an event
//     twice never makes the mirror older nor duplicates anything.
//   * An event whose signature did not verify is never processed (it may be forged; the
//     table's CHECK refuses it too), so it is refused here with the reason, not skipped.
//   * An event a worker is processing right now is refused: its outcome is seconds away.
//   * All or nothing: one unknown or refused id and nothing is queued, so the answer says
//     exactly what happened.
//   * History stays readable: the reason says how the event had ended, `last_error` stays
//     until an attempt succeeds, `replays` and `last_replayed_at` record the replay.
import type { Kysely } from 'kysely';
import type { Database } from '../../../db/schema.ts';
import type { Clock } from '../ports.ts';
import { lockEventsById, lockEventsByStatus, requeueEvents } from './webhook-events.repo.ts';

/** Events replayed by status per request at most; the answer says how many remain. */
export const REPLAY_BATCH = 1_000;

export type ReplaySelection =
  { ids: readonly string[] } | { status: 'failed' | 'skipped'; realmId?: string };

export type ReplayRefusal = { id: string; why: 'invalid_signature' | 'processing' };

export type ReplayResult =
  | { kind: 'queued'; ids: string[]; remaining: number; replayedAt: Date }
  | { kind: 'unknown'; ids: string[] }
  | { kind: 'refused'; refused: ReplayRefusal[] };

export async function replayWebhookEvents(
  d: { db: Kysely<Database>; clock: Clock },
  sel: ReplaySelection,
): Promise<ReplayResult> {
  const replayedAt = new Date(d.clock.now());
  return d.db.transaction().execute(async (tx): Promise<ReplayResult> => {
    if ('ids' in sel) {
      const wanted = [...new Set(sel.ids)];
      const rows = await lockEventsById(tx, wanted);
      const found = new Set(rows.map((r) => r.id));
      const unknown = wanted.filter((id) => !found.has(id));
      if (unknown.length) return { kind: 'unknown', ids: unknown };
      const refused: ReplayRefusal[] = [];
      for (const r of rows) {
        if (!r.signature_valid) refused.push({ id: r.id, why: 'invalid_signature' });
        else if (r.status === 'processing') refused.push({ id: r.id, why: 'processing' });
      }
      if (refused.length) return { kind: 'refused', refused };
      const ids = await requeueEvents(tx, wanted, replayedAt);
      return { kind: 'queued', ids, remaining: 0, replayedAt };
    }
    const { ids: due, total } = await lockEventsByStatus(tx, {
      status: sel.status,
      limit: REPLAY_BATCH,
      ...(sel.realmId ? { realmId: sel.realmId } : {}),
    });
    const ids = await requeueEvents(tx, due, replayedAt);
    return { kind: 'queued', ids, remaining: total - ids.length, replayedAt };
  });
}
