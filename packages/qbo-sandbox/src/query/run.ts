import type { SandboxContext } from '../core/context.ts';
import {
  entityFromName,
  isNameList,
  type Company,
  type EntityName,
  type QboObject,
} from '../core/company.ts';
import { Faults } from '../core/faults.ts';
import { JsonObjectText, storedJson } from '../core/json-text.ts';
import { compileCondition, orderedRows, resolvePath, type Predicate } from './evaluator.ts';
import { parseQuery } from './parser.ts';

/** docs "Query operations and syntax" / .NET SDK maintainers: MAXRESULTS defaults to 100. */
export const DEFAULT_MAX_RESULTS = 100;
/** docs: at most 1,000 entities per response; larger values are capped, not rejected ⚠. */
export const MAX_RESULTS_LIMIT = 1000;

function checkPaging(clause: { value: number } | undefined): void {
  // quickbooks-ruby fixture query_validation_error.xml: 4001 "value 0 is too small".
  if (clause && clause.value < 1)
    throw Faults.invalidQuery(`value ${clause.value} is too small. Min allowed value is 1`);
}

/** What a query selected: a count, or one page of stored objects (possibly empty). */
export type QuerySelection =
  | { kind: 'count'; total: number }
  | { kind: 'page'; entity: EntityName; rows: QboObject[]; start: number };

/**
 * Runs a QBO query and returns the body `{ QueryResponse: {…} }` (without `time`).
 * Throws a QboFault (4000 parse error, 4001 validation error) for a bad query.
 * Shared by /query and batch.
 */
export function runQuery(
  _ctx: SandboxContext,
  company: Company,
  text: string,
): Record<string, unknown> {
  return queryBody(selectRows(company, text));
}

function queryBody(selection: QuerySelection): Record<string, unknown> {
  if (selection.kind === 'count') {
    // rec all/customers-1: `{"QueryResponse":{"totalCount":41}}`; paging does not apply.
    return { QueryResponse: { totalCount: selection.total } };
  }
  const { entity, rows, start } = selection;
  // rec all/alt_select-5: a page past the end is an empty QueryResponse.
  if (rows.length === 0) return { QueryResponse: {} };
  // `maxResults` is the number of rows returned (rec all/vendors_by_5-7), which
  // node-quickbooks' fetchAll compares with the page size to decide whether to go on.
  return { QueryResponse: { [entity]: rows, startPosition: start, maxResults: rows.length } };
}

/**
 * The body of `runQuery` as JSON text, byte for byte what `JSON.stringify` of it gives,
 * with each row taken from its cached text (`storedJson`) rather than serialised again.
 */
export function runQueryJson(_ctx: SandboxContext, company: Company, text: string): JsonObjectText {
  const selection = selectRows(company, text);
  if (selection.kind === 'count' || selection.rows.length === 0)
    return JsonObjectText.of(JSON.stringify(queryBody(selection)));
  const { entity, rows, start } = selection;
  const chunks = new Array<Buffer>(rows.length * 2 + 1);
  chunks[0] = Buffer.from(`{"QueryResponse":{${JSON.stringify(entity)}:[`);
  for (let i = 0; i < rows.length; i += 1) {
    if (i > 0) chunks[i * 2] = COMMA;
    chunks[i * 2 + 1] = storedJson(rows[i]!);
  }
  chunks[rows.length * 2] = Buffer.from(
    `],"startPosition":${JSON.stringify(start)},"maxResults":${rows.length}}}`,
  );
  return new JsonObjectText(chunks);
}

const COMMA = Buffer.from(',');

/** Parses, validates and evaluates a query: the rows of the requested page, or a count. */
export function selectRows(company: Company, text: string): QuerySelection {
  const query = parseQuery(text);
  const entity = entityFromName(query.entity);
  // rec error/400-2: an unknown entity is a 4001 "invalid context declaration".
  if (!entity) throw Faults.invalidQuery(`invalid context declaration: ${query.entity}`);
  for (const p of query.projection) resolvePath(company, entity, p.value);
  checkPaging(query.startPosition);
  checkPaging(query.maxResults);

  const predicates: Predicate[] = query.where.map((c) => compileCondition(company, entity, c));
  // Name lists answer only active objects unless the query says otherwise about Active
  // (qbo-facts; rec get/inactive_vendors with `Active IN (true,false)`).
  const mentionsActive = query.where.some(
    (c) => c.property.split('.')[0]!.toLowerCase() === 'active',
  );
  if (isNameList(entity) && !mentionsActive)
    predicates.push((row) => (row.data as { Active?: unknown }).Active !== false);

  const rows = orderedRows(company, entity, query.orderBy);
  const matches = (row: (typeof rows)[number]): boolean => {
    for (const p of predicates) if (!p(row)) return false;
    return true;
  };

  if (query.count) {
    let total = 0;
    if (predicates.length === 0) total = rows.length;
    else for (const row of rows) if (matches(row)) total += 1;
    return { kind: 'count', total };
  }

  const start = query.startPosition?.value ?? 1;
  const max = Math.min(query.maxResults?.value ?? DEFAULT_MAX_RESULTS, MAX_RESULTS_LIMIT);
  const page: QboObject[] = [];
  if (predicates.length === 0) {
    for (let i = start - 1; i < rows.length && page.length < max; i += 1) page.push(rows[i]!.data);
  } else {
    let seen = 0;
    for (const row of rows) {
      if (!matches(row)) continue;
      seen += 1;
      if (seen < start) continue;
      page.push(row.data);
      if (page.length >= max) break;
    }
  }
  return { kind: 'page', entity, rows: page, start };
}
