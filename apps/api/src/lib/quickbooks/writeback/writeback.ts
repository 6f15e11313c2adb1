// Pushing one campaign invoice to QBO, exactly once. The rules, and why:
//   * Validate first (validate.ts): a row QBO would refuse, or that would be wrong there, is
//     marked `error` with a sentence a person can act on, before any QBO call.
//   * Exactly once. Every QBO write carries a requestid derived from the logical operation
//     (invoice id + version for a create; + SyncToken for an update) and the requestid is
//     saved on the row BEFORE the call. A retry of the same operation — the client's own
//     after a 5xx/429/timeout, or a later push after a crash between QBO's answer and our
//     database write — sends the same requestid and QBO answers with the first result.
//   * After an ambiguous outcome (the row still holds a create's requestid and no QBO id),
//     the invoice is looked up by its DocNumber before anything is written again, so even
//     a requestid QBO no longer remembers cannot make a second invoice.
//   * An edit (the trigger bumps qbo_version) goes as a sparse update with the SyncToken we
//     hold; a stale one (5010) re-reads and retries with the current token. An invoice
//     voided or deleted in QBO is reported and never recreated.
//   * The outcome is stored only if the row's version is still the one pushed; an edit made
//     meanwhile leaves the row `pending` for the next push.
import type { Kysely } from 'kysely';
import type pino from 'pino';
import type { CampaignInvoice, Database } from '../../../db/schema.ts';
import type { QboApiClient } from '../client/api-client.ts';
import { QboError, QboFault } from '../client/errors.ts';
import { QuickBooksError } from '../errors.ts';
import type { Clock } from '../ports.ts';
import {
  createRequestId,
  docNumberOf,
  invoiceFields,
  invoiceStateOf,
  isCreateRequestOf,
  queryString,
  updateRequestId,
  type QboInvoiceState,
} from './invoice.mapper.ts';
import { upsertMirror } from '../sync/upsert.ts';
import { qboJson } from './money.ts';
import { WritebackProblem, findOrCreateCustomer, findOrCreateItem } from './references.ts';
import { validateInvoice, type PushableInvoice } from './validate.ts';

export type PushOutcome = 'created' | 'updated' | 'unchanged' | 'failed';

export interface PushResult {
  invoiceId: string;
  outcome: PushOutcome;
  qboInvoiceId: string | null;
  /** Why it failed: what QBO said (code) and what to do. */
  message: string | null;
}

export interface WritebackDeps {
  db: Kysely<Database>;
  api: QboApiClient;
  clock: Clock;
  logger: pino.Logger;
  /** The Service item lines are booked on. Default "Services". */
  itemName?: string;
  /**
   * Called after QBO answered a write and before the answer is stored: tests throw here to
   * play a process that dies at the worst moment.
   */
  afterQboWrite?: (invoiceId: string, kind: 'create' | 'update') => Promise<void> | void;
}

export const DEFAULT_ITEM_NAME = 'Services';
const MAX_STALE_RETRIES = 3;

export class InvoiceNotFoundError extends Error {
  override readonly name = 'InvoiceNotFoundError';
}

interface CompanyCurrency {
  home: string;
  multiCurrency: boolean;
}

export class Writeback {
  readonly #d: WritebackDeps;
  readonly #itemName: string;
  /** Per realm: what does not change between pushes (read once per process). */
  readonly #currency = new Map<string, Promise<CompanyCurrency>>();
  readonly #items = new Map<string, Promise<string>>();
  readonly #customers = new Map<string, Promise<string>>();

  constructor(deps: WritebackDeps) {
    this.#d = deps;
    this.#itemName = deps.itemName ?? DEFAULT_ITEM_NAME;
  }

