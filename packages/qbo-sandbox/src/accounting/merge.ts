import type { Company, EntityName, QboObject } from '../core/company.ts';
import type { SandboxContext } from '../core/context.ts';
import { badRequest, conflict, notFound } from '../control/validate.ts';
import { refreshBalances, touched } from './balances.ts';
import { isObject, text } from './validate.ts';

/**
 * Merging two names, as a QuickBooks user does in QBO's UI (the Accounting API has no merge
 * operation: batch answers "Operation merge is not supported."). Sources:
 * - Intuit's webhook docs: Customer, Vendor, Account, Item… notify a `Merge` operation whose
 *   entity id is the one kept and `deletedId` the one merged away (legacy payload; CloudEvents
 *   `qbo.<entity>.merged.v1` with `data.deletedid`; .NET SDK `Entity.DeletedId`).
 * - QuickBooks Online help "Merge duplicate customers / vendors / accounts / products and
 *   services": one record is kept, the transactions of the other move to it, the other goes
 *   away and a merge cannot be undone; accounts must share their type and detail type, items
 *   their type.
 * ⚠ Intuit does not document how the API then shows the merged-away object. The sandbox
 * removes it, as a transaction delete does: reads answer 610, queries no longer return it,
 * and CDC reports it as a `{"status":"Deleted"}` stub. ⚠ Each transaction or name whose
 * reference moved is an update of its own (SyncToken + 1, notified as `Update`), and the
 * survivor gets a new version notified as `Merge`; QBO's bookkeeping of these is not
 * documented. ⚠ A name with sub-names (jobs, sub-items, sub-accounts) cannot be merged away,
 * nor an inactive one (QBO's UI offers neither).
 */
export const MERGEABLE = ['Customer', 'Vendor', 'Item', 'Account'] as const;
export type MergeableEntity = (typeof MERGEABLE)[number];

/** The reference fields that point at each mergeable entity, wherever they sit in an object. */
const REF_KEYS: Record<MergeableEntity, readonly string[]> = {
  Customer: ['CustomerRef'],
  Vendor: ['VendorRef', 'PrefVendorRef'],
  Item: ['ItemRef'],
  Account: [
    'AccountRef',
    'IncomeAccountRef',
    'ExpenseAccountRef',
    'AssetAccountRef',
    'DepositToAccountRef',
    'ARAccountRef',
    'APAccountRef',
  ],
};

/** What a reference to the survivor shows as its `name`. */
const refName = (entity: MergeableEntity, o: QboObject): unknown =>
  entity === 'Customer' || entity === 'Vendor' ? o.DisplayName : o.Name;

export interface MergeResult {
  entity: MergeableEntity;
  survivor: QboObject;
  deletedId: string;
  /** Ids per entity of the objects whose references moved to the survivor. */
  repointed: Partial<Record<EntityName, string[]>>;
}

export function mergeNames(
  ctx: SandboxContext,
  company: Company,
  input: { entity: string; survivorId: string; loserId: string },
): MergeResult {
  const entity = MERGEABLE.find((e) => e.toLowerCase() === input.entity.toLowerCase());
  if (!entity)
    throw badRequest(`entity: QuickBooks merges ${MERGEABLE.join(', ')}; not ${input.entity}`);
  const { survivorId, loserId } = input;
  if (survivorId === loserId) throw badRequest('survivorId and loserId must differ');
  const survivor = company.get(entity, survivorId);
  const loser = company.get(entity, loserId);
  if (!survivor) throw notFound(`no ${entity} with Id ${survivorId}`);
  if (!loser) throw notFound(`no ${entity} with Id ${loserId}`);
  for (const o of [survivor, loser])
    if (o.Active === false) throw conflict(`${entity} ${o.Id} is inactive: make it active first`);
  if (
    entity === 'Account' &&
    (survivor.AccountType !== loser.AccountType || survivor.AccountSubType !== loser.AccountSubType)
  )
    throw conflict('accounts merge only when their AccountType and AccountSubType are the same');
  if (entity === 'Item' && survivor.Type !== loser.Type)
    throw conflict('items merge only when their Type is the same');
  for (const row of company.table(entity).values())
    if (isObject(row.data.ParentRef) && text(row.data.ParentRef.value) === loserId)
      throw conflict(
        `${entity} ${loserId} has sub-entries (${row.data.Id}…): it cannot be merged away`,
      );

  const now = ctx.state.clock.now();
  const stamp = (o: QboObject, fields: Record<string, unknown>): QboObject => ({
    ...o,
    ...fields,
    SyncToken: String(Number(o.SyncToken) + 1),
    MetaData: { ...o.MetaData, LastUpdatedTime: company.formatTime(now) },
  });
  const to = { value: survivorId, name: refName(entity, survivor) };
  const repointed: MergeResult['repointed'] = {};
  for (const [other, table] of company.tables) {
    if (other === 'CompanyInfo' || other === 'Preferences') continue;
    for (const row of [...table.values()]) {
      if (other === entity && row.data.Id === loserId) continue;
      const moved = repoint(row.data, REF_KEYS[entity], loserId, to);
      if (moved === row.data) continue;
      company.put(other, stamp(moved as QboObject, {}), now, 'Update');
      (repointed[other] ??= []).push(row.data.Id);
    }
  }
  company.remove(entity, loserId, now, null);
  company.put(entity, stamp(company.get(entity, survivorId)!, {}), now, 'Merge', {
    deletedId: loserId,
  });
  const t = touched();
  if (entity === 'Customer') t.customers.add(survivorId);
  if (entity === 'Vendor') t.vendors.add(survivorId);
  refreshBalances(company, t, now);
  return { entity, survivor: company.get(entity, survivorId)!, deletedId: loserId, repointed };
}

/**
 * `value` with every reference under one of `keys` that names `fromId` pointed at `to`; the
 * same object when nothing moved (objects are never changed in place: company.put).
 */
function repoint(
  value: unknown,
  keys: readonly string[],
  fromId: string,
  to: { value: string; name: unknown },
): unknown {
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const r = repoint(v, keys, fromId, to);
      if (r !== v) changed = true;
      return r;
    });
    return changed ? out : value;
  }
  if (!isObject(value)) return value;
  let out: Record<string, unknown> | null = null;
  for (const [k, v] of Object.entries(value)) {
    let next: unknown;
    if (keys.includes(k) && isObject(v) && text(v.value) === fromId) {
      next = {
        ...v,
        value: to.value,
        ...(v.name !== undefined && typeof to.name === 'string' ? { name: to.name } : {}),
      };
    } else {
      next = repoint(v, keys, fromId, to);
    }
    if (next !== v) (out ??= { ...value })[k] = next;
  }
  return out ?? value;
}
