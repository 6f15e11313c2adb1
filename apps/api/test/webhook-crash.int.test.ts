// A crash between the 200 and the processing loses nothing: `npm start` (embedded, a child
// process) acknowledges a real sandbox delivery, is killed with SIGKILL before its webhook
// job runs, and processes the stored event after the restart. Processing is held back for
// the first run with QBO_WEBHOOK_COALESCE_MS so the kill lands in that window.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { WebhookEventsResponse } from '@qbo-sync/contract';
import { afterAll, describe, expect, it } from 'vitest';
import {
  admin,
  connectDemo,
  embeddedEnv,
  localSecrets,
  startEmbedded,
  stopEmbedded,
  type EmbeddedProcess,
} from './embedded-process.ts';
import { until } from './until.ts';

describe('webhooks survive a crash', () => {
  let dataDir = '';
  let p: EmbeddedProcess | null = null;
  afterAll(async () => {
    if (p) await stopEmbedded(p, 'SIGKILL');
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('an event acknowledged just before kill -9 is processed after the restart', async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'qbo-webhook-crash-'));
    const env = await embeddedEnv(dataDir);
    p = await startEmbedded({ ...env, QBO_WEBHOOK_COALESCE_MS: '600000' });
    const secrets = localSecrets(dataDir);
    await connectDemo(p, secrets.adminApiToken);
    const sandbox = (method: string, route: string, body?: unknown) =>
      fetch(`${p!.sandboxUrl}/_sandbox${route}`, {
        method,
        headers: {
          authorization: `Bearer ${secrets.sandboxControlToken}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const companies = await sandbox('GET', '/companies');
    const realmId = companies.body.companies[0].realmId as string;
    const displayName = `Crash ${randomBytes(4).toString('hex')}`;
    const created = await sandbox('POST', `/companies/${realmId}/entities/Customer`, {
      operation: 'create',
      body: { DisplayName: displayName },
    });
    expect(created.status).toBe(200);
    await sandbox('POST', '/webhooks/flush');

    // Stored and acknowledged, not processed: then the process dies.
    const pending = await until('the stored event', async () => {
      const r = await admin(
        p!,
        secrets.adminApiToken,
        'GET',
        '/api/quickbooks/webhook-events?status=pending',
      );
      const events = WebhookEventsResponse.parse(r.body).events;
      return (
        events.find((e) => e.realm_ids.includes(realmId) && e.entities.includes('Customer')) ?? null
      );
    });
    const delivered = await sandbox('GET', `/webhooks/deliveries?realmId=${realmId}`);
    expect(delivered.body.deliveries.some((d: { status: number }) => d.status === 200)).toBe(true);
    await stopEmbedded(p, 'SIGKILL');

    p = await startEmbedded(env);
    const done = await until('processing after the restart', async () => {
      const r = await admin(
        p!,
        secrets.adminApiToken,
        'GET',
        `/api/quickbooks/webhook-events?realmId=${realmId}`,
      );
      const e = WebhookEventsResponse.parse(r.body).events.find((x) => x.id === pending.id);
      return e && e.status !== 'pending' && e.status !== 'processing' ? e : null;
    });
    expect(done).toMatchObject({ status: 'processed', objects_applied: 1 });
  }, 400_000);
});
