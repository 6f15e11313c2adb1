import type { Company, EntityName, StoredRow } from '../core/company.ts';
import { Faults } from '../core/faults.ts';
import type { Condition, Literal, OrderItem } from './parser.ts';
import { defaultOrder, knownProperty } from './schema.ts';
import { parseInstant } from './time.ts';

/** A property path resolved against an entity: canonical top-level name plus the rest. */
export interface ResolvedPath {
  segments: string[];
  /** MetaData times are read from the row's stored instants, never re-parsed per row. */
  meta?: 'created' | 'updated';
  isId: boolean;
}

export type Predicate = (row: StoredRow) => boolean;

/** Top-level keys seen on stored objects, per table version (for seeded extra fields). */
type SeenKeys = { version: number; keys: Map<string, string> };
const seenKeys = new WeakMap<Company, Map<EntityName, SeenKeys>>();

function storedKey(company: Company, entity: EntityName, lower: string): string | undefined {
  let perCompany = seenKeys.get(company);
  if (!perCompany) seenKeys.set(company, (perCompany = new Map<EntityName, SeenKeys>()));
  let entry = perCompany.get(entity);
  if (!entry || entry.version !== company.version) {
    const keys = new Map<string, string>();
    for (const row of company.table(entity).values())
      for (const k of Object.keys(row.data)) keys.set(k.toLowerCase(), k);
    entry = { version: company.version, keys };
    perCompany.set(entity, entry);
  }
  return entry.keys.get(lower);
}

/** Resolves a (case-insensitive) property name, or throws QBO's 4001 for an unknown one. */
export function resolvePath(company: Company, entity: EntityName, name: string): ResolvedPath {
  const parts = name.split('.');
  const known = knownProperty(entity, parts[0]!);
  const top =
    known ??
    storedKey(company, entity, parts[0]!.toLowerCase()) ??
    (known === null ? parts[0] : undefined);
  // Wording as answered by QBO (4001 "Invalid query"), quoted in public client test suites.
  if (!top) throw Faults.invalidQuery(`Property ${parts[0]} not found for Entity ${entity}`);
  const rest = parts.slice(1);
  const segments = [top, ...rest];
  if (top === 'MetaData' && rest.length === 1) {
    const leaf = rest[0]!.toLowerCase();
    if (leaf === 'createtime') return { segments, meta: 'created', isId: false };
    if (leaf === 'lastupdatedtime') return { segments, meta: 'updated', isId: false };
  }
  return { segments, isId: top === 'Id' && rest.length === 0 };
}

/** Reads a path, matching each nested segment case-insensitively; references give `.value`. */
export function readPath(data: Record<string, unknown>, segments: string[]): unknown {
  let cur: unknown = data;
  for (const seg of segments) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    const obj = cur as Record<string, unknown>;
    if (seg in obj) cur = obj[seg];
    else {
      const lower = seg.toLowerCase();
      const key = Object.keys(obj).find((k) => k.toLowerCase() === lower);
      cur = key === undefined ? undefined : obj[key];
    }
  }
  // Reference fields (`CustomerRef`) compare on their value: `CustomerRef = '161'`.
  if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && 'value' in cur)
    return cur.value;
  return cur;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
const NUMERIC = /^[+-]?\d+(\.\d+)?$/;

