import type { SandboxContext } from '../core/context.ts';
import type { Company } from '../core/company.ts';
import { Faults, QboFault } from '../core/faults.ts';
import { executeOperation, type WriteOperation } from '../accounting/operations.ts';
import { runQuery } from '../query/run.ts';
import { requestIdTooLong } from '../accounting/requestid.ts';

const OPERATIONS: readonly WriteOperation[] = ['create', 'update', 'delete', 'void'];
/** Keys of a BatchItemRequest that are not the entity object. */
const ITEM_KEYS = new Set(['bId', 'operation', 'Query', 'optionsData']);

type Item = Record<string, unknown> & { bId: string };

/**
 * docs (error codes list): 1040 "Batch size exceeds allowed limit"; the Detail wording is
 * the sandbox's (⚠ not recorded). docs batch: at most 30 payloads per request.
 */
export function batchTooLarge(max: number, got: number): QboFault {
  return new QboFault(400, 'ValidationFault', [
    {
      Message: 'Batch size exceeds allowed limit',
      Detail: `The batch size for the batch request is too big. The batch limit size is ${max}. Supplied: ${got}`,
      code: '1040',
    },
  ]);
}

/** The request-level checks; a problem here fails the whole call (HTTP 400), not an item. */
export function parseBatchBody(raw: string, maxItems: number): Item[] {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (err) {
    throw Faults.malformedBody(`Request body is not valid JSON (${(err as Error).message})`);
  }
  const list = (body as { BatchItemRequest?: unknown } | null)?.BatchItemRequest;
  if (!Array.isArray(list)) throw Faults.requiredParam('BatchItemRequest');
  if (list.length > maxItems) throw batchTooLarge(maxItems, list.length);
  const seen = new Set<string>();
  return list.map((item: unknown, i) => {
    if (!item || typeof item !== 'object' || Array.isArray(item))
      throw Faults.malformedBody(`BatchItemRequest[${i}] is not an object`);
    const bId = (item as { bId?: unknown }).bId;
    // Without a bId an item's answer could not be matched to it, so QBO-style per-item
    // reporting is impossible: the sandbox rejects the call (⚠ Intuit does not document it).
    if (typeof bId !== 'string' || bId === '') throw Faults.requiredParam('bId');
    if (seen.has(bId))
      throw Faults.malformedBody(`bId "${bId}" is used by more than one BatchItemRequest`);
    seen.add(bId);
    return item as Item;
  });
}

function unsupportedOperation(operation: string): QboFault {
  // docs error codes: 500 "Unsupported Operation" — "Operation XXX is not supported."
  return new QboFault(400, 'ValidationFault', [
    {
      Message: 'Unsupported Operation',
      Detail: `Operation ${operation} is not supported.`,
      code: '500',
    },
  ]);
}

function runItem(
  ctx: SandboxContext,
  company: Company,
  item: Item,
  requestId: string | undefined,
): Record<string, unknown> {
  // Java SDK issue #180: with ?requestid= on the batch, each item's request_id is the
  // requestid followed by its bId, and every item whose pair exceeds 50 characters is
  // answered with fault 6000 (blog 2015-04-06: "36 characters … only 10 per batch ID").
  if (requestId !== undefined) {
    const itemRequestId = requestId + item.bId;
    if (itemRequestId.length > ctx.config.requestId.maxLength)
      throw requestIdTooLong(itemRequestId);
  }
  if (typeof item.Query === 'string') return runQuery(ctx, company, item.Query);
  const entities = Object.keys(item).filter((k) => !ITEM_KEYS.has(k));
  if (entities.length === 0) throw Faults.requiredParam('Query or an entity object');
  if (entities.length > 1)
    throw Faults.malformedBody(`one entity per BatchItemRequest, got ${entities.join(', ')}`);
  const entity = entities[0]!;
  const operation = item.operation;
  if (operation === undefined) throw Faults.requiredParam('operation');
  if (typeof operation !== 'string' || !OPERATIONS.includes(operation as WriteOperation))
    throw unsupportedOperation(JSON.stringify(operation));
  return executeOperation(ctx, company, {
    entity,
    operation: operation as WriteOperation,
    body: item[entity],
  });
}

/**
 * Runs the items in order (blog 2017-07-27: "performed serially") and answers each by
 * bId: the entity, the QueryResponse, or a Fault (rec batch/basic). One item's fault never
 * stops the next.
 */
export function runBatch(
  ctx: SandboxContext,
  company: Company,
  items: Item[],
  requestId: string | undefined,
): Record<string, unknown>[] {
  return items.map((item) => {
    try {
      return { ...runItem(ctx, company, item, requestId), bId: item.bId };
    } catch (err) {
      if (err instanceof QboFault) return { Fault: err.toFaultObject(), bId: item.bId };
      console.error('[qbo-sandbox] batch item failed', err);
      return { Fault: Faults.systemFault().toFaultObject(), bId: item.bId };
    }
  });
}
