// Invoice write-back: POST /invoices/push, POST /invoices/push-all, GET /invoices/sync-status,
// and /campaign-invoices (list, read, create, update) for applications that do not share the
// database. All admin-authenticated. docs/writeback.md, docs/api.md.
import {
  CampaignInvoice,
  CampaignInvoiceInput,
  CampaignInvoiceList,
  CampaignInvoiceListQuery,
  CampaignInvoicePatch,
  InvoiceIdParams,
  InvoiceSyncStatusResponse,
  PushAllResponse,
  PushInvoiceBody,
  PushInvoiceResponse,
  RealmQuery,
} from '@qbo-sync/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HttpError } from '../../http/errors.ts';
import {
  InvalidInvoiceError,
  createCampaignInvoice,
  getCampaignInvoice,
  listCampaignInvoices,
  updateCampaignInvoice,
} from '../../lib/quickbooks/writeback/campaign-invoices.ts';
import { invoiceSyncStatus } from '../../lib/quickbooks/writeback/push-all.ts';
import type { QuickBooksRouteDeps } from '../quickbooks.ts';
import { toSyncStatusResponse, toWireInvoice, toWireRun } from './writeback.mapper.ts';

function invalid(err: unknown): never {
  if (err instanceof InvalidInvoiceError)
    throw new HttpError('invalid_request', err.message, {
      issues: err.problems.map((message) => ({ field: 'body', message })),
    });
  throw err;
}

const notFound = (id: string) =>
  new HttpError('not_found', `campaign invoice ${id} does not exist`);

export const writebackRoutes: FastifyPluginAsyncZod<QuickBooksRouteDeps> = async (app, d) => {
  const admin = { onRequest: d.auth.requireAdmin };

  app.post(
    '/invoices/push',
    {
      ...admin,
      schema: {
        querystring: RealmQuery,
        body: PushInvoiceBody,
        response: { 200: PushInvoiceResponse },
      },
    },
    async (req) => {
      const id = req.body.invoice_id;
      if (!(await getCampaignInvoice(d.db, id))) throw notFound(id);
      const { realm_id: realmId } = await d.connections.findConnected(req.query.realmId);
      const result = await d.writeback.push(realmId, id);
      const row = await getCampaignInvoice(d.db, id);
      if (!row) throw notFound(id);
      return {
        realm_id: realmId,
        outcome: result.outcome,
        message: result.message,
        invoice: toWireInvoice(row),
      };
    },
  );

  app.post(
    '/invoices/push-all',
    { ...admin, schema: { querystring: RealmQuery, response: { 202: PushAllResponse } } },
    async (req, reply) => {
      const { realm_id: realmId } = await d.connections.findConnected(req.query.realmId);
      const { run, deduplicated } = await d.pushAll.start(realmId);
      return reply.code(202).send({ run: toWireRun(run), deduplicated });
    },
  );

  app.get(
    '/invoices/sync-status',
    { ...admin, schema: { querystring: RealmQuery, response: { 200: InvoiceSyncStatusResponse } } },
    async (req) => {
      const { realm_id: realmId } = await d.connections.findConnected(req.query.realmId);
      return toSyncStatusResponse(realmId, await invoiceSyncStatus(d.db, realmId));
    },
  );

  app.get(
    '/campaign-invoices',
    {
      ...admin,
      schema: { querystring: CampaignInvoiceListQuery, response: { 200: CampaignInvoiceList } },
    },
    async (req) => {
      const rows = await listCampaignInvoices(d.db, {
        ...(req.query.sync_status ? { syncStatus: req.query.sync_status } : {}),
        ...(req.query.limit ? { limit: req.query.limit } : {}),
      });
      return { invoices: rows.map(toWireInvoice) };
    },
  );

  app.get(
    '/campaign-invoices/:id',
    { ...admin, schema: { params: InvoiceIdParams, response: { 200: CampaignInvoice } } },
    async (req) => {
      const row = await getCampaignInvoice(d.db, req.params.id);
      if (!row) throw notFound(req.params.id);
      return toWireInvoice(row);
    },
  );

  app.post(
    '/campaign-invoices',
    { ...admin, schema: { body: CampaignInvoiceInput, response: { 201: CampaignInvoice } } },
    async (req, reply) => {
      const today = new Date(d.clock.now()).toISOString().slice(0, 10);
      const row = await createCampaignInvoice(d.db, req.body, today).catch(invalid);
      return reply.code(201).send(toWireInvoice(row));
    },
  );

  app.patch(
    '/campaign-invoices/:id',
    {
      ...admin,
      schema: {
        params: InvoiceIdParams,
        body: CampaignInvoicePatch,
        response: { 200: CampaignInvoice },
      },
    },
    async (req) => {
      const row = await updateCampaignInvoice(d.db, req.params.id, req.body).catch(invalid);
      if (!row) throw notFound(req.params.id);
      return toWireInvoice(row);
    },
  );
};