  async push(realmId: string, invoiceId: string): Promise<PushResult> {
    const row = await this.#load(invoiceId);
    const log = this.#d.logger.child({ realmId, invoiceId });
    const result = (outcome: PushOutcome, message: string | null = null): PushResult => ({
      invoiceId,
      outcome,
      qboInvoiceId: row.qbo_realm_id === realmId ? row.qbo_invoice_id : null,
      message,
    });

    if (row.status === 'void' || row.status === 'cancelled') {
      const message = `Not sent to QBO: the invoice is ${row.status} in the application.${row.qbo_invoice_id ? ' Void it in QBO too if it should not be paid.' : ''}`;
      await this.#fail(row, message);
      return result('failed', message);
    }
    const checked = validateInvoice(row);
    if (!checked.ok) {
      const message = `Not sent to QBO: ${checked.problems.join('; ')}.`;
      await this.#fail(row, message);
      return result('failed', message);
    }
    const invoice = checked.invoice;
    const sameRealm = row.qbo_realm_id === realmId && row.qbo_invoice_id !== null;
    if (sameRealm && (row.qbo_voided || row.qbo_deleted)) {
      const message = `QBO invoice ${row.qbo_invoice_id} was ${row.qbo_voided ? 'voided' : 'deleted'} in QBO; it is not recreated. Create a new campaign invoice if it should be billed again.`;
      await this.#fail(row, message);
      return result('failed', message);
    }
    if (
      sameRealm &&
      row.qbo_sync_status === 'synced' &&
      row.qbo_pushed_version === row.qbo_version
    ) {
      return result('unchanged');
    }

    try {
      await this.#checkCurrency(realmId, invoice);
      const customerId = await this.#customer(realmId, invoice);
      const itemId = await this.#item(realmId);
      const docNumber = sameRealm
        ? (row.qbo_doc_number ?? docNumberOf(row.id, invoice))
        : docNumberOf(row.id, invoice);
      const refs = { customerId, itemId, docNumber };

      let target: QboInvoiceState | null = null;
      if (sameRealm) {
        target = {
          id: row.qbo_invoice_id!,
          syncToken: row.qbo_sync_token ?? '0',
        } as QboInvoiceState;
      } else if (isCreateRequestOf(row.qbo_request_id, row.id) && row.qbo_doc_number) {
        // An earlier create's outcome was never stored: QBO may hold the invoice already.
        const found = await this.#findByDocNumber(realmId, row.qbo_doc_number);
        if (found) {
          log.info({ qboInvoiceId: found.Id }, 'found the invoice an earlier push created');
          target = this.#adopt(found, customerId, row.qbo_doc_number);
          // Created from this very version: QBO already shows what the row says.
          if (row.qbo_request_id === createRequestId(row.id, row.qbo_version)) {
            await this.#store(row, realmId, target, customerId, row.qbo_doc_number);
            return { ...result('created'), qboInvoiceId: target.id };
          }
        }
      }

      if (target === null) {
        const created = await this.#create(row, realmId, invoice, refs);
        if (created.adopted === null) {
          await this.#store(row, realmId, created.state, customerId, docNumber);
          return { ...result('created'), qboInvoiceId: created.state.id };
        }
        target = created.adopted;
      }
      const updated = await this.#update(row, realmId, invoice, refs, target);
      if (typeof updated === 'string') {
        await this.#fail(row, updated, { realmId, qboInvoiceId: target.id });
        return { ...result('failed', updated), qboInvoiceId: target.id };
      }
      await this.#store(row, realmId, updated, customerId, docNumber);
      return { ...result('updated'), qboInvoiceId: updated.id };
    } catch (err) {
      // 2500: a customer or item we cached was deleted or made inactive in QBO.
      if (err instanceof QboFault && err.code === '2500') this.forget(realmId);
      const message = describeFailure(err);
      log.warn({ err }, 'invoice push failed');
      await this.#fail(row, message);
      return result('failed', message);
    }
  }

