import type { Company, EntityName, QboObject } from '../src/core/company.ts';
import { recordingJson } from './recordings.ts';

export interface Recording {
  request: { method: string; path_and_query: string; path_and_query_inferred?: string };
  response: { status: number; headers: Record<string, string>; body: any };
}

export function recording(name: string): Recording {
  // Real QBO traffic recorded by minimul/qbo_api (fixtures/qbo-recordings/README.md).
  return recordingJson<Recording>(`qbo_api/${name}.json`);
}

/** The recorded request path with the realm put back, e.g. `/query?query=SELECT…`. */
export function recordedPath(rec: Recording): string {
  const full = rec.request.path_and_query_inferred ?? rec.request.path_and_query;
  return full.replace('/v3/company/{realmId}', '');
}

/** The objects of one entity in a recorded QueryResponse (or CDC QueryResponse). */
export function recordedObjects(name: string, entity: string): QboObject[] {
  const body = recording(name).response.body as { QueryResponse: Record<string, unknown> };
  return (body.QueryResponse[entity] as QboObject[] | undefined) ?? [];
}

/** Stores recorded objects as QBO had them: same Ids, same CreateTime/LastUpdatedTime. */
export function load(company: Company, entity: EntityName, objects: QboObject[]): void {
  for (const obj of objects) {
    const copy = structuredClone(obj);
    company.put(entity, copy, Date.parse(copy.MetaData.LastUpdatedTime), null);
    company.table(entity).get(copy.Id)!.createdAt = Date.parse(copy.MetaData.CreateTime);
  }
}
