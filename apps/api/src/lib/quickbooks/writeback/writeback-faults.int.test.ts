// push-all while QBO misbehaves: the sandbox answers some calls with 429 or 503, holds some
// until the client times out, and loses the answer of some writes it did. Every invoice must
// end `synced` or `error` with a reason, QBO must hold no duplicate, the realm's limits must
// hold, and a later run must finish the job.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { expect, it } from 'vitest';
import { forEachDatabase, insertCampaignInvoice } from '../../../../test/db-helpers.ts';
import { injectFault, sandboxStats, useSandboxWorld } from '../../../../test/sandbox-world.ts';
import { MemoryRateLimiter } from '../../../infra/rate-limit.ts';
import { MemoryJobs } from '../../../infra/jobs-memory.ts';
import { systemClock } from '../ports.ts';
import { PushAll, type WritebackJobs } from './push-all.ts';
import { Writeback } from './writeback.ts';

const world = useSandboxWorld();
const logger = pino({ level: 'silent' });
const INVOICES = 30;
const CLIENTS = ["O'Brien & Sons", 'Smith & Wesson "Media"', 'Back\\slash Ltd', 'Plain Co'];

forEachDatabase((t) => {
  it('30 invoices pushed through 429s, 5xx, timeouts and lost answers: each settled, none twice', async () => {
    const { db } = t();
    const realmId = await world().newCompany();
    const run = randomUUID().slice(0, 6);
    const ids: string[] = [];
    for (let i = 0; i < INVOICES; i++) {
      const inv = await insertCampaignInvoice(db, {
        client_name: `${CLIENTS[i % CLIENTS.length]} ${run}`,
        invoice_number: `F${run}-${i}`,
      });
      ids.push(inv.id);
    }
    for (const rule of [
      { kind: 'throttle', probability: 0.1 },
      { kind: 'error', status: 503, probability: 0.1 },
      { kind: 'timeout', probability: 0.05, latencyMs: 2_000 },
      { kind: 'drop-response', probability: 0.1, method: 'POST' },
    ])
      await injectFault(world().url, {
        ...rule,
        realmId,
        surface: 'accounting',
        durationMs: 600_000,
      });

    const api = world().client(db, new MemoryRateLimiter(), { timeoutMs: 300 });
    const writeback = new Writeback({ db, api, clock: systemClock, logger });
    const jobs = new MemoryJobs<WritebackJobs>();
    const pushAll = new PushAll({ db, writeback, jobs, logger });
    const ctx = { id: 'j1', name: 'qbo.invoice-push-all', attempt: 1, maxAttempts: 1 };
    const runOnce = async () => {
      const { run: r } = await pushAll.start(realmId);
      await pushAll.run({ realmId, runId: r.id }, { ...ctx, signal: new AbortController().signal });
      return db
        .selectFrom('qbo_writeback_runs')
        .selectAll()
        .where('id', '=', r.id)
        .executeTakeFirstOrThrow();
    };

    const first = await runOnce();
    expect(first.status).toBe('finished');
    expect(first.pushed + first.failed).toBe(INVOICES);
    const rows = await db
      .selectFrom('campaign_invoices')
      .selectAll()
      .where('id', 'in', ids)
      .execute();
    for (const r of rows) {
      expect(['synced', 'error']).toContain(r.qbo_sync_status);
      if (r.qbo_sync_status === 'error') expect(r.qbo_error_message).toMatch(/QBO|push/);
    }
    expect(first.failures).toHaveLength(first.failed);

    // QBO recovers; the next run pushes what is left and leaves the rest alone.
    await fetch(`${world().url}/_sandbox/faults`, { method: 'DELETE' });
    const second = await runOnce();
    expect(second.pushed).toBe(first.failed);
    expect(second.failed).toBe(0);
    const after = await db
      .selectFrom('campaign_invoices')
      .select(['qbo_sync_status', 'qbo_invoice_id'])
      .where('id', 'in', ids)
      .execute();
    expect(after.every((r) => r.qbo_sync_status === 'synced')).toBe(true);

    const inQbo = await api.query<{ Invoice?: { Id: string; DocNumber: string }[] }>(
      realmId,
      `select * from Invoice where DocNumber like 'F${run}-%' maxresults 1000`,
    );
    const docNumbers = (inQbo.Invoice ?? []).map((i) => i.DocNumber);
    expect(docNumbers).toHaveLength(INVOICES);
    expect(new Set(docNumbers).size).toBe(INVOICES);
    expect(new Set(after.map((r) => r.qbo_invoice_id)).size).toBe(INVOICES);
    const customers = await api.query<{ Customer?: unknown[] }>(
      realmId,
      `select * from Customer where DisplayName like '%${run}' maxresults 1000`,
    );
    expect(customers.Customer).toHaveLength(CLIENTS.length);

    const stats = await sandboxStats(world().url, realmId, world().clientId);
    expect(stats.throttledBy).toMatchObject({ concurrent: 0, perSecond: 0, perMinute: 0 });
  });
});
