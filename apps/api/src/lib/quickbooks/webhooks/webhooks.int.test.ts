// Webhooks end to end against qbo-sandbox's real deliveries: the sandbox's app points its
// webhook URL at the service, changes are made through the sandbox's control API ("someone
// edited it in QuickBooks"), and the mirror must follow — in both formats, and through a
// storm of duplicated, reordered, failed and forged deliveries. PGlite always; Postgres and
// BullMQ on Redis too when DATABASE_URL / REDIS_URL are set.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachDatabase } from '../../../../test/db-helpers.ts';
import {
  addCompany,
  connectRealm,
  control,
  startTestSandbox,
  startTestService,
  type Sandbox,
  type TestService,
} from '../../../../test/service-harness.ts';
import { change, settle, sign } from '../../../../test/webhook-helpers.ts';

type Format = 'legacy' | 'cloudevents';

/** Every Customer and Vendor as QBO has them (a control-API read: no QBO call of ours). */
function qboState(sandbox: Sandbox, realmId: string): Map<string, string> {
  const company = sandbox.state.companies.get(realmId)!;
  const out = new Map<string, string>();
  for (const entity of ['Customer', 'Vendor'] as const) {
    for (const { data: o } of company.table(entity).values()) {
      out.set(`${entity}:${String(o.Id)}`, `${String(o.SyncToken)}:${String(o.Active)}`);
    }
  }
  return out;
}

async function mirrorState(svc: TestService, realmId: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [entity, table] of [
    ['Customer', 'qbo_customers'],
    ['Vendor', 'qbo_vendors'],
  ] as const) {
    const rows = await svc.db
      .selectFrom(table)
      .select(['qbo_id', 'sync_token', 'active', 'is_deleted'])
      .where('realm_id', '=', realmId)
      .execute();
    for (const r of rows) out.set(`${entity}:${r.qbo_id}`, `${r.sync_token}:${String(r.active)}`);
  }
  return out;
}

const name = (p: string) => `${p} ${randomBytes(4).toString('hex')}`;
// One character changed: never to the one it already is (1 signature in 64 starts with x).
/** A service item (and its income account) to put on invoices. */
async function serviceItem(sandbox: Sandbox, realmId: string, itemName: string) {
  const account = await change(sandbox, realmId, 'Account', {
    Name: name('Sales'),
    AccountType: 'Income',
  });
  return change(sandbox, realmId, 'Item', {
    Name: name(itemName),
    Type: 'Service',
    IncomeAccountRef: { value: account.Id },
  });
}
const forge = (sig: string) => (sig.startsWith('x') ? 'y' : 'x') + sig.slice(1);

