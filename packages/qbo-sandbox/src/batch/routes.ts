import type { SandboxModule } from '../core/context.ts';
import { guardAccounting, sendQbo } from '../accounting/guard.ts';
import { requestIdOf, withRequestId } from '../accounting/requestid.ts';
import { parseBatchBody, runBatch } from './run-batch.ts';

/**
 * `POST /v3/company/:realmId/batch` (docs batch; rec batch/basic): HTTP 200 with one
 * BatchItemResponse per item, faults reported per item. Guarded as `batch`, so the
 * 40-per-minute batch limit applies on top of the general ones. A repeated `?requestid=`
 * replays the whole batch response.
 */
export const batchModule: SandboxModule = (app, ctx) => {
  app.post<{ Params: { realmId: string } }>('/v3/company/:realmId/batch', async (req, reply) => {
    const { company } = await guardAccounting(ctx, req, reply, req.params.realmId, 'batch');
    const raw = req.rawBody ?? (typeof req.body === 'string' ? req.body : '');
    const result = await withRequestId(ctx, req, company, () => {
      const items = parseBatchBody(raw, ctx.config.batchMaxItems);
      return {
        status: 200,
        body: { BatchItemResponse: runBatch(ctx, company, items, requestIdOf(req)) },
      };
    });
    return sendQbo(ctx, reply, company, result.body, result.status);
  });
};
