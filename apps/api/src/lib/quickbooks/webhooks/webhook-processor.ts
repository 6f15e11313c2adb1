// Processing stored webhook events: the 'qbo.webhook-process' job's work.
//
// Rules, and why:
//   * The database is the record. Events are claimed from qbo_webhook_events (pending and
//     due, or claimed by a worker that died: a lease), so a crash after the 200, or during
//     processing, loses nothing; the next run (a new delivery, the periodic sweep, the
//     start-up sweep) takes them again.
//   * A notification says only "this object changed" (docs "Webhooks": no data). The
//     processor never trusts its order or operation for the data: it reads each changed
//     object's current state from QBO and lets the sync engine's upsert keep the newer
//     version (LastUpdatedTime, then SyncToken). Duplicated, late and reordered deliveries
//     therefore end in the same mirror as ordered ones.
//   * Coalesced: everything claimed together is grouped per realm + entity, each id once,
//     and read in as few calls as QBO allows — one CDC call for a realm when several entities
//     changed, else `Id IN (…)` queries (QBO meters every read: docs/qbo-facts.md, App
//     Partner Program). Never one GET per id.
//   * Operations: Create/Update/Void/Emailed -> the object as QBO now has it. Delete -> a
//     transaction QBO no longer returns becomes a deletion stub; a name list "deleted"
//     (deactivated, still returned with Active=false) is stored as returned. Merge -> the
//     survivor is read, the loser (`deletedId`) too: stored as returned or as deleted, and
//     pointed at the survivor (`merged_into_qbo_id`).
//   * Not mirrored entities (Bill…) and realms this service does not hold a live connection
//     for are stored and reported (`skipped`, with the reason), never fetched.
//   * Failures (QBO down, throttled past the client's retries) go back to `pending` with an
//     exponential backoff; after `maxAttempts` an event ends `failed` with the reason. An
//     authorization failure (the company must be reconnected) fails at once. A lost
//     notification is caught by the sync engine's next CDC run.
import type { Kysely } from 'kysely';
import type { Database, QboEntityType } from '../../../db/schema.ts';
import { MIRROR_TABLES } from '../../../db/schema.ts';
import { QuickBooksError } from '../errors.ts';
import type { Clock } from '../ports.ts';
import { NAME_LIST_ENTITIES } from '../sync/entities.ts';
import { touchCursor } from '../sync/cursors.ts';
import { refreshCustomerBalances } from '../sync/balances.ts';
import { markMerged, upsertMirror } from '../sync/upsert.ts';
import { parseDelivery, type EntityChange } from './payload.ts';
import {
  claimDueEvents,
  recordOutcomes,
  renewClaims,
  type EventOutcome,
  type ClaimedEvent,
} from './webhook-events.repo.ts';

/** The reads the processor makes of QBO (built on the API client: see qbo-reader.ts). */
export interface QboReader {
  /** `select * from <Entity> where Id in (…)`, inactive name-list objects included. */
  fetchByIds(
    realmId: string,
    entity: QboEntityType,
    ids: readonly string[],
  ): Promise<Record<string, unknown>[]>;
  /** One CDC call: the changed objects (and deletion stubs) per entity since `since`. */
  cdc(
    realmId: string,
    entities: readonly QboEntityType[],
    since: Date,
  ): Promise<Map<string, Record<string, unknown>[]>>;
}

export interface ProcessorOptions {
  /** Events claimed per round. Default 500. */
  batchSize?: number;
  /**
   * A claim not renewed for this long is taken again (its worker died). The worker renews
   * its claims every third of it while it works. Default 30 s.
   */
  leaseMs?: number;
  /** Attempts before an event ends `failed`. Default 8. */
  maxAttempts?: number;
  /** First retry delay, doubling per attempt (capped at 1 hour). Default 10 s. */
  retryBaseMs?: number;
  /** CDC looks back at most 30 days (docs change-data-capture); older changes use Id IN. */
  cdcMaxAgeMs?: number;
}

export interface ProcessRound {
  claimed: number;
  processed: number;
  skipped: number;
  failed: number;
  retrying: number;
  /** QBO reads made (CDC calls + Id IN queries). */
  qboCalls: number;
  /** Entity notifications in the claimed events. */
  notifications: number;
}

const emptyRound = (): ProcessRound => ({
  claimed: 0,
  processed: 0,
  skipped: 0,
  failed: 0,
  retrying: 0,
  qboCalls: 0,
  notifications: 0,
});

