import { Faults, QboFault } from '../core/faults.ts';
import type { Company, EntityName, QboObject } from '../core/company.ts';
import { toBig, type Money } from './money.ts';

/**
 * Request validation with QBO's codes and messages. Sources are cited per fault; where
 * Intuit's answer is only known from third-party reports the comment says so.
 */

const fault = (Message: string, Detail: string, code: string, element?: string): QboFault =>
  new QboFault(400, 'ValidationFault', [
    element === undefined ? { Message, Detail, code } : { Message, Detail, code, element },
  ]);

/**
 * rec error/400_json: QBO's JSON binder (Jackson) names the unknown field and lists the
 * class's known properties, cut at 1000 characters with ` [truncated]`.
 */
export function unrecognizedField(
  property: string,
  entity: string,
  known: readonly string[],
): QboFault {
  let list = '';
  for (const [i, name] of known.entries()) {
    if (list.length > 1000) {
      list += ' [truncated]';
      break;
    }
    list += `${i === 0 ? '' : ', '}"${name}"`;
  }
  return fault(
    'Request has invalid or unsupported property',
    `Property Name:Unrecognized field "${property}" (class com.intuit.schema.finance.v3.${entity}), not marked as ignorable (${known.length} known properties: ${list}])\n specified is unsupported or invalid`,
    '2010',
  );
}

/** Jackson's answer to a reference sent as a bare string (python-quickbooks issue #24). */
export function notAnObject(value: unknown, className = 'ReferenceType'): QboFault {
  return Faults.malformedBody(
    `Can not instantiate value of type [simple type, class com.intuit.schema.finance.v3.${className}] from String value ('${String(value)}'); no single-String constructor/factory method`,
  );
}

export const requiredParam = (param: string): QboFault => Faults.requiredParam(param);

/**
 * A reference to an object that does not exist: 2500 with the reference's path as element
 * (QuickBooks-V3-PHP-SDK issue #102, quickbooks-ruby issue #251:
 * `Invalid Reference Id : Line.SalesItemLineDetail.ItemRef`).
 */
export const invalidReference = (path: string): QboFault =>
  fault('Invalid Reference Id', `Invalid Reference Id : ${path}`, '2500', path);

/**
 * A reference to an inactive name (QuickBooks-V3-PHP-SDK issue #110, cloud-elements/churros
 * #460): 2500, empty element.
 */
export const inactiveReference = (): QboFault =>
  fault(
    'Invalid Reference Id',
    "Invalid Reference Id : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.",
    '2500',
    '',
  );

/** IPP error codes 6080: a Customer/Vendor/Employee without any name part. */
export const noNameProvided = (): QboFault =>
  fault(
    'No Name Provided',
    'Title, GivenName, MiddleName, FamilyName, DisplayName, Suffix - one of these must be non-empty',
    '6080',
  );

/** IPP error codes 6070: a sales line whose Amount disagrees with Qty * UnitPrice. */
export const amountCalculationIncorrect = (supplied: string): QboFault =>
  fault(
    'Amount calculation incorrect in the request',
    `Amount is not equal to Qty * UnitPrice. Supplied value:${supplied}`,
    '6070',
  );

/** IPP error codes 6010. */
export const accountTypeMissing = (): QboFault =>
  fault(
    'Invalid Account.AccountType && Account.SubType',
    'Either an Account.AccountType or an Account.AccountSubType must be specified',
    '6010',
  );

/**
 * An operation the entity does not support, e.g. `operation=delete` on a Customer: QBO
 * answers "Unsupported Operation" (python-quickbooks issue #294); the detail wording is ours ⚠.
 */
export const unsupportedEntityOperation = (operation: string, entity: string): QboFault =>
  fault('Unsupported Operation', `Operation ${operation} is not supported for ${entity}.`, '500');

export const businessRule = (detail: string, element?: string): QboFault =>
  Faults.businessValidation(detail, element);

/** Parses the raw request text; malformed JSON is QBO's 2010 (Jackson parse error). */
export function parseJsonBody(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  if (raw.trim() === '') throw Faults.malformedBody('No content to map due to end-of-input');
  try {
    return JSON.parse(raw) as unknown;
  } catch (e) {
    throw Faults.malformedBody(`Unexpected character: ${(e as Error).message}`);
  }
}

export type Fields = Record<string, unknown>;

export function isObject(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The entity object of a request; anything but a JSON object is a 2010. */
export function asEntityBody(body: unknown, entity: string): Fields {
  if (!isObject(body))
    throw Faults.malformedBody(
      `Can not deserialize instance of com.intuit.schema.finance.v3.${entity} out of ${Array.isArray(body) ? 'START_ARRAY' : 'VALUE'} token`,
    );
  return body;
}

export function checkKnownProperties(entity: string, body: Fields, known: readonly string[]) {
  const set = new Set(known);
  for (const key of Object.keys(body))
    if (!set.has(key)) throw unrecognizedField(key, entity, known);
}

/** A non-empty trimmed string, or undefined. */
export function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export function bool(v: unknown, fallback: boolean): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return fallback;
}

/** A decimal field; a non-numeric value is the binder's 2010. */
export function decimal(v: unknown, path: string): Money | undefined {
  if (v === undefined || v === null) return undefined;
  const b = toBig(v);
  if (!b) throw Faults.malformedBody(`${path}: Can not construct instance of java.math.BigDecimal`);
  return b;
}

/** The `value` of a `{value, name}` reference, validating its JSON shape. */
export function refValue(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw notAnObject(v);
  return text(v.value);
}

/** Resolves a reference to an active object of `entity`, with QBO's 2500 answers. */
export function resolveRef(
  company: Company,
  entity: EntityName,
  ref: unknown,
  path: string,
  opts: { allowInactive?: boolean } = {},
): QboObject {
  const id = refValue(ref);
  if (id === undefined) throw requiredParam(path);
  const found = company.get(entity, id);
  if (!found) throw invalidReference(path);
  if (found.Active === false && !opts.allowInactive) throw inactiveReference();
  return found;
}

/** `{value, name}` with the name as QBO fills it from the referenced object. */
export function refTo(value: string, name?: unknown): Fields {
  return typeof name === 'string' ? { value, name } : { value };
}

/** Fields that the server owns and never takes from a request body. */
export const SYSTEM_FIELDS = ['Id', 'SyncToken', 'MetaData', 'domain', 'sparse', 'status'];

export function withoutSystemFields(body: Fields): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(body)) if (!SYSTEM_FIELDS.includes(k)) out[k] = v;
  return out;
}

/** Copies the keys that are present (not undefined) in order. */
export function pick(src: Fields, keys: readonly string[]): Fields {
  const out: Fields = {};
  for (const k of keys) if (src[k] !== undefined && src[k] !== null) out[k] = src[k];
  return out;
}
