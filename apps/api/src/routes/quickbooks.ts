// /api/quickbooks: one Fastify plugin per capability, each under this prefix. Admin-
// authenticated except /callback (protected by `state`) and /webhook (by Intuit's signature). Every route takes an optional
// `realmId`; without it the most recently connected company is meant. Each route declares
// its query and answer with the schemas of @qbo-sync/contract: input is validated before the
// handler runs and answers are checked as they are serialised. Handlers call services in
// lib/quickbooks and map what they return; errors go through the one handler in
// http/errors.ts. Reference: docs/api.md.
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { AdminAuth } from '../http/admin-auth.ts';
import type { ConnectionService } from '../lib/quickbooks/connection/connection.service.ts';
import type { Clock } from '../lib/quickbooks/ports.ts';
import type { SyncService } from '../lib/quickbooks/sync/sync.ts';
import type { Webhooks } from '../lib/quickbooks/webhooks/webhooks.ts';
import type { PushAll } from '../lib/quickbooks/writeback/push-all.ts';
import type { Writeback } from '../lib/quickbooks/writeback/writeback.ts';
import { connectionRoutes } from './quickbooks/connection.ts';
import { observabilityRoutes } from './quickbooks/observability.ts';
import { syncRoutes } from './quickbooks/sync.ts';
import { webhookEventRoutes, webhookRoutes } from './quickbooks/webhooks.ts';
import { writebackRoutes } from './quickbooks/writeback.ts';

export interface QuickBooksRouteDeps {
  db: Kysely<Database>;
  clock: Clock;
  auth: AdminAuth;
  connections: ConnectionService;
  /** Stores Intuit's notifications (POST /webhook); replays stored events. */
  webhooks: Pick<Webhooks, 'receiver' | 'replay'>;
  sync: SyncService;
  writeback: Writeback;
  pushAll: PushAll;
  /** Where /callback sends the browser; default `/admin`. */
  adminPath?: string;
}

export const QUICKBOOKS_PREFIX = '/api/quickbooks';

export function registerQuickBooksRoutes(app: FastifyInstance, deps: QuickBooksRouteDeps): void {
  void app.register(connectionRoutes, { ...deps, prefix: QUICKBOOKS_PREFIX });
  void app.register(observabilityRoutes, { ...deps, prefix: QUICKBOOKS_PREFIX });
  void app.register(webhookRoutes, { ...deps, prefix: QUICKBOOKS_PREFIX });
  void app.register(webhookEventRoutes, { ...deps, prefix: QUICKBOOKS_PREFIX });
  void app.register(syncRoutes, { ...deps, prefix: QUICKBOOKS_PREFIX });
  void app.register(writebackRoutes, { ...deps, prefix: QUICKBOOKS_PREFIX });
}