for (const format of ['legacy', 'cloudevents'] as const satisfies readonly Format[]) {
  describe(`webhooks (${format})`, () => {
    let sandbox: Sandbox;
    beforeAll(async () => {
      sandbox = await startTestSandbox();
      await control(sandbox, 'PATCH', '/webhooks/options', { batchDelayMs: 50, retryScale: 0.001 });
    });
    afterAll(async () => {
      await sandbox?.close();
    });

    forEachDatabase((t) => {
      let svc: TestService;
      beforeAll(async () => {
        svc = await startTestService(t().db, sandbox, { webhooks: { format } });
      });
      afterAll(async () => {
        await svc?.close();
      });

      it('the mirror follows changes made in QuickBooks', async () => {
        const realmId = addCompany(sandbox).realmId;
        await connectRealm(svc, realmId);
        const c = await change(sandbox, realmId, 'Customer', { DisplayName: name('Ada') });
        const v = await change(sandbox, realmId, 'Vendor', { DisplayName: name('Bolt') });
        await change(sandbox, realmId, 'Customer', {
          Id: c.Id,
          SyncToken: c.SyncToken,
          sparse: true,
          CompanyName: 'Ada Ltd',
        });
        await change(sandbox, realmId, 'Vendor', {
          Id: v.Id,
          SyncToken: v.SyncToken,
          sparse: true,
          Active: false,
        });
        await settle(sandbox, svc);

        const customer = await svc.db
          .selectFrom('qbo_customers')
          .selectAll()
          .where('realm_id', '=', realmId)
          .where('qbo_id', '=', c.Id as string)
          .executeTakeFirstOrThrow();
        expect(customer.company_name).toBe('Ada Ltd');
        const vendor = await svc.db
          .selectFrom('qbo_vendors')
          .selectAll()
          .where('realm_id', '=', realmId)
          .where('qbo_id', '=', v.Id as string)
          .executeTakeFirstOrThrow();
        expect(vendor.active).toBe(false);

        const events = await svc.db
          .selectFrom('qbo_webhook_events')
          .selectAll()
          .where(sql<boolean>`realm_ids @> array[${realmId}]::text[]`)
          .execute();
        expect(events.length).toBeGreaterThan(0);
        for (const e of events) {
          expect(e).toMatchObject({ format, signature_valid: true, status: 'processed' });
        }
        const cursors = await svc.db
          .selectFrom('qbo_sync_cursors')
          .select(['entity_type', 'last_webhook_at'])
          .where('realm_id', '=', realmId)
          .execute();
        expect(cursors.map((r) => r.entity_type).sort()).toEqual(['Customer', 'Vendor']);
        for (const r of cursors) expect(r.last_webhook_at).not.toBeNull();

        const metrics = await svc.admin('GET', `/api/quickbooks/metrics?realmId=${realmId}`);
        expect(metrics.body.webhooks.processed).toBe(events.length);
        expect(metrics.body.webhooks.pending).toBe(0);
      });

      it('a storm of duplicated, reordered, failed, forged and foreign deliveries ends with the mirror equal to QBO', async () => {
        const realmId = addCompany(sandbox).realmId;
        await connectRealm(svc, realmId);
        // Every notification twice: how many deliveries a storm makes depends on the sandbox's
        // batching window, so a chance of duplication could leave a run with none to prove.
        await control(sandbox, 'PATCH', '/webhooks/options', {
          duplicateProbability: 1,
          reorder: true,
          seed: 7,
        });
        await control(sandbox, 'POST', '/webhooks/failures', {
          clientId: svc.clientId,
          count: 3,
          mode: 'fail',
        });
        await control(sandbox, 'POST', '/webhooks/failures', {
          clientId: svc.clientId,
          count: 2,
          mode: 'drop',
        });
        const stranger = `zz${randomBytes(4).toString('hex')}`;
        const post = (body: string, signature: string) =>
          svc.fetch('/api/quickbooks/webhook', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'intuit-signature': signature },
            body,
          });
        try {
          const objects: Record<string, unknown>[] = [];
          for (let i = 0; i < 8; i++) {
            objects.push(
              await change(sandbox, realmId, 'Customer', { DisplayName: name(`C${i}`) }),
            );
            objects.push(await change(sandbox, realmId, 'Vendor', { DisplayName: name(`V${i}`) }));
          }
          for (let round = 0; round < 2; round++) {
            for (const [i, o] of objects.entries()) {
              if ((i + round) % 3 === 0) continue;
              const entity = o.GivenName !== undefined || i % 2 === 0 ? 'Customer' : 'Vendor';
              const updated = await change(sandbox, realmId, entity, {
                Id: o.Id,
                SyncToken: o.SyncToken,
                sparse: true,
                ...(round === 1 && i % 5 === 0 ? { Active: false } : { CompanyName: `R${round}` }),
              });
              objects[i] = updated;
            }
            // Forged posts and a foreign realm's genuine ones, in the middle of the storm.
            const forged = JSON.stringify({
              eventNotifications: [
                {
                  realmId,
                  dataChangeEvent: {
                    entities: [{ name: 'Customer', id: '999', operation: 'Delete' }],
                  },
                },
              ],
            });
            expect((await post(forged, forge(sign(svc, forged)))).status).toBe(401);
            const foreign = JSON.stringify({
              eventNotifications: [
                {
                  realmId: stranger,
                  dataChangeEvent: {
                    entities: [{ name: 'Vendor', id: String(round + 1), operation: 'Update' }],
                  },
                },
              ],
            });
            expect((await post(foreign, sign(svc, foreign))).status).toBe(200);
          }
          await settle(sandbox, svc);

          expect(await mirrorState(svc, realmId)).toEqual(qboState(sandbox, realmId));

          const events = await svc.db
            .selectFrom('qbo_webhook_events')
            .select(['status', 'signature_valid', 'notification_count', 'deliveries'])
            .where(sql<boolean>`realm_ids @> array[${realmId}]::text[]`)
            .execute();
          const valid = events.filter((e) => e.signature_valid);
          expect(valid.every((e) => e.status === 'processed')).toBe(true);
          const rejected = events.filter((e) => !e.signature_valid);
          expect(rejected.length).toBe(2);
          expect(rejected.every((e) => e.status === 'rejected')).toBe(true);
          const deliveries = await control(
            sandbox,
            'GET',
            `/webhooks/deliveries?realmId=${realmId}&limit=10000`,
          );
          const attempts = deliveries.body.deliveries as { duplicate: boolean; result: string }[];
          expect(attempts.some((d) => d.duplicate)).toBe(true);
          expect(attempts.some((d) => d.result === 'retrying')).toBe(true);

          const calls = await svc.db
            .selectFrom('qbo_request_log')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .where('realm_id', '=', realmId)
            .where((eb) => eb.or([eb('path', 'like', '%/query%'), eb('path', 'like', '%/cdc%')]))
            .executeTakeFirstOrThrow();
          const notifications = valid.reduce((n, e) => n + e.notification_count * e.deliveries, 0);
          const changed = qboState(sandbox, realmId).size;
          console.info(
            `[webhooks storm ${format}] ${changed} objects changed, ${notifications} notifications received in ${valid.reduce((n, e) => n + e.deliveries, 0)} signed deliveries (${attempts.length} attempts by the sandbox), ${Number(calls.n)} QBO reads`,
          );
          expect(Number(calls.n)).toBeLessThan(notifications);
        } finally {
          await control(sandbox, 'PATCH', '/webhooks/options', {
            duplicateProbability: 0,
            reorder: false,
          });
          await control(sandbox, 'DELETE', '/webhooks/failures');
        }
      });

      it('an invoice or payment notified by webhook brings its customer’s new balance, which QBO does not notify', async () => {
        const realmId = addCompany(sandbox).realmId;
        await connectRealm(svc, realmId);
        const customer = await change(sandbox, realmId, 'Customer', { DisplayName: name('Owes') });
        const item = await serviceItem(sandbox, realmId, 'Pruning');
        await settle(sandbox, svc);
        const balanceOf = async () =>
          (
            await svc.db
              .selectFrom('qbo_customers')
              .select('balance')
              .where('realm_id', '=', realmId)
              .where('qbo_id', '=', customer.Id as string)
              .executeTakeFirstOrThrow()
          ).balance;
        expect(Number(await balanceOf())).toBe(0);

        await change(sandbox, realmId, 'Invoice', {
          CustomerRef: { value: customer.Id },
          Line: [
            {
              Amount: 75.5,
              DetailType: 'SalesItemLineDetail',
              SalesItemLineDetail: { ItemRef: { value: item.Id } },
            },
          ],
        });
        await settle(sandbox, svc);
        expect(Number(await balanceOf())).toBe(75.5);

        await change(sandbox, realmId, 'Payment', {
          CustomerRef: { value: customer.Id },
          TotalAmt: 100,
        });
        await settle(sandbox, svc);
        // 24.50 of the payment is unapplied: it lowers the balance below zero.
        const company = sandbox.state.companies.get(realmId)!;
        const qbo = company.table('Customer').get(customer.Id as string)!.data;
        expect(qbo.Balance).toBe(-24.5);
        expect(Number(await balanceOf())).toBe(-24.5);
      });

      it('a merge in QuickBooks points the loser at the survivor, and the next CDC run keeps it so; Bill and unknown realms are skipped, not fetched', async () => {
        const realmId = addCompany(sandbox).realmId;
        await connectRealm(svc, realmId);
        const a = await change(sandbox, realmId, 'Customer', { DisplayName: name('Keep') });
        const b = await change(sandbox, realmId, 'Customer', { DisplayName: name('Lose') });
        const item = await serviceItem(sandbox, realmId, 'Mowing');
        const invoice = await change(sandbox, realmId, 'Invoice', {
          CustomerRef: { value: b.Id },
          Line: [
            {
              Amount: 40,
              DetailType: 'SalesItemLineDetail',
              SalesItemLineDetail: { ItemRef: { value: item.Id } },
            },
          ],
        });
        await svc.services.sync.fullSync(realmId);
        await settle(sandbox, svc);
        const merged = await control(sandbox, 'POST', `/companies/${realmId}/merge`, {
          entity: 'Customer',
          survivorId: a.Id,
          loserId: b.Id,
        });
        expect(merged.status).toBe(200);
        const notify = (body: Record<string, unknown>) =>
          control(sandbox, 'POST', '/webhooks/notify', { realmId, ...body });
        expect((await notify({ entity: 'Bill', id: '1', operation: 'Create' })).status).toBe(202);
        // A signed delivery for a company this service never connected.
        const stranger = `zz${randomBytes(4).toString('hex')}`;
        const body = JSON.stringify({
          eventNotifications: [
            {
              realmId: stranger,
              dataChangeEvent: { entities: [{ name: 'Customer', id: '1', operation: 'Update' }] },
            },
          ],
        });
        const sig = sign(svc, body);
        const posted = await svc.fetch('/api/quickbooks/webhook', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'intuit-signature': sig },
          body,
        });
        expect(posted.status).toBe(200);
        await settle(sandbox, svc);

        const loser = () =>
          svc.db
            .selectFrom('qbo_customers')
            .select(['merged_into_qbo_id', 'is_deleted'])
            .where('realm_id', '=', realmId)
            .where('qbo_id', '=', b.Id as string)
            .executeTakeFirstOrThrow();
        expect(await loser()).toEqual({ merged_into_qbo_id: a.Id, is_deleted: true });
        const moved = () =>
          svc.db
            .selectFrom('qbo_invoices')
            .select('customer_qbo_id')
            .where('realm_id', '=', realmId)
            .where('qbo_id', '=', invoice.Id as string)
            .executeTakeFirstOrThrow();
        expect(await moved()).toEqual({ customer_qbo_id: a.Id });
        // CDC reports the loser only as deleted: the pointer a Merge notification set stays.
        await svc.services.sync.incrementalSync(realmId);
        expect(await loser()).toEqual({ merged_into_qbo_id: a.Id, is_deleted: true });
        expect(await moved()).toEqual({ customer_qbo_id: a.Id });
        const reasons = async (where: ReturnType<typeof sql<boolean>>) =>
          (
            await svc.db
              .selectFrom('qbo_webhook_events')
              .select(['status', 'reason'])
              .where(where)
              .execute()
          ).map((e) => `${e.status}: ${e.reason}`);
        // The Bill may share a delivery with the merge: then the event is processed and says so.
        const bills = await reasons(
          sql<boolean>`realm_ids @> array[${realmId}]::text[] and entities @> array['Bill']`,
        );
        expect(bills).toHaveLength(1);
        expect(bills[0]).toMatch(/Bill is not mirrored/);
        expect(await reasons(sql<boolean>`realm_ids @> array[${stranger}]::text[]`)).toEqual([
          `skipped: realm ${stranger} is not connected to this service`,
        ]);
        const strangerCalls = await svc.db
          .selectFrom('qbo_request_log')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('realm_id', '=', stranger)
          .executeTakeFirstOrThrow();
        expect(Number(strangerCalls.n)).toBe(0);
      });
    });
  });
}