  async #load(invoiceId: string): Promise<CampaignInvoice> {
    const row = await this.#d.db
      .selectFrom('campaign_invoices')
      .selectAll()
      .where('id', '=', invoiceId)
      .executeTakeFirst();
    if (!row) throw new InvoiceNotFoundError(`campaign invoice ${invoiceId} does not exist`);
    return row;
  }

  async #checkCurrency(realmId: string, invoice: PushableInvoice): Promise<void> {
    let p = this.#currency.get(realmId);
    if (!p) {
      p = this.#readCurrency(realmId);
      this.#currency.set(realmId, p);
      p.catch(() => this.#currency.delete(realmId));
    }
    const c = await p;
    if (!c.multiCurrency && invoice.currency !== c.home)
      throw new WritebackProblem(
        `The invoice is in ${invoice.currency} but the QBO company records only ${c.home} (multicurrency is off): change the invoice's currency, or turn on multicurrency in QBO.`,
      );
  }

  async #readCurrency(realmId: string): Promise<CompanyCurrency> {
    const res = await this.#d.api.request<{ Preferences?: Record<string, unknown> }>(realmId, {
      method: 'GET',
      path: '/preferences',
    });
    const prefs = (res.body.Preferences?.CurrencyPrefs ?? {}) as Record<string, unknown>;
    const home = (prefs.HomeCurrency as { value?: string } | undefined)?.value ?? 'USD';
    return { home, multiCurrency: prefs.MultiCurrencyEnabled === true };
  }

  /** Single-flight per name: a push-all of one client's invoices looks the customer up once. */
  #customer(realmId: string, invoice: PushableInvoice): Promise<string> {
    const key = `${realmId}\u0000${invoice.customerName.toLowerCase()}`;
    let p = this.#customers.get(key);
    if (!p) {
      p = findOrCreateCustomer(this.#d, realmId, invoice.customerName, invoice.email);
      this.#customers.set(key, p);
      p.catch(() => this.#customers.delete(key));
    }
    return p;
  }

  /** Forgets what was cached for a realm (a reference QBO refused may be stale). */
  forget(realmId: string): void {
    this.#currency.delete(realmId);
    this.#items.delete(realmId);
    for (const k of this.#customers.keys())
      if (k.startsWith(`${realmId}\u0000`)) this.#customers.delete(k);
  }

  #item(realmId: string): Promise<string> {
    let p = this.#items.get(realmId);
    if (!p) {
      p = findOrCreateItem(this.#d, realmId, { itemName: this.#itemName });
      this.#items.set(realmId, p);
      p.catch(() => this.#items.delete(realmId));
    }
    return p;
  }

  async #findByDocNumber(
    realmId: string,
    docNumber: string,
  ): Promise<Record<string, unknown> | null> {
    const res = await this.#d.api.query<{ Invoice?: Record<string, unknown>[] }>(
      realmId,
      `select * from Invoice where DocNumber = ${queryString(docNumber)}`,
    );
    return res.Invoice?.[0] ?? null;
  }

  /** An invoice found by our DocNumber is ours only if it bills the same customer. */
  #adopt(found: Record<string, unknown>, customerId: string, docNumber: string): QboInvoiceState {
    const ref = (found.CustomerRef as { value?: string } | undefined)?.value;
    if (ref !== customerId)
      throw new WritebackProblem(
        `DocNumber ${docNumber} is already used in QBO by invoice ${String(found.Id)} of another customer: set another invoice_number.`,
      );
    return invoiceStateOf(found);
  }

  /** Saves the requestid, then creates; a duplicate DocNumber (6140) means it may be ours. */
  async #create(
    row: CampaignInvoice,
    realmId: string,
    invoice: PushableInvoice,
    refs: { customerId: string; itemId: string; docNumber: string },
  ): Promise<{ state: QboInvoiceState; adopted: null } | { adopted: QboInvoiceState }> {
    const requestId = createRequestId(row.id, row.qbo_version);
    await this.#begin(row, requestId, refs);
    try {
      const created = await this.#d.api.create(
        realmId,
        'Invoice',
        qboJson(invoiceFields(invoice, refs)),
        requestId,
      );
      await this.#d.afterQboWrite?.(row.id, 'create');
      return { state: invoiceStateOf(created), adopted: null };
    } catch (err) {
      if (!(err instanceof QboFault) || err.code !== '6140') throw err;
      const found = await this.#findByDocNumber(realmId, refs.docNumber);
      if (!found) throw err;
      return { adopted: this.#adopt(found, refs.customerId, refs.docNumber) };
    }
  }

  /**
   * Sparse update with the SyncToken held; on 5010 re-read and retry with the current one.
   * Returns the new state, or the reason it cannot be updated (voided or deleted in QBO).
   */
  async #update(
    row: CampaignInvoice,
    realmId: string,
    invoice: PushableInvoice,
    refs: { customerId: string; itemId: string; docNumber: string },
    target: { id: string; syncToken: string },
  ): Promise<QboInvoiceState | string> {
    let syncToken = target.syncToken;
    for (let attempt = 0; ; attempt += 1) {
      const requestId = updateRequestId(row.id, row.qbo_version, syncToken);
      await this.#begin(row, requestId, refs);
      try {
        const body = {
          ...invoiceFields(invoice, refs),
          Id: target.id,
          SyncToken: syncToken,
          sparse: true,
        };
        const updated = await this.#d.api.update(realmId, 'Invoice', qboJson(body), requestId);
        await this.#d.afterQboWrite?.(row.id, 'update');
        return invoiceStateOf(updated);
      } catch (err) {
        const stale = err instanceof QboFault && err.code === '5010';
        const gone = err instanceof QboFault && err.code === '610';
        if (!stale && !gone) throw err;
        const current = await this.#readOrNull(realmId, target.id);
        if (current === null) {
          await this.#markQboState(row, { deleted: true });
          return `QBO invoice ${target.id} was deleted in QBO; it is not recreated. Create a new campaign invoice if it should be billed again.`;
        }
        const state = invoiceStateOf(current);
        if (state.voided) {
          await this.#markQboState(row, { voided: true });
          return `QBO invoice ${target.id} was voided in QBO; it is not recreated or changed. Create a new campaign invoice if it should be billed again.`;
        }
        if (!stale || attempt + 1 >= MAX_STALE_RETRIES) throw err;
        syncToken = state.syncToken;
      }
    }
  }

  async #readOrNull(realmId: string, id: string): Promise<Record<string, unknown> | null> {
    try {
      return await this.#d.api.read(realmId, 'Invoice', id);
    } catch (err) {
      if (err instanceof QboFault && (err.code === '610' || err.status === 404)) return null;
      throw err;
    }
  }

  /** The requestid is on the row before the write is sent (see the header). */
  async #begin(
    row: CampaignInvoice,
    requestId: string,
    refs: { customerId: string; docNumber: string },
  ): Promise<void> {
    await this.#d.db
      .updateTable('campaign_invoices')
      .set({
        qbo_sync_status: 'syncing',
        qbo_request_id: requestId,
        qbo_doc_number: refs.docNumber,
        qbo_customer_id: refs.customerId,
      })
      .where('id', '=', row.id)
      .execute();
  }

  async #store(
    row: CampaignInvoice,
    realmId: string,
    state: QboInvoiceState,
    customerId: string,
    docNumber: string,
  ): Promise<void> {
    const now = new Date(this.#d.clock.now());
    await this.#d.db
      .updateTable('campaign_invoices')
      .set((eb) => ({
        qbo_invoice_id: state.id,
        qbo_realm_id: realmId,
        qbo_customer_id: customerId,
        qbo_doc_number: docNumber,
        qbo_sync_token: state.syncToken,
        qbo_total: state.total,
        qbo_balance: state.balance,
        qbo_paid_status: state.paidStatus,
        qbo_voided: state.voided,
        qbo_deleted: false,
        qbo_pushed_version: row.qbo_version,
        qbo_last_synced_at: now,
        qbo_error_message: null,
        // An edit made while this push ran is a newer version: it still has to go.
        qbo_sync_status: eb
          .case()
          .when('qbo_version', '=', row.qbo_version)
          .then('synced' as const)
          .else('pending' as const)
          .end(),
      }))
      .where('id', '=', row.id)
      .execute();
    // The mirror learns of it now rather than at the next sync (its listener then refreshes
    // this row's QBO columns from the same object).
    if (state.raw) await upsertMirror(this.#d.db, realmId, 'Invoice', [state.raw], 'writeback');
  }

  async #markQboState(
    row: CampaignInvoice,
    s: { voided?: boolean; deleted?: boolean },
  ): Promise<void> {
    await this.#d.db
      .updateTable('campaign_invoices')
      .set({
        ...(s.voided ? { qbo_voided: true, qbo_paid_status: null, qbo_balance: '0.00' } : {}),
        ...(s.deleted ? { qbo_deleted: true } : {}),
      })
      .where('id', '=', row.id)
      .execute();
  }

  async #fail(
    row: CampaignInvoice,
    message: string,
    keep?: { realmId: string; qboInvoiceId: string },
  ): Promise<void> {
    await this.#d.db
      .updateTable('campaign_invoices')
      .set({
        qbo_sync_status: 'error',
        qbo_error_message: message.slice(0, 2000),
        qbo_last_synced_at: new Date(this.#d.clock.now()),
        ...(keep ? { qbo_realm_id: keep.realmId, qbo_invoice_id: keep.qboInvoiceId } : {}),
      })
      .where('id', '=', row.id)
      .execute();
  }
}

