// Shared by the sync engine's tests: a seeded sandbox company, changes made through the QBO
// API (as a QuickBooks user's edits would reach QBO), and the field-by-field comparison of
// the mirror with what QBO holds.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { seedCompany, type Company, type Sandbox } from 'qbo-sandbox';
import { expect } from 'vitest';
import { MIRROR_TABLES, type Database, type QboEntityType } from '../src/db/schema.ts';
import type { QboApiClient } from '../src/lib/quickbooks/client/api-client.ts';
import { MAPPERS } from '../src/lib/quickbooks/mappers/index.ts';
import { SYNC_ENTITIES } from '../src/lib/quickbooks/sync/entities.ts';
import { connectRealm, control, type TestService } from './service-harness.ts';

/** A company seeded with `entities` objects in all, connected to the service. */
export async function seededRealm(
  svc: TestService,
  sandbox: Sandbox,
  entities: number,
  seed = 11,
): Promise<{ realmId: string; company: Company }> {
  const company = sandbox.addCompany({ companyName: `Sync Co ${randomUUID().slice(0, 6)}` });
  seedCompany(company, { seed, entities, bills: 0 });
  await connectRealm(svc, company.realmId);
  return { realmId: company.realmId, company };
}

/** QBO writes as a user's edits reach QBO: through the Accounting API. */
export function qboEdits(api: QboApiClient, realmId: string) {
  const rid = () => randomUUID().replaceAll('-', '');
  const read = (entity: string, id: string) => api.read(realmId, entity, id);
  return {
    read,
    create: (entity: string, body: Record<string, unknown>) =>
      api.create(realmId, entity, body, rid()),
    async sparse(entity: string, id: string, fields: Record<string, unknown>) {
      const current = await read(entity, id);
      return api.update(
        realmId,
        entity,
        { Id: id, SyncToken: current.SyncToken, sparse: true, ...fields },
        rid(),
      );
    },
    async operation(entity: string, id: string, operation: 'delete' | 'void') {
      const current = await read(entity, id);
      await api.request(realmId, {
        method: 'POST',
        path: `/${entity.toLowerCase()}`,
        query: { operation },
        body: { Id: id, SyncToken: current.SyncToken },
        requestId: rid(),
      });
    },
  };
}

/** Ids of the company's objects of an entity, in Id order. */
export function idsOf(company: Company, entity: QboEntityType): string[] {
  return [...company.table(entity).keys()].sort((a, b) => Number(a) - Number(b));
}

/**
 * Every object QBO holds is in the mirror, equal field by field (raw, and every typed column
 * as the mapper derives it), inactive ones included; every mirror row QBO does not hold is
 * marked deleted.
 */
export async function expectMirrorEqualsQbo(
  db: Kysely<Database>,
  company: Company,
  entities: readonly QboEntityType[] = SYNC_ENTITIES,
): Promise<void> {
  for (const entity of entities) {
    const rows = (await (db as Kysely<any>)
      .selectFrom(MIRROR_TABLES[entity])
      .selectAll()
      .where('realm_id', '=', company.realmId)
      .execute()) as Record<string, any>[];
    const mirror = new Map(rows.map((r) => [r.qbo_id as string, r]));
    const qbo = company.table(entity);
    const live = rows.filter((r) => !r.is_deleted).map((r) => r.qbo_id as string);
    expect(live.sort(), `${entity}: live mirror ids`).toEqual([...qbo.keys()].sort());
    for (const [id, stored] of qbo) {
      const row = mirror.get(id)!;
      expect(row.raw, `${entity} ${id}: raw`).toEqual(JSON.parse(JSON.stringify(stored.data)));
      const expected = MAPPERS[entity].map(stored.data)!;
      for (const column of MAPPERS[entity].columns) {
        expect(normalise(row[column]), `${entity} ${id}: ${column}`).toEqual(
          normalise(expected[column]),
        );
      }
      expect(row.sync_token).toBe(stored.data.SyncToken);
    }
  }
}

/** Column values as comparable text: numeric '100.00' and mapped '100' are the same amount. */
function normalise(v: unknown): unknown {
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return v;
}

/** The sandbox's counters for the realm and the service's app. */
export async function sandboxStats(svc: TestService, realmId: string): Promise<any> {
  const r = await control(svc.sandbox, 'GET', `/stats?realmId=${realmId}&clientId=${svc.clientId}`);
  return r.body;
}

/** Polls GET /sync/status until the realm has no unfinished run; returns the last status. */
export async function waitForIdle(svc: TestService, realmId: string, ms = 120_000): Promise<any> {
  const end = Date.now() + ms;
  for (;;) {
    const { status, body } = await svc.admin(
      'GET',
      `/api/quickbooks/sync/status?realmId=${realmId}`,
    );
    if (status !== 200) throw new Error(`status: ${status} ${JSON.stringify(body)}`);
    const realm = body.realms[0];
    if (!realm.running) return realm;
    if (Date.now() > end) throw new Error(`sync still running: ${JSON.stringify(realm.running)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
