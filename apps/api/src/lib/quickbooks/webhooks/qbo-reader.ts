// The processor's reads of QBO, on the one API client (rate limits, retries, request log):
// `Id IN` queries through the sync engine's fetchByIds, and one /cdc call for many entities.
import type { QboApiClient } from '../client/api-client.ts';
import { fetchByIds } from '../sync/fetch.ts';
import type { QboReader } from './webhook-processor.ts';

export function qboReader(api: QboApiClient): QboReader {
  return {
    fetchByIds: (realmId, entity, ids) => fetchByIds(api, realmId, entity, ids),
    cdc: async (realmId, entities, since) =>
      cdcObjects(await api.cdc(realmId, [...entities], since)),
  };
}

/**
 * The objects of a /cdc answer, per entity: `{"CDCResponse":[{"QueryResponse":[{"Customer":
 * […]},{"Invoice":[…]}]}]}`, deleted objects as `{"status":"Deleted","Id",…}` stubs (docs
 * change-data-capture; rec cdc/basic).
 */
export function cdcObjects(body: Record<string, unknown>): Map<string, Record<string, unknown>[]> {
  const out = new Map<string, Record<string, unknown>[]>();
  const responses: unknown[] = Array.isArray(body.CDCResponse) ? body.CDCResponse : [];
  for (const r of responses) {
    const qrs: unknown = (r as { QueryResponse?: unknown } | null)?.QueryResponse;
    if (!Array.isArray(qrs)) continue;
    for (const qr of qrs as unknown[]) {
      if (!qr || typeof qr !== 'object') continue;
      for (const [entity, v] of Object.entries(qr)) {
        if (!Array.isArray(v)) continue;
        const objects = (v as unknown[]).filter(
          (o): o is Record<string, unknown> => typeof o === 'object' && o !== null,
        );
        out.set(entity, [...(out.get(entity) ?? []), ...objects]);
      }
    }
  }
  return out;
}
