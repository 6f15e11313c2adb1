// /healthz and /readyz over HTTP, as an orchestrator calls them: no credentials.
import { HealthResponse, ReadinessResponse } from '@qbo-sync/contract';
import { expect, it } from 'vitest';
import { forEachService } from './service-harness.ts';

forEachService((env) => {
  it('/healthz answers ok and /readyz reports each check, without credentials', async () => {
    const alive = await env.svc.fetch('/healthz');
    expect(alive.status).toBe(200);
    expect(HealthResponse.parse(await alive.json())).toEqual({ status: 'ok' });

    const ready = await env.svc.fetch('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.headers.get('cache-control')).toBe('no-store');
    const body = ReadinessResponse.parse(await ready.json());
    expect(body).toMatchObject({
      ready: true,
      checks: {
        database: { ok: true },
        redis: process.env.REDIS_URL ? { ok: true } : null,
        migrations: { ok: true, pending: [] },
      },
    });
  });
});