// QBO failing the reads: the events wait with the reason and back off, and once QBO answers
// again they are applied. Processing is driven by hand here (the service's wake-up is 10
// minutes away) so the backoff is read on the service's clock, not waited for.
describe('webhooks while QBO fails the reads', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startTestSandbox();
    await control(sandbox, 'PATCH', '/webhooks/options', { batchDelayMs: 50 });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  forEachDatabase((t) => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startTestService(t().db, sandbox);
    });
    afterAll(async () => {
      await svc?.close();
    });

    it('events wait with the reason and back off while QBO answers 503, and are applied once it recovers', async () => {
      const realmId = addCompany(sandbox).realmId;
      await connectRealm(svc, realmId);
      sandbox.updateApp(svc.clientId, {
        webhookUrl: `${svc.url}/api/quickbooks/webhook`,
        webhookFormat: 'legacy',
      });
      const c = await change(sandbox, realmId, 'Customer', { DisplayName: name('Ada') });
      await change(sandbox, realmId, 'Vendor', { DisplayName: name('Bolt') });
      await change(sandbox, realmId, 'Customer', {
        Id: c.Id,
        SyncToken: c.SyncToken,
        sparse: true,
        CompanyName: 'Ada Ltd',
      });
      await control(sandbox, 'POST', '/webhooks/flush');
      const events = () =>
        svc.db
          .selectFrom('qbo_webhook_events')
          .select(['status', 'reason', 'last_error', 'attempts', 'next_attempt_at'])
          .where(sql<boolean>`realm_ids @> array[${realmId}]::text[]`)
          .execute();
      expect((await events()).map((e) => e.status)).not.toHaveLength(0);

      const outage = await control(sandbox, 'POST', '/faults', {
        kind: 'outage',
        surface: 'accounting',
        realmId,
      });
      const { processor } = svc.services.webhooks;
      const firstAt = svc.clock.now();
      await processor.drain();
      const waiting = await events();
      for (const e of waiting) {
        expect(e).toMatchObject({ status: 'pending', attempts: 1 });
        expect(e.reason).toMatch(/^retrying: .*503/);
        expect(e.last_error).toMatch(/503/);
      }
      console.info(`[webhooks outage] ${waiting[0]!.reason}`);
      const firstRetry = Math.max(...waiting.map((e) => new Date(e.next_attempt_at!).getTime()));
      expect(firstRetry).toBeGreaterThan(svc.clock.now());

      // Not due yet: nothing is read again.
      await processor.drain();
      expect((await events()).map((e) => e.attempts)).toEqual(waiting.map(() => 1));

      svc.clock.advance(firstRetry - svc.clock.now());
      const retryAt = svc.clock.now();
      await processor.drain();
      const again = await events();
      for (const e of again) expect(e).toMatchObject({ status: 'pending', attempts: 2 });
      const secondRetry = Math.max(...again.map((e) => new Date(e.next_attempt_at!).getTime()));
      // Backoff: the second wait is longer than the first.
      expect(secondRetry - retryAt).toBeGreaterThan(firstRetry - firstAt);
      const hits = (await control(sandbox, 'GET', `/faults/${outage.body.id}`)).body.hits;
      expect(hits).toBeGreaterThan(0);

      await control(sandbox, 'DELETE', '/faults');
      svc.clock.advance(secondRetry - svc.clock.now());
      await processor.drain();
      for (const e of await events()) {
        expect(e).toMatchObject({ status: 'processed', attempts: 3, last_error: null });
        expect(e.reason).toMatch(/^applied/);
      }
      expect(await mirrorState(svc, realmId)).toEqual(qboState(sandbox, realmId));
      expect((await mirrorState(svc, realmId)).size).toBe(2);
    });
  });
});