function cmp(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function holds(op: Condition['op'], c: number): boolean {
  switch (op) {
    case '=':
    case 'IN':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '>':
      return c > 0;
    case '<=':
      return c <= 0;
    case '>=':
      return c >= 0;
    default:
      return false;
  }
}

/** A literal with everything the per-row comparison needs worked out once. */
interface Prepared {
  text: string;
  lower: string;
  bool: boolean | undefined;
  num: number;
  isDate: boolean;
  instant: number;
}

function prepare(lit: Literal, offsetMinutes: number): Prepared {
  const text =
    lit.type === 'string' ? lit.value : lit.type === 'number' ? lit.text : String(lit.value);
  const trimmed = text.trim();
  return {
    text,
    lower: text.toLowerCase(),
    bool:
      lit.type === 'boolean'
        ? lit.value
        : /^(true|false)$/i.test(trimmed)
          ? trimmed.toLowerCase() === 'true'
          : undefined,
    num: lit.type === 'number' ? lit.value : NUMERIC.test(trimmed) ? Number(trimmed) : NaN,
    isDate: DATE_ONLY.test(text),
    instant: DATE_TIME.test(text) || DATE_ONLY.test(text) ? parseInstant(text, offsetMinutes) : NaN,
  };
}

/**
 * Compares a stored value with a literal the way QBO types them: numbers numerically,
 * booleans as booleans, dates and date-times as instants, other strings
 * case-insensitively (QBO matches `DisplayName = 'gustavo roldan'` against
 * "Gustavo Roldan"). Returns undefined when the two cannot be compared (no match).
 */
function compareValue(stored: unknown, lit: Prepared, offsetMinutes: number): number | undefined {
  if (typeof stored === 'string') {
    if (stored === lit.text) return 0;
    if (!Number.isNaN(lit.num) && NUMERIC.test(stored)) return cmp(Number(stored), lit.num);
    if (lit.isDate && DATE_ONLY.test(stored)) return cmp(stored, lit.text);
    if (!Number.isNaN(lit.instant) && DATE_TIME.test(stored)) {
      const a = parseInstant(stored, offsetMinutes);
      if (!Number.isNaN(a)) return cmp(a, lit.instant);
    }
    return cmp(stored.toLowerCase(), lit.lower);
  }
  if (typeof stored === 'number') return Number.isNaN(lit.num) ? undefined : cmp(stored, lit.num);
  if (typeof stored === 'boolean')
    return lit.bool === undefined ? undefined : cmp(Number(stored), Number(lit.bool));
  return undefined;
}

function likeRegex(pattern: string): RegExp {
  const body = pattern
    .split('%')
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'is');
}

/** Turns one WHERE condition into a row predicate, with literals prepared once. */
export function compileCondition(company: Company, entity: EntityName, cond: Condition): Predicate {
  const path = resolvePath(company, entity, cond.property);
  if (path.isId && !['=', 'IN', '!='].includes(cond.op)) {
    // qbo-facts "Query language": Id supports only = and IN (and != is accepted in practice).
    throw Faults.invalidQuery(`Operator ${cond.op} is not supported for property Id`);
  }
  const offset = company.offsetMinutes;
  if (path.meta) {
    const field = path.meta === 'created' ? 'createdAt' : 'updatedAt';
    if (cond.op === 'LIKE')
      throw Faults.invalidQuery(`Operator LIKE is not supported for property ${cond.property}`);
    const instants = cond.values.map((v) => {
      const t = parseInstant(v.type === 'string' ? v.value : String(v.value), offset);
      if (Number.isNaN(t))
        throw Faults.invalidQuery(
          `Invalid date-time value for ${cond.property}: ${String(v.value)}`,
        );
      return t;
    });
    if (cond.op === 'IN') return (row) => instants.includes(row[field]);
    const t = instants[0]!;
    return (row) => holds(cond.op, cmp(row[field], t));
  }
  const segments = path.segments;
  if (cond.op === 'LIKE') {
    const re = likeRegex((cond.values[0] as { value: string }).value);
    return (row) => {
      const v = readPath(row.data, segments);
      return typeof v === 'string' && re.test(v);
    };
  }
  if (cond.op === 'IN') {
    const values = cond.values.map((v) => prepare(v, offset));
    return (row) => {
      const v = readPath(row.data, segments);
      return values.some((lit) => compareValue(v, lit, offset) === 0);
    };
  }
  const lit = prepare(cond.values[0]!, offset);
  const op = cond.op;
  return (row) => {
    const c = compareValue(readPath(row.data, segments), lit, offset);
    return c !== undefined && holds(op, c);
  };
}

// ---- ordering --------------------------------------------------------------------------

type Key = number | string | undefined;

const idNumber = (row: StoredRow): number => {
  const n = Number(row.data.Id);
  return Number.isNaN(n) ? 0 : n;
};

function compareKeys(a: Key, b: Key): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1;
  return a < b ? -1 : 1;
}