/** A person's sentence for a failure: QBO's message and code, and what to do. */
export function describeFailure(err: unknown): string {
  if (err instanceof WritebackProblem) return err.message;
  if (err instanceof QboError) {
    const code = err.code ? ` (QBO code ${err.code})` : '';
    switch (err.kind) {
      case 'qbo_throttled':
        return `QBO kept answering "too many requests"${code}: nothing was duplicated; push again later.`;
      case 'qbo_network':
        return `QBO did not answer in time (${err.message}): the invoice may or may not be in QBO; pushing again is safe (same requestid, then a look-up by DocNumber).`;
      case 'qbo_auth':
        return `QBO refused the connection's credentials${code}: reconnect QuickBooks, then push again.`;
      default:
        if (err.status !== null && err.status >= 500)
          return `QBO failed${code}: ${err.message}. Pushing again is safe (same requestid).`;
        return `QBO refused the invoice${code}: ${err.message}. Correct the invoice and push again.`;
    }
  }
  if (err instanceof QuickBooksError && err.kind === 'reauth_required')
    return 'The QuickBooks connection needs to be authorised again: reconnect, then push again.';
  if (err instanceof QuickBooksError && err.kind === 'not_connected')
    return 'QuickBooks is not connected: connect a company first.';
  return `Unexpected failure while pushing (${err instanceof Error ? err.message : String(err)}): push again; if it persists, report it with the service log.`;
}
