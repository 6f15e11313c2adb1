// The sync engine's routes: POST /sync/full, POST /sync/incremental, POST /sync/reconcile
// (the daily reconciliation, now: CDC, then QBO compared with the mirror and repaired), and
// GET /sync/status. The POSTs record a run and answer 202 with its job's id at once; a
// request that an unfinished run already covers answers that run's job id (deduplicated).
import {
  RealmQuery,
  SyncAccepted,
  SyncRequest,
  SyncStatusResponse,
  type EntityType,
} from '@qbo-sync/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { QuickBooksRouteDeps } from '../quickbooks.ts';
import { toSyncAccepted, toSyncStatusResponse } from './sync.mapper.ts';

export const syncRoutes: FastifyPluginAsyncZod<QuickBooksRouteDeps> = async (app, d) => {
  const admin = { onRequest: d.auth.requireAdmin };

  for (const kind of ['full', 'incremental', 'reconcile'] as const) {
    app.post(
      `/sync/${kind}`,
      {
        ...admin,
        // No body at all is the same as `{}`.
        schema: { body: SyncRequest.optional(), response: { 202: SyncAccepted } },
      },
      async (req, reply) => {
        const body = req.body ?? {};
        const connection = await d.connections.findConnected(body.realm_id);
        const entities: EntityType[] | undefined = body.entity ? [body.entity] : undefined;
        const accepted = await d.sync.request(kind, connection.realm_id, entities);
        return reply.code(202).send(toSyncAccepted(accepted));
      },
    );
  }

  app.get(
    '/sync/status',
    { ...admin, schema: { querystring: RealmQuery, response: { 200: SyncStatusResponse } } },
    async (req) => {
      // A named realm must exist (404 otherwise); without one, every company is shown.
      if (req.query.realmId !== undefined) await d.connections.find(req.query.realmId);
      return toSyncStatusResponse(await d.sync.status(req.query.realmId));
    },
  );
};
