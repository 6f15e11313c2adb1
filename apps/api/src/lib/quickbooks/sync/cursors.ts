// qbo_sync_cursors: one row per realm and entity. The time cursors only move forward: a
// late or replayed writer (a webhook processed after a newer CDC run) never moves one back.
import { sql, type Kysely } from 'kysely';
import type { Database, QboEntityType } from '../../../db/schema.ts';

export type CursorField = 'last_full_sync_at' | 'last_cdc_at' | 'last_webhook_at';

export async function touchCursor(
  db: Kysely<Database>,
  realmId: string,
  entity: QboEntityType,
  field: CursorField,
  at: Date,
): Promise<void> {
  await db
    .insertInto('qbo_sync_cursors')
    .values({ realm_id: realmId, entity_type: entity, [field]: at })
    .onConflict((oc) =>
      oc.columns(['realm_id', 'entity_type']).doUpdateSet({
        [field]: sql<Date>`greatest(${sql.ref(`qbo_sync_cursors.${field}`)}, ${at})`,
        updated_at: sql<Date>`now()`,
      }),
    )
    .execute();
}

/** The realm's cursor rows, by entity (absent entities have never been synced). */
export async function readCursors(db: Kysely<Database>, realmId: string) {
  const rows = await db
    .selectFrom('qbo_sync_cursors')
    .selectAll()
    .where('realm_id', '=', realmId)
    .execute();
  return new Map(rows.map((r) => [r.entity_type, r]));
}