const MIRRORED = new Set<string>(Object.keys(MIRROR_TABLES));
type MergeableEntity = Parameters<typeof markMerged>[2];
/** QBO Ids are decimal strings; another value names no object and is not fetched. */
const QBO_ID = /^[0-9]{1,20}$/;
const DAY = 24 * 3_600_000;
/** How long a claim holds without renewal (the worker renews every third of it). */
export const DEFAULT_CLAIM_LEASE_MS = 30_000;
// CDC's changedSince is compared with LastUpdatedTime; a margin covers clock skew between
// Intuit's notification time and the object's own timestamp. It is kept short: a CDC answer
// holds at most 1,000 objects, oldest first (docs change-data-capture; docs/qbo-facts.md),
// so a minute of look-back in a busy company (100 changes/s) is truncated before the
// notified objects and every id falls back to `Id IN` — more calls, not fewer
// (bench/webhooks.md). An object the answer misses is still read by `Id IN`.
const CDC_MARGIN_MS = 5_000;

type Key = string; // `${realmId}\u0000${entity}`
const keyOf = (realmId: string, entity: string): Key => `${realmId}\u0000${entity}`;

interface GroupResult {
  /** Ids of this group the mirror now reflects (fetched, or stored as deleted). */
  applied: Set<string>;
  skipped?: string;
  error?: { message: string; permanent: boolean };
}

export class WebhookProcessor {
  private readonly o: Required<ProcessorOptions>;

  constructor(
    private readonly d: { db: Kysely<Database>; clock: Clock; qbo: QboReader },
    options: ProcessorOptions = {},
  ) {
    this.o = {
      batchSize: options.batchSize ?? 500,
      leaseMs: options.leaseMs ?? DEFAULT_CLAIM_LEASE_MS,
      maxAttempts: options.maxAttempts ?? 8,
      retryBaseMs: options.retryBaseMs ?? 10_000,
      cdcMaxAgeMs: options.cdcMaxAgeMs ?? 29 * DAY,
    };
  }

  /** Processes every due event, round after round, until none is left. */
  async drain(signal?: AbortSignal): Promise<ProcessRound> {
    const total = emptyRound();
    while (!signal?.aborted) {
      const r = await this.round();
      if (r.claimed === 0) break;
      for (const k of Object.keys(total) as (keyof ProcessRound)[]) total[k] += r[k];
    }
    return total;
  }

  /** Claims one batch of due events and processes it. */
  async round(): Promise<ProcessRound> {
    const now = new Date(this.d.clock.now());
    const events = await claimDueEvents(this.d.db, {
      now,
      limit: this.o.batchSize,
      leaseMs: this.o.leaseMs,
    });
    const round = { ...emptyRound(), claimed: events.length };
    if (!events.length) return round;
    const ids = events.map((e) => e.id);
    const beat = setInterval(() => {
      renewClaims(this.d.db, ids, new Date(this.d.clock.now())).catch(() => {});
    }, this.o.leaseMs / 3);
    try {
      await this.process(events, round, now);
    } finally {
      clearInterval(beat);
    }
    return round;
  }

  /** When this processor's claims lapse if nobody renews them. */
  get leaseMs(): number {
    return this.o.leaseMs;
  }

  private async process(events: ClaimedEvent[], round: ProcessRound, now: Date): Promise<void> {
    const changesOf = new Map<string, EntityChange[]>();
    const groups = new Map<Key, EntityChange[]>();
    for (const e of events) {
      const changes = readChanges(e);
      changesOf.set(e.id, changes);
      round.notifications += changes.length;
      for (const c of changes) {
        const k = keyOf(c.realmId, c.entity);
        const list = groups.get(k);
        if (list) list.push(c);
        else groups.set(k, [c]);
      }
    }

    const results = new Map<Key, GroupResult>();
    const byRealm = new Map<string, Map<string, EntityChange[]>>();
    for (const [k, changes] of groups) {
      const [realmId, entity] = k.split('\u0000') as [string, string];
      let m = byRealm.get(realmId);
      if (!m) byRealm.set(realmId, (m = new Map<string, EntityChange[]>()));
      m.set(entity, changes);
    }
    const live = await this.liveRealms([...byRealm.keys()]);
    for (const [realmId, entities] of byRealm) {
      const realmProblem = live.get(realmId) ?? `realm ${realmId} is not connected to this service`;
      const mirrored = new Map<QboEntityType, EntityChange[]>();
      for (const [entity, changes] of entities) {
        if (realmProblem !== 'connected') {
          results.set(keyOf(realmId, entity), { applied: new Set(), skipped: realmProblem });
        } else if (!MIRRORED.has(entity)) {
          results.set(keyOf(realmId, entity), {
            applied: new Set(),
            skipped: `${entity} is not mirrored`,
          });
        } else {
          mirrored.set(entity as QboEntityType, changes);
        }
      }
      if (!mirrored.size) continue;
      try {
        const { applied, calls } = await this.applyRealm(realmId, mirrored, now);
        round.qboCalls += calls;
        for (const [entity, ids] of applied) {
          results.set(keyOf(realmId, entity), { applied: ids });
        }
      } catch (err) {
        const error = describe(err);
        for (const entity of mirrored.keys()) {
          results.set(keyOf(realmId, entity), { applied: new Set(), error });
        }
      }
    }

    const outcomes = events.map((e) => this.outcomeOf(e, changesOf.get(e.id)!, results, now));
    for (const o of outcomes) {
      if (o.status === 'pending') round.retrying++;
      else round[o.status]++;
    }
    await recordOutcomes(this.d.db, outcomes, new Date(this.d.clock.now()));
  }

