// Claims and their lease: a worker that dies in the middle of a round must not hold its
// events back for long, and a worker still working must not lose them to another.
import { expect, it } from 'vitest';
import { forEachDatabase } from '../../../../test/db-helpers.ts';
import { newDelivery } from '../../../../test/webhook-helpers.ts';
import { claimDueEvents, insertDeliveries, nextDueAt, renewClaims } from './webhook-events.repo.ts';

const LEASE = 30_000;
const T0 = Date.parse('2026-03-01T12:00:00Z');
const at = (ms: number) => new Date(T0 + ms);

forEachDatabase((t) => {
  it('a claim is taken again only once its worker stops renewing it for the lease', async () => {
    const { db } = t();
    const [stored] = await insertDeliveries(db, [
      newDelivery('4620816365000000001', '1', { receivedAt: at(0) }),
    ]);
    const id = stored!.id;
    const claim = async (ms: number) =>
      (await claimDueEvents(db, { now: at(ms), limit: 10, leaseMs: LEASE })).map((e) => e.id);

    expect(await claim(0)).toEqual([id]);
    expect(await claim(20_000)).toEqual([]);
    // The worker is alive: its beat at 20 s holds the events until 50 s.
    await renewClaims(db, [id], at(20_000));
    expect(await claim(40_000)).toEqual([]);
    expect(await nextDueAt(db, LEASE)).toEqual(at(50_000));
    // It died after that beat: another worker takes the event once the lease lapsed.
    expect(await claim(50_001)).toEqual([id]);
  });
});
