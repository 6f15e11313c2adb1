// Who wants to know when mirror rows change. The upsert calls every registered listener
// after it wrote Invoice or Payment rows (write-back keeps campaign_invoices' QBO balance,
// paid and voided columns in step with them). A module-level registry, because the writers
// (full sync, CDC, webhooks, write-back) are many and the listeners few and static.
import type { Kysely } from 'kysely';
import type { Database, QboEntityType } from '../../../db/schema.ts';

export type MirrorListener = (
  db: Kysely<Database>,
  realmId: string,
  entity: QboEntityType,
  qboIds: string[],
) => Promise<void>;

const listeners = new Set<MirrorListener>();

/** Registers `listener`; returns the function that removes it. */
export function onMirrorWrite(listener: MirrorListener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/** Entities whose writes are announced. */
export const ANNOUNCED_ENTITIES: ReadonlySet<QboEntityType> = new Set(['Invoice', 'Payment']);

/**
 * Calls every listener in registration order. A listener's failure propagates: the caller's
 * job then retries, and the upsert it retries is idempotent.
 */
export async function notifyMirrorWrite(
  db: Kysely<Database>,
  realmId: string,
  entity: QboEntityType,
  qboIds: string[],
): Promise<void> {
  if (qboIds.length === 0 || !ANNOUNCED_ENTITIES.has(entity)) return;
  for (const listener of [...listeners]) await listener(db, realmId, entity, qboIds);
}