  /** `connected`, or why the realm's events are not fetched. */
  private async liveRealms(realmIds: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (!realmIds.length) return out;
    const rows = await this.d.db
      .selectFrom('qbo_connections')
      .select(['realm_id', 'status'])
      .where('realm_id', 'in', realmIds)
      .execute();
    for (const r of rows) {
      out.set(
        r.realm_id,
        r.status === 'connected'
          ? 'connected'
          : r.status === 'needs_reauth'
            ? `realm ${r.realm_id} needs to be reconnected (needs_reauth)`
            : `realm ${r.realm_id} is disconnected`,
      );
    }
    return out;
  }

  /**
   * Reads the current state of every changed object of one realm and writes it to the
   * mirror. One CDC call when several entities changed recently, `Id IN` for the rest.
   */
  private async applyRealm(
    realmId: string,
    byEntity: Map<QboEntityType, EntityChange[]>,
    now: Date,
  ): Promise<{ applied: Map<QboEntityType, Set<string>>; calls: number }> {
    const { qbo, db } = this.d;
    let calls = 0;
    const wanted = new Map<QboEntityType, Set<string>>();
    const merges: { entity: QboEntityType; loserId: string; survivorId: string; at: Date }[] = [];
    let oldest = Infinity;
    for (const [entity, changes] of byEntity) {
      const ids = new Set<string>();
      for (const c of changes) {
        if (!QBO_ID.test(c.id)) continue;
        ids.add(c.id);
        if (c.deletedId && c.deletedId !== c.id && QBO_ID.test(c.deletedId)) {
          ids.add(c.deletedId);
          if (NAME_LIST_ENTITIES.has(entity)) {
            merges.push({
              entity,
              loserId: c.deletedId,
              survivorId: c.id,
              at: new Date(c.lastUpdatedMs ?? now.getTime()),
            });
          }
        }
        oldest = Math.min(oldest, c.lastUpdatedMs ?? -Infinity);
      }
      wanted.set(entity, ids);
    }

    const found = new Map<QboEntityType, Map<string, Record<string, unknown>>>();
    for (const entity of wanted.keys()) found.set(entity, new Map());
    const readAt = new Date();
    const useCdc =
      wanted.size > 1 &&
      Number.isFinite(oldest) &&
      now.getTime() - oldest < this.o.cdcMaxAgeMs &&
      oldest <= now.getTime() + CDC_MARGIN_MS;
    if (useCdc) {
      const changed = await qbo.cdc(realmId, [...wanted.keys()], new Date(oldest - CDC_MARGIN_MS));
      calls++;
      // Only the notified objects: the others CDC returns are the sync engine's to apply, and
      // writing them here would multiply each round's work by the company's change rate.
      for (const [entity, objects] of changed) {
        const m = found.get(entity as QboEntityType);
        const ids = wanted.get(entity as QboEntityType);
        if (!m || !ids) continue;
        for (const o of objects) if (typeof o.Id === 'string' && ids.has(o.Id)) m.set(o.Id, o);
      }
    }
    // Ids CDC did not cover (or no CDC): `Id IN (…)`.
    for (const [entity, ids] of wanted) {
      const m = found.get(entity)!;
      const missing = [...ids].filter((id) => !m.has(id));
      if (!missing.length) continue;
      const objects = await qbo.fetchByIds(realmId, entity, missing);
      calls += Math.max(1, Math.ceil(missing.length / 1000));
      for (const o of objects) if (typeof o.Id === 'string') m.set(o.Id, o);
      // Not returned: QBO no longer has it (a deleted transaction, or a merged-away name).
      // Stamped now, so the stub wins over any version stored before the deletion.
      for (const id of missing) {
        if (!m.has(id)) {
          m.set(id, {
            Id: id,
            status: 'Deleted',
            domain: 'QBO',
            MetaData: { LastUpdatedTime: now.toISOString() },
          });
        }
      }
    }

    const applied = new Map<QboEntityType, Set<string>>();
    // Invoices and payments change their customers' balances without a Customer notification
    // (sync/balances.ts): the customers of those written are read again, in one `Id IN`.
    const transactions: { entity: QboEntityType; ids: string[] }[] = [];
    for (const [entity, objects] of found) {
      if (objects.size) {
        const r = await upsertMirror(db, realmId, entity, [...objects.values()], 'webhook', readAt);
        if (r.writtenIds.length) transactions.push({ entity, ids: r.writtenIds });
      }
      await touchCursor(db, realmId, entity, 'last_webhook_at', now);
      applied.set(entity, new Set([...wanted.get(entity)!].filter((id) => objects.has(id))));
    }
    const fetchCustomers = async (ids: readonly string[]) => {
      calls += Math.max(1, Math.ceil(ids.length / 1000));
      return qbo.fetchByIds(realmId, 'Customer', ids);
    };
    for (const t of transactions) {
      await refreshCustomerBalances(db, fetchCustomers, realmId, t.entity, t.ids, 'webhook');
    }
    for (const entity of NAME_LIST_ENTITIES) {
      const of = merges.filter((m) => m.entity === entity);
      if (of.length) await markMerged(db, realmId, entity as MergeableEntity, of);
    }
    return { applied, calls };
  }

