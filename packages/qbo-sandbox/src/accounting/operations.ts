import type { SandboxContext } from '../core/context.ts';
import {
  entityFromName,
  type ChangeOperation,
  type Company,
  type EntityName,
  type QboObject,
} from '../core/company.ts';
import { formatQboDate } from '../core/clock.ts';
import { Faults } from '../core/faults.ts';
import { markVoided, refreshBalances, touch, touched } from './balances.ts';
import { KNOWN_PROPERTIES } from './entities/known-properties.ts';
import { SPECS } from './entities/registry.ts';
import { deepMerge, ensureSingleton } from './entities/company-info.ts';
import { stripSystem } from './entities/invoice.ts';
import type { EntitySpec, OpContext } from './entities/types.ts';
import {
  asEntityBody,
  checkKnownProperties,
  requiredParam,
  text,
  unsupportedEntityOperation,
  withoutSystemFields,
  type Fields,
} from './validate.ts';

export type WriteOperation = 'create' | 'update' | 'delete' | 'void';

export interface OperationInput {
  /** Entity name as sent (case-insensitive), e.g. "Invoice". */
  entity: string;
  operation: WriteOperation;
  /** The parsed JSON body of the entity (for batch: the item's entity object). */
  body: unknown;
  /** Extra query parameters, e.g. { include: 'void' } for node-quickbooks' payment void. */
  query?: Record<string, string>;
}

/**
 * The webhook/CDC operation reported when a name is made inactive. Intuit's webhook table
 * lists `Delete` for Customer, Vendor, Account, Item… although the API can only deactivate
 * them, so deactivation is what QBO reports as Delete (docs develop/webhooks) ⚠.
 */
export const DEACTIVATE_OPERATION: ChangeOperation = 'Delete';

/**
 * Performs one write as QBO would and returns the response body, e.g. `{ Invoice: {…} }`
 * (without `time`). Throws a QboFault on any validation error. Shared by the REST routes,
 * batch and the control API.
 */
export function executeOperation(
  ctx: SandboxContext,
  company: Company,
  input: OperationInput,
): Record<string, unknown> {
  return performOperation(ctx, company, input, { control: false });
}

/** As `executeOperation`; the control API may also write lists QBO's API cannot (TaxCode). */
export function performOperation(
  ctx: SandboxContext,
  company: Company,
  input: OperationInput,
  opts: { control: boolean },
): Record<string, unknown> {
  const entity = entityFromName(input.entity);
  if (!entity)
    throw Faults.unsupportedOperation(
      `/v3/company/${company.realmId}/${input.entity.toLowerCase()}`,
    );
  const spec = SPECS[entity];
  const body = asEntityBody(input.body, entity);
  checkKnownProperties(entity, body, KNOWN_PROPERTIES[entity]);
  const query = input.query ?? {};
  const now = ctx.state.clock.now();
  const op: OpContext = {
    ctx,
    company,
    now,
    today: formatQboDate(now, company.offsetMinutes),
    query,
  };
  let operation = input.operation;
  // node-quickbooks voidPayment: `?operation=update&include=void` with a sparse body.
  if (operation === 'update' && (query.include ?? '').toLowerCase() === 'void') operation = 'void';
  // A create carrying Id and SyncToken is an update (docs: "update … POST /{entity}").
  if (operation === 'create' && body.Id !== undefined && body.SyncToken !== undefined)
    operation = 'update';
  if (spec.kind === 'singleton' && operation === 'create') operation = 'update';
  switch (operation) {
    case 'create':
      return create(op, spec, body, opts);
    case 'update':
      return update(op, spec, body);
    case 'delete':
      return remove(op, spec, body);
    case 'void':
      return voidTxn(op, spec, body);
    default:
      throw Faults.unsupportedOperation(`/${entity.toLowerCase()}?operation=${String(operation)}`);
  }
}

function assemble(
  op: OpContext,
  fields: Fields,
  id: string,
  syncToken: string,
  createTime: string,
): QboObject {
  const clean: Fields = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) clean[k] = v;
  return {
    ...clean,
    domain: 'QBO',
    sparse: false,
    Id: id,
    SyncToken: syncToken,
    MetaData: { CreateTime: createTime, LastUpdatedTime: op.company.formatTime(op.now) },
  };
}

function commit(
  op: OpContext,
  entity: EntityName,
  before: QboObject | undefined,
  after: QboObject,
  operation: ChangeOperation,
): Record<string, unknown> {
  op.company.put(entity, after, op.now, operation);
  const t = touched();
  touch(t, entity, before);
  touch(t, entity, after);
  refreshBalances(op.company, t, op.now);
  return { [entity]: op.company.get(entity, after.Id) ?? after };
}