function orderKey(row: StoredRow, path: ResolvedPath): Key {
  if (path.meta === 'created') return row.createdAt;
  if (path.meta === 'updated') return row.updatedAt;
  const v = readPath(row.data, path.segments);
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return Number(v);
  if (typeof v === 'string') return NUMERIC.test(v) ? Number(v) : v;
  return undefined;
}

function sortRows(rows: StoredRow[], keyOf: (r: StoredRow) => Key, desc: boolean): StoredRow[] {
  const keyed = rows.map((row, i) => ({ row, key: keyOf(row), i }));
  keyed.sort((a, b) => (desc ? -1 : 1) * compareKeys(a.key, b.key) || a.i - b.i);
  return keyed.map((k) => k.row);
}

type CachedOrder = { version: number; rows: StoredRow[] };
const orderCache = new WeakMap<Company, Map<string, CachedOrder>>();
const MAX_CACHED_ORDERS = 64;

function cached(
  company: Company,
  entity: EntityName,
  key: string,
  build: () => StoredRow[],
): StoredRow[] {
  // The size check also catches a table cleared in place (seed replace) without a put.
  const size = company.table(entity).size;
  let perCompany = orderCache.get(company);
  if (!perCompany) orderCache.set(company, (perCompany = new Map<string, CachedOrder>()));
  const hit = perCompany.get(key);
  if (hit && hit.version === company.version && hit.rows.length === size) return hit.rows;
  const rows = build();
  if (perCompany.size >= MAX_CACHED_ORDERS) perCompany.clear();
  perCompany.set(key, { version: company.version, rows });
  return rows;
}

/** Rows of an entity in QBO's default order (see schema.ts `defaultOrder`), cached per version. */
function defaultOrdered(company: Company, entity: EntityName): StoredRow[] {
  return cached(company, entity, entity, () => {
    const rows = [...company.table(entity).values()];
    const order = defaultOrder(entity);
    if (order.kind === 'updated-desc') {
      return rows.sort((a, b) => b.updatedAt - a.updatedAt || idNumber(b) - idNumber(a));
    }
    const nameOf = (r: StoredRow): string => {
      const d = r.data as Record<string, unknown>;
      const v = d[order.property] ?? d.DisplayName ?? d.Name;
      return typeof v === 'string' ? v : '';
    };
    const keyed = rows.map((row) => ({ row, name: nameOf(row), id: idNumber(row) }));
    keyed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id));
    return keyed.map((k) => k.row);
  });
}

/**
 * Builds the orders a client paging through `entity` asks for first — QBO's default, and
 * `ORDERBY Id`, the stable one a full sync uses — so the first such query does not sort the
 * whole table inside a request. A sort of 150,000 rows holds this single-threaded server for
 * 100–200 ms, and requests arriving meanwhile are counted against the rate limits only when
 * it ends: bunched, they were answered 429 although their clients had spaced them (QBO counts
 * a request on arrival; bench/sync.md). The seed calls it once per entity.
 */
export function warmOrders(company: Company, entity: EntityName): void {
  sortedBy(company, entity, [{ path: resolvePath(company, entity, 'Id'), desc: false }]);
}

/** Rows in ORDERBY order (ties keep the default order), cached per table version. */
export function orderedRows(
  company: Company,
  entity: EntityName,
  orderBy: OrderItem[],
): StoredRow[] {
  if (orderBy.length === 0) return defaultOrdered(company, entity);
  const paths = orderBy.map((o) => ({
    path: resolvePath(company, entity, o.property),
    desc: o.desc,
  }));
  return sortedBy(company, entity, paths);
}

/** The default order re-sorted by `paths`, cached under a key naming them. */
function sortedBy(
  company: Company,
  entity: EntityName,
  paths: { path: ReturnType<typeof resolvePath>; desc: boolean }[],
): StoredRow[] {
  const base = defaultOrdered(company, entity);
  const key = `${entity}|${paths.map((p) => `${p.path.segments.join('.')}:${p.desc ? 'd' : 'a'}`).join(',')}`;
  return cached(company, entity, key, () => {
    let rows = base;
    // Stable sorts from the last key to the first give a multi-key order.
    for (let i = paths.length - 1; i >= 0; i -= 1) {
      const { path, desc } = paths[i]!;
      rows = sortRows(rows, (r) => orderKey(r, path), desc);
    }
    return rows;
  });
}