  private outcomeOf(
    e: ClaimedEvent,
    changes: EntityChange[],
    results: Map<Key, GroupResult>,
    now: Date,
  ): EventOutcome {
    if (!changes.length) {
      return {
        id: e.id,
        status: 'skipped',
        reason: 'the delivery names no entity change this service can read',
        objectsApplied: 0,
      };
    }
    const skipped = new Set<string>();
    const errors: { message: string; permanent: boolean }[] = [];
    let applied = 0;
    let appliedChanges = 0;
    for (const c of changes) {
      const r = results.get(keyOf(c.realmId, c.entity));
      if (!r) continue;
      if (r.skipped) skipped.add(r.skipped);
      else if (r.error) errors.push(r.error);
      else {
        appliedChanges++;
        if (r.applied.has(c.id)) applied++;
      }
    }
    const skipNote = skipped.size ? `skipped: ${[...skipped].join('; ')}` : null;
    if (errors.length) {
      const message = errors[0]!.message;
      const permanent = errors.some((x) => x.permanent);
      if (permanent || e.attempts >= this.o.maxAttempts) {
        return {
          id: e.id,
          status: 'failed',
          reason: `${permanent ? 'failed' : `failed after ${e.attempts} attempts`}: ${message}`,
          objectsApplied: applied,
          lastError: message,
        };
      }
      const delay = Math.min(3_600_000, this.o.retryBaseMs * 2 ** Math.max(0, e.attempts - 1));
      return {
        id: e.id,
        status: 'pending',
        reason: `retrying: ${message}`,
        objectsApplied: applied,
        nextAttemptAt: new Date(now.getTime() + delay),
        lastError: message,
      };
    }
    if (!appliedChanges) {
      return { id: e.id, status: 'skipped', reason: [...skipped].join('; '), objectsApplied: 0 };
    }
    return {
      id: e.id,
      status: 'processed',
      reason: [`applied ${applied} of ${changes.length} changes`, skipNote]
        .filter(Boolean)
        .join('; '),
      objectsApplied: applied,
      lastError: null,
    };
  }
}

/** The entity changes of a stored event (its raw body, parsed again: the row is the record). */
function readChanges(e: ClaimedEvent): EntityChange[] {
  try {
    return parseDelivery(JSON.parse(e.raw_body)).changes;
  } catch {
    return [];
  }
}

// Reconnecting is a person's job: retrying cannot help.
const PERMANENT_KINDS = new Set(['qbo_auth', 'reauth_required', 'not_connected', 'oauth_grant']);

function describe(err: unknown): { message: string; permanent: boolean } {
  if (err instanceof QuickBooksError) {
    return { message: `${err.kind}: ${err.message}`, permanent: PERMANENT_KINDS.has(err.kind) };
  }
  return { message: err instanceof Error ? err.message : String(err), permanent: false };
}
