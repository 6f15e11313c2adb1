// Group commit of deliveries (PGlite; Postgres too when DATABASE_URL is set): what arrives
// while a write is in flight is stored in the next statement, and must end exactly as if
// each delivery had been stored alone.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { forEachDatabase } from '../../../../test/db-helpers.ts';
import { newDelivery } from '../../../../test/webhook-helpers.ts';
import { DeliveryWriter } from './delivery-writer.ts';

describe('DeliveryWriter', () => {
  forEachDatabase((t) => {
    it('deliveries written together are each stored once; copies count on one row; a bad one fails alone', async () => {
      const { db } = t();
      const writer = new DeliveryWriter(db);
      const realmId = `dw${randomBytes(5).toString('hex')}`;
      const first = newDelivery(realmId, '1');
      // All in one tick: the first is written at once, the rest wait and go together.
      const stored = await Promise.all([
        writer.write(first),
        writer.write(newDelivery(realmId, '2')),
        writer.write(newDelivery(realmId, '3')),
        writer.write(newDelivery(realmId, '3')),
        writer.write(newDelivery(realmId, '3')),
        writer.write({ ...newDelivery(realmId, '3'), signatureValid: false, status: 'rejected' }),
        writer.write(first),
      ]);
      expect(stored.map((s) => s.duplicate)).toEqual([
        false,
        false,
        false,
        true,
        true,
        false,
        true,
      ]);
      expect(stored[6].id).toBe(stored[0].id);
      expect(new Set([stored[3].id, stored[4].id])).toEqual(new Set([stored[2].id]));
      // A row the database refuses (trace id over 200 characters) fails its own write only.
      const [bad, good] = await Promise.allSettled([
        writer.write(first),
        writer.write(newDelivery(realmId, '4', { intuitTid: 'x'.repeat(201) })),
        writer.write(newDelivery(realmId, '5')),
      ]).then((r) => r.slice(1));
      expect(bad!.status).toBe('rejected');
      expect(good!.status).toBe('fulfilled');

      const rows = await db
        .selectFrom('qbo_webhook_events')
        .select(['id', 'deliveries', 'status', 'signature_valid'])
        .where('realm_id', '=', realmId)
        .execute();
      const byId = new Map(rows.map((r) => [r.id, r]));
      expect(rows).toHaveLength(5);
      expect(byId.get(stored[0].id)!.deliveries).toBe(3);
      expect(byId.get(stored[1].id)!.deliveries).toBe(1);
      expect(byId.get(stored[2].id)!.deliveries).toBe(3);
      expect(byId.get(stored[5].id)).toMatchObject({ status: 'rejected', signature_valid: false });
    });
  });
});
