// Reading named objects back from QBO: `select * from <Entity> where Id in (…)`, up to 1,000
// ids a query (MAXRESULTS' maximum: qbo-facts "Query language"), inactive name-list objects
// included. An id QBO does not return no longer exists there (a deleted transaction, or an
// Id that never existed): the caller compares with `missingIds`.
import type { QboEntityType } from '../../../db/schema.ts';
import type { QboApiClient } from '../client/api-client.ts';
import { qboIdOf } from '../mappers/mapper.ts';
import { allObjectsFilter } from './entities.ts';

export const MAX_IDS_PER_QUERY = 1_000;

/** QBO Ids are decimal strings; anything else cannot name an object and is not asked for. */
const QBO_ID = /^[0-9]{1,20}$/;

export async function fetchByIds(
  client: QboApiClient,
  realmId: string,
  entity: QboEntityType,
  ids: readonly string[],
): Promise<Record<string, unknown>[]> {
  const wanted = [...new Set(ids.filter((id) => QBO_ID.test(id)))];
  const chunks: string[][] = [];
  for (let i = 0; i < wanted.length; i += MAX_IDS_PER_QUERY) {
    chunks.push(wanted.slice(i, i + MAX_IDS_PER_QUERY));
  }
  // Concurrent: the client's limiter paces them within the realm's limits.
  const pages = await Promise.all(
    chunks.map((chunk) => client.query(realmId, idsQuery(entity, chunk))),
  );
  return pages.flatMap((page) => objectsOf(page, entity));
}

export function idsQuery(entity: QboEntityType, ids: readonly string[]): string {
  const conditions = [allObjectsFilter(entity), `Id IN (${ids.map((id) => `'${id}'`).join(',')})`];
  return `SELECT * FROM ${entity} WHERE ${conditions.filter(Boolean).join(' AND ')} MAXRESULTS ${MAX_IDS_PER_QUERY}`;
}

/** The entity's objects in a QueryResponse (absent when the page is empty: rec alt_select-5). */
export function objectsOf(
  queryResponse: Record<string, unknown>,
  entity: QboEntityType,
): Record<string, unknown>[] {
  const list = queryResponse[entity];
  return Array.isArray(list)
    ? list.filter((o): o is Record<string, unknown> => typeof o === 'object' && o !== null)
    : [];
}

/** The ids asked for that QBO did not return. */
export function missingIds(
  ids: readonly string[],
  returned: readonly Record<string, unknown>[],
): string[] {
  const got = new Set(returned.map(qboIdOf));
  return [...new Set(ids)].filter((id) => !got.has(id));
}