function create(
  op: OpContext,
  spec: EntitySpec,
  body: Fields,
  opts: { control: boolean },
): Record<string, unknown> {
  if (!spec.publicCreate && !opts.control) throw unsupportedEntityOperation('Create', spec.entity);
  const fields = spec.build({ op, fields: withoutSystemFields(body) });
  const id = op.company.allocateId(spec.entity);
  const created = assemble(op, fields, id, '0', op.company.formatTime(op.now));
  return commit(op, spec.entity, undefined, created, 'Create');
}

/** Id (a number, else 2030), the stored object (else 610) and a current SyncToken (else 5010). */
function current(op: OpContext, entity: EntityName, body: Fields): QboObject {
  const id = text(body.Id);
  if (id === undefined) throw requiredParam('Id');
  if (!/^\d+$/.test(id)) throw Faults.invalidId(id);
  const existing =
    entity === 'CompanyInfo' || entity === 'Preferences'
      ? ensureSingleton(op.company, entity)
      : op.company.get(entity, id);
  if (!existing) throw Faults.objectNotFound();
  const syncToken = text(body.SyncToken);
  if (syncToken === undefined) throw requiredParam('SyncToken');
  if (syncToken !== existing.SyncToken) throw Faults.staleObject();
  return existing;
}

function update(op: OpContext, spec: EntitySpec, body: Fields): Record<string, unknown> {
  const existing = current(op, spec.entity, body);
  const sent = withoutSystemFields(body);
  const sparse = body.sparse === true || body.sparse === 'true';
  let merged: Fields;
  if (spec.kind === 'singleton') merged = deepMerge(stripSystem(existing), sent);
  else merged = sparse ? { ...stripSystem(existing), ...sent } : sent;
  const fields = spec.build({ op, fields: merged, existing });
  // rec deactivate/account-2 and employee-2: deactivating a name that is already inactive
  // changes nothing, not even SyncToken or LastUpdatedTime.
  if (
    spec.kind === 'name' &&
    existing.Active === false &&
    fields.Active === false &&
    sameFields(fields, stripSystem(existing))
  )
    return { [spec.entity]: existing };
  const next = assemble(
    op,
    fields,
    existing.Id,
    String(Number(existing.SyncToken) + 1),
    existing.MetaData.CreateTime,
  );
  const deactivated = spec.kind === 'name' && existing.Active !== false && next.Active === false;
  return commit(op, spec.entity, existing, next, deactivated ? DEACTIVATE_OPERATION : 'Update');
}

function sameFields(a: Fields, b: Fields): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return false;
  return true;
}

/** rec delete/invoice-2: `{"Invoice":{"domain":"QBO","status":"Deleted","Id":"266"}}`. */
function remove(op: OpContext, spec: EntitySpec, body: Fields): Record<string, unknown> {
  if (spec.kind !== 'txn') throw unsupportedEntityOperation('Delete', spec.entity);
  const existing = current(op, spec.entity, body);
  op.company.remove(spec.entity, existing.Id, op.now, 'Delete');
  const t = touched();
  touch(t, spec.entity, existing);
  refreshBalances(op.company, t, op.now);
  return { [spec.entity]: { domain: 'QBO', status: 'Deleted', Id: existing.Id } };
}

function voidTxn(op: OpContext, spec: EntitySpec, body: Fields): Record<string, unknown> {
  if (!spec.voidable || !spec.voided) throw unsupportedEntityOperation('Void', spec.entity);
  const existing = current(op, spec.entity, body);
  const next = assemble(
    op,
    spec.voided(existing, op),
    existing.Id,
    String(Number(existing.SyncToken) + 1),
    existing.MetaData.CreateTime,
  );
  markVoided(op.company, spec.entity, existing.Id);
  return commit(op, spec.entity, existing, next, 'Void');
}

/**
 * Reads one object: a non-numeric Id is 2030 (rec error/500-2), an unknown or deleted one
 * 610. CompanyInfo is read by realm id (`/companyinfo/{realmId}`).
 */
export function readEntity(
  company: Company,
  entityName: string,
  id: string,
  path: string,
): Record<string, unknown> {
  const entity = entityFromName(entityName);
  if (!entity) throw Faults.unsupportedOperation(path);
  if (entity === 'CompanyInfo' || entity === 'Preferences') {
    if (entity === 'CompanyInfo' && id !== company.realmId && id !== '1')
      throw Faults.objectNotFound();
    return { [entity]: ensureSingleton(company, entity) };
  }
  if (!/^\d+$/.test(id)) throw Faults.invalidId(id);
  const found = company.get(entity, id);
  if (!found) throw Faults.objectNotFound();
  return { [entity]: found };
}
