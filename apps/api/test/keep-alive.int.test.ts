// A company nobody calls for months stays connected: the daily keep-alive refreshes every
// connected company whose rolling refresh-token expiry is within 30 days, against the real
// sandbox's token endpoint, and leaves the others alone.
import { expect, it } from 'vitest';
import { MetricsResponse } from '@qbo-sync/contract';
import {
  KEEP_ALIVE_JOB,
  keepConnectionsAlive,
  scheduleKeepAlive,
} from '../src/lib/quickbooks/connection/keep-alive.ts';
import { addCompany, connectRealm, forEachService } from './service-harness.ts';

const DAY = 86_400_000;

forEachService((env) => {
  const rolling = async (realmId: string) =>
    (
      await env.db
        .selectFrom('qbo_tokens')
        .select('refresh_token_expires_at')
        .where('realm_id', '=', realmId)
        .executeTakeFirstOrThrow()
    ).refresh_token_expires_at.getTime();

  it('refreshes a company idle for 75 days, not one refreshed last week, nor a disconnected one', async () => {
    const idle = addCompany(env.sandbox, 'Idle Co');
    await connectRealm(env.svc, idle.realmId);
    const gone = addCompany(env.sandbox, 'Gone Co');
    await connectRealm(env.svc, gone.realmId);
    await env.svc.admin('POST', `/api/quickbooks/disconnect?realmId=${gone.realmId}`);

    env.svc.clock.advance(75 * DAY);
    const busy = addCompany(env.sandbox, 'Busy Co');
    await connectRealm(env.svc, busy.realmId);
    const idleBefore = await rolling(idle.realmId);
    const busyBefore = await rolling(busy.realmId);

    const s = env.svc.services;
    const r = await keepConnectionsAlive({
      db: env.db,
      tokens: s.tokens,
      clock: s.clock,
      logger: s.logger,
    });
    expect(r.due).toContain(idle.realmId);
    expect(r.due).not.toContain(busy.realmId);
    expect(r.due).not.toContain(gone.realmId);
    expect(r.refreshed).toContain(idle.realmId);
    expect(r.failed).toEqual([]);
    // The new token's term starts now: about 100 days from the (advanced) clock.
    const idleAfter = await rolling(idle.realmId);
    expect(idleAfter - idleBefore).toBeGreaterThan(70 * DAY);
    expect(await rolling(busy.realmId)).toBe(busyBefore);

    const m = MetricsResponse.parse(
      (await env.svc.admin('GET', `/api/quickbooks/metrics?realmId=${idle.realmId}`)).body,
    );
    expect(m.alerts.refresh_token_expiring.active).toBe(false);

    // The grant's 5-year end cannot be refreshed away: announced 60 days ahead.
    await env.db
      .updateTable('qbo_tokens')
      .set({ refresh_token_hard_expires_at: new Date(s.clock.now() + 45 * DAY) })
      .where('realm_id', '=', idle.realmId)
      .execute();
    const hard = MetricsResponse.parse(
      (await env.svc.admin('GET', `/api/quickbooks/metrics?realmId=${idle.realmId}`)).body,
    );
    expect(hard.alerts.refresh_token_expiring.active).toBe(true);
    expect(hard.alerts.refresh_token_expiring.message).toMatch(/ends for good in 45\.0 days/);
  });

  it('is scheduled daily at 02:00 UTC through the jobs layer', async () => {
    const jobs = env.svc.services.jobs;
    await scheduleKeepAlive(jobs);
    const entry = (await jobs.scheduled()).find((e) => e.name === KEEP_ALIVE_JOB);
    expect(entry?.cron).toBe('0 2 * * *');
    const next = new Date(entry!.next);
    expect([next.getUTCHours(), next.getUTCMinutes()]).toEqual([2, 0]);
  });
});
