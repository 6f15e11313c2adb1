import type { SandboxContext } from '../core/context.ts';
import {
  entityFromName,
  type Company,
  type EntityName,
  type QboObject,
  type StoredRow,
  type Tombstone,
} from '../core/company.ts';
import { Faults, QboFault } from '../core/faults.ts';
import { parseInstant } from './time.ts';

const DAY_MS = 86_400_000;

/**
 * Found in QBO answers quoted in client issue trackers (QuickBooksSharp #19): a look-back
 * beyond the window is refused as an unsupported operation. ⚠ The code is inferred from
 * QBO's other "Operation … is not supported" fault (rec error/500-1: code 500).
 */
function lookbackTooOld(changedSince: string): QboFault {
  return new QboFault(400, 'ValidationFault', [
    {
      Message: 'Unsupported Operation',
      Detail: `Operation cdc with changedSince date ${changedSince} which is older than fixed days is not supported.`,
      code: '500',
    },
  ]);
}

type Change =
  | { entity: EntityName; at: number; id: number; row: StoredRow }
  | { entity: EntityName; at: number; id: number; tomb: Tombstone };

/** The deleted-object stub CDC returns (rec cdc/basic; quickbooks-ruby *_changes.xml). */
function deletedStub(company: Company, tomb: Tombstone): Record<string, unknown> {
  return {
    domain: 'QBO',
    status: 'Deleted',
    Id: tomb.id,
    MetaData: { LastUpdatedTime: company.formatTime(tomb.deletedAt) },
  };
}

/**
 * Change Data Capture (docs change-data-capture): every object of the named entities
 * changed at or after `changedSince`, inactive name-list objects included, deleted
 * transactions as stubs. Returns `{ CDCResponse: [...] }` (without `time`).
 */
export function runCdc(
  ctx: SandboxContext,
  company: Company,
  params: { entities?: string | undefined; changedSince?: string | undefined },
): Record<string, unknown> {
  const entitiesText = params.entities?.trim();
  if (!entitiesText) throw Faults.requiredParam('entities');
  const sinceText = params.changedSince?.trim();
  if (!sinceText) throw Faults.requiredParam('changedSince');

  const entities: EntityName[] = [];
  for (const name of entitiesText.split(',')) {
    const trimmed = name.trim();
    if (!trimmed) continue;
    const entity = entityFromName(trimmed);
    if (!entity) throw Faults.invalidQuery(`invalid context declaration: ${trimmed}`);
    if (!entities.includes(entity)) entities.push(entity);
  }
  if (entities.length === 0) throw Faults.requiredParam('entities');

  const since = parseInstant(sinceText, company.offsetMinutes);
  if (Number.isNaN(since))
    throw Faults.invalidQuery(`changedSince ${sinceText} is not a valid date-time`);
  const now = ctx.state.clock.now();
  const oldest = now - ctx.config.cdc.maxLookbackDays * DAY_MS;
  if (since < oldest) throw lookbackTooOld(sinceText);
  company.pruneTombstones(oldest);

  const changes: Change[] = [];
  for (const entity of entities) {
    for (const row of company.table(entity).values())
      if (row.updatedAt >= since)
        changes.push({ entity, at: row.updatedAt, id: Number(row.data.Id) || 0, row });
    for (const tomb of company.tombstones.get(entity)!.values())
      if (tomb.deletedAt >= since)
        changes.push({ entity, at: tomb.deletedAt, id: Number(tomb.id) || 0, tomb });
  }

  // docs: "Server responses can handle a maximum of 1,000 objects. We suggest you query
  // for shorter time periods." ⚠ Which objects QBO keeps is not documented: the sandbox
  // keeps the oldest changes, so a caller that moves changedSince up to the last
  // LastUpdatedTime it received loses nothing.
  let kept = changes;
  if (changes.length > ctx.config.cdc.maxObjects) {
    kept = [...changes].sort((a, b) => a.at - b.at || a.id - b.id);
    kept = kept.slice(0, ctx.config.cdc.maxObjects);
  }

  const queryResponses = entities.map((entity) => {
    const mine = kept.filter((c) => c.entity === entity);
    if (mine.length === 0) return {};
    // Oldest change first (rec cdc/basic); deleted stubs after the live objects
    // (quickbooks-ruby change_data_capture_response.xml).
    const byTime = (a: Change, b: Change): number => a.at - b.at || a.id - b.id;
    const live = mine.filter((c): c is Extract<Change, { row: StoredRow }> => 'row' in c);
    const gone = mine.filter((c): c is Extract<Change, { tomb: Tombstone }> => 'tomb' in c);
    const objects: Array<QboObject | Record<string, unknown>> = [
      ...live.sort(byTime).map((c) => c.row.data),
      ...gone.sort(byTime).map((c) => deletedStub(company, c.tomb)),
    ];
    return { [entity]: objects, startPosition: 1, maxResults: objects.length };
  });
  return { CDCResponse: [{ QueryResponse: queryResponses }] };
}
