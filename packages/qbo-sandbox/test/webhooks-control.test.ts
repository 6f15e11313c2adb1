import { createHmac } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from './helpers.ts';
import { recordingJson } from './recordings.ts';
import { startReceiver, sleep } from './webhooks-receiver.ts';
import { issueTokens } from '../src/oauth/tokens.ts';
import { signPayload, verifySignature } from '../src/webhooks/signer.ts';
import { buildLegacyBody } from '../src/webhooks/payloads.ts';
import type { Company, EntityName, QboObject } from '../src/core/company.ts';
import type { DeepPartial, SandboxConfig } from '../src/config.ts';

const fixture = (name: string) => recordingJson(`intuit-dotnet-sdk/webhooks/${name}`);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const hmac = (body: string, token: string) =>
  createHmac('sha256', token).update(body).digest('base64');

function change(t: TestSandbox, entity: EntityName, id: string, company: Company = t.company) {
  const now = company.formatTime(Date.now());
  const o: QboObject = {
    Id: id,
    SyncToken: '0',
    domain: 'QBO',
    sparse: false,
    MetaData: { CreateTime: now, LastUpdatedTime: now },
  };
  company.put(entity, o, t.sandbox.state.clock.now(), 'Create');
}

async function setup(webhooks: DeepPartial<SandboxConfig['webhooks']> = {}) {
  const t = await startTestSandbox({
    config: { webhooks: { batchDelayMs: 40, retryScale: 0.001, ...webhooks } },
  });
  const rx = await startReceiver();
  cleanups.push(
    () => rx.close(),
    () => t.close(),
  );
  t.app.webhookUrl = rx.url;
  const control = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${t.sandbox.url}/_sandbox/webhooks${p}`, {
      method,
      ...(body === undefined
        ? {}
        : {
            headers: { 'content-type': 'application/json' },
            body: typeof body === 'string' ? body : JSON.stringify(body),
          }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  return { t, rx, control };
}

const entitiesOf = (body: string): string[] =>
  JSON.parse(body).eventNotifications.flatMap((n: any) =>
    n.dataChangeEvent.entities.map((e: any) => `${e.name}:${e.id}`),
  );

describe('webhook signature', () => {
  it("the recorded Intuit vector verifies: the .NET SDK's token over its body gives its signature", () => {
    const f = fixture('eventNotifications_verify.json');
    expect(f.verifier_token).toBe('00faeec4-08d0-4996-bb37-698ae19f0149');
    expect(signPayload(f.payload_raw, f.verifier_token)).toBe(
      '6q+xGyMirJupwKTh2/WBl2NcdxzxqdIbk3sneKTxLWM=',
    );
    expect(signPayload(f.payload_raw, f.verifier_token)).toBe(f.expected_signature);
    expect(verifySignature(f.payload_raw, f.expected_signature, f.verifier_token)).toBe(true);
    expect(verifySignature(f.payload_raw + ' ', f.expected_signature, f.verifier_token)).toBe(
      false,
    );
    const ce = fixture('cloudevents_parse.json');
    expect(signPayload(ce.payload_raw, ce.verifier_token)).toBe(ce.computed_signature);
  });

  it("the legacy body the sandbox builds for the SDK's two changes is Intuit's body byte for byte", () => {
    const f = fixture('eventNotifications_verify.json');
    const body = buildLegacyBody([
      {
        realmId: '1269959970',
        entity: 'Vendor',
        id: '40',
        operation: 'Update',
        at: Date.parse('2016-10-05T03:09:04.000Z'),
      },
      {
        realmId: '1269959970',
        entity: 'Customer',
        id: '43',
        operation: 'Create',
        at: Date.parse('2016-10-05T03:07:04.000Z'),
      },
    ]);
    expect(body).toBe(f.payload_raw);
    expect(signPayload(body, f.verifier_token)).toBe(f.expected_signature);
  });
});

describe('webhooks control API', () => {
  it('flush sends pending changes at once instead of waiting for the batch window', async () => {
    const { t, rx, control } = await setup({ batchDelayMs: 60_000 });
    change(t, 'Customer', '1');
    change(t, 'Vendor', '2');
    expect((await control('GET', '/pending')).body.pending).toEqual([
      { clientId: t.app.clientId, collecting: 2, queued: 0, waitingForRetry: false },
    ]);
    const res = await control('POST', '/flush');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ attempts: 1, delivered: 1, failed: 0, retrying: 0, pending: 0 });
    // Resolved only after the receiver answered.
    expect(rx.hits).toHaveLength(1);
    expect(entitiesOf(rx.hits[0]!.body)).toEqual(['Customer:1', 'Vendor:2']);
    expect((await control('POST', '/flush')).body.attempts).toBe(0);
  });

  it("injected 'fail' counts attempts as failed without sending; the retry then delivers", async () => {
    const { t, rx, control } = await setup({ batchDelayMs: 60_000, retryScale: 100 });
    const rule = await control('POST', '/failures', {
      mode: 'fail',
      count: 2,
      clientId: t.app.clientId,
    });
    expect(rule.status).toBe(201);
    expect(rule.body).toMatchObject({ mode: 'fail', remaining: 2, until: null });
    change(t, 'Customer', '1');
    expect((await control('POST', '/flush')).body).toMatchObject({ retrying: 1, pending: 1 });
    expect((await control('POST', '/flush')).body).toMatchObject({ retrying: 1, pending: 1 });
    expect(rx.hits).toHaveLength(0);
    expect((await control('POST', '/flush')).body).toMatchObject({ delivered: 1, pending: 0 });
    expect(rx.hits).toHaveLength(1);
    const { body } = await control('GET', '/deliveries');
    expect(body.deliveries.map((d: any) => [d.attempt, d.sent, d.injected, d.result])).toEqual([
      [1, false, 'fail', 'retrying'],
      [2, false, 'fail', 'retrying'],
      [3, true, null, 'delivered'],
    ]);
    expect((await control('GET', '/failures')).body.failures).toEqual([]);
  });

  it("injected 'drop' sends the notification but treats it as failed, so it arrives again", async () => {
    const { t, rx, control } = await setup({ batchDelayMs: 60_000, retryScale: 100 });
    await control('POST', '/failures', { mode: 'drop' });
    change(t, 'Customer', '1');
    await control('POST', '/flush');
    await control('POST', '/flush');
    expect(rx.hits).toHaveLength(2);
    expect(rx.hits[0]!.body).toBe(rx.hits[1]!.body);
    const { body } = await control('GET', '/deliveries');
    expect(body.deliveries.map((d: any) => [d.status, d.injected, d.result])).toEqual([
      [200, 'drop', 'retrying'],
      [200, null, 'delivered'],
    ]);
  });

  it('a failure window (durationMs) fails every attempt until it lapses', async () => {
    const { t, rx, control } = await setup({ batchDelayMs: 60_000, retryScale: 100 });
    await control('POST', '/failures', { mode: 'fail', durationMs: 150 });
    change(t, 'Customer', '1');
    await control('POST', '/flush');
    await control('POST', '/flush');
    expect(rx.hits).toHaveLength(0);
    await sleep(200);
    await control('POST', '/flush');
    expect(rx.hits).toHaveLength(1);
  });

  it('duplicate: every notification is sent twice with the same body and signature', async () => {
    const { t, rx, control } = await setup();
    expect((await control('PATCH', '/options', { duplicate: true })).body.duplicate).toBe(true);
    change(t, 'Customer', '1');
    await rx.waitFor(2);
    await sleep(100);
    expect(rx.hits).toHaveLength(2);
    expect(rx.hits[1]!.body).toBe(rx.hits[0]!.body);
    expect(rx.hits[1]!.headers['intuit-signature']).toBe(rx.hits[0]!.headers['intuit-signature']);
    const { body } = await control('GET', '/deliveries');
    expect(body.deliveries.map((d: any) => d.duplicate)).toEqual([false, true]);
  });

  it('duplicateProbability duplicates some notifications, the same ones for the same seed', async () => {
    const run = async () => {
      const { t, rx, control } = await setup({ batchDelayMs: 60_000 });
      await control('PATCH', '/options', { duplicateProbability: 0.5, seed: 7 });
      for (let i = 1; i <= 12; i++) {
        change(t, 'Customer', String(i));
        await control('POST', '/flush');
      }
      return rx.hits.map((h) => entitiesOf(h.body)[0]);
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    expect(a.length).toBeGreaterThan(12);
    expect(a.length).toBeLessThan(24);
  });

  it('reorder: entities arrive shuffled and split across batches, none lost, repeatably for one seed', async () => {
    const run = async () => {
      const { t, rx, control } = await setup({ batchDelayMs: 30 });
      await control('PATCH', '/options', { reorder: true, seed: 3 });
      for (let i = 1; i <= 10; i++) change(t, 'Customer', String(i));
      const until = Date.now() + 5000;
      while (rx.hits.flatMap((h) => entitiesOf(h.body)).length < 10 && Date.now() < until)
        await sleep(10);
      return rx.hits.map((h) => entitiesOf(h.body));
    };
    const batches = await run();
    const all = batches.flat();
    expect([...all].sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `Customer:${i + 1}`).sort(),
    );
    expect(batches.length).toBeGreaterThan(1);
    expect(all).not.toEqual(Array.from({ length: 10 }, (_, i) => `Customer:${i + 1}`));
    expect(await run()).toEqual(batches);
  });

  it('options can be read and changed; batchDelayMs applies to the next batch', async () => {
    const { t, rx, control } = await setup({ batchDelayMs: 60_000 });
    const before = await control('GET', '/options');
    expect(before.body).toMatchObject({ batchDelayMs: 60_000, duplicate: false, reorder: false });
    const after = await control('PATCH', '/options', { batchDelayMs: 10, retryScale: 0.5 });
    expect(after.body).toMatchObject({ batchDelayMs: 10, retryScale: 0.5 });
    change(t, 'Customer', '1');
    await rx.waitFor(1, 2000);
  });

  it('notify delivers a Merge with deletedId in both formats without changing data', async () => {
    const { t, rx, control } = await setup();
    const ce = await startReceiver();
    cleanups.push(() => ce.close());
    const app2 = t.sandbox.registerApp({
      redirectUris: ['http://x/cb'],
      webhookUrl: ce.url,
      webhookFormat: 'cloudevents',
    });
    issueTokens(
      { state: t.sandbox.state, config: t.sandbox.config },
      { clientId: app2.clientId, realmId: t.realmId, scopes: ['com.intuit.quickbooks.accounting'] },
    );
    const res = await control('POST', '/notify', {
      realmId: t.realmId,
      entity: 'customer',
      id: '123',
      operation: 'Merge',
      deletedId: '27',
      lastUpdated: '2025-12-04T15:25:05Z',
    });
    expect(res.status).toBe(202);
    expect(res.body.queuedFor.sort()).toEqual([t.app.clientId, app2.clientId].sort());
    await control('POST', '/flush');

    const legacy = JSON.parse(rx.hits[0]!.body).eventNotifications[0].dataChangeEvent.entities[0];
    expect(legacy).toEqual({
      name: 'Customer',
      id: '123',
      operation: 'Merge',
      lastUpdated: '2025-12-04T15:25:05.000Z',
      deletedId: '27',
    });
    const [event] = JSON.parse(ce.hits[0]!.body);
    expect(event).toMatchObject({
      type: 'qbo.customer.merged.v1',
      intuitentityid: '123',
      intuitaccountid: t.realmId,
      time: '2025-12-04T15:25:05.000Z',
      data: { deletedid: '27' },
    });
    expect(ce.hits[0]!.headers['intuit-signature']).toBe(
      hmac(ce.hits[0]!.body, app2.verifierToken),
    );
    expect(t.company.get('Customer', '123')).toBeUndefined();
  });

  it('notify covers webhook entities the sandbox does not store, e.g. an emailed Estimate', async () => {
    const { t, rx, control } = await setup();
    t.app.webhookFormat = 'cloudevents';
    await control('POST', '/notify', {
      realmId: t.realmId,
      entity: 'Estimate',
      id: '8',
      operation: 'Emailed',
    });
    await control('POST', '/flush');
    expect(JSON.parse(rx.hits[0]!.body)[0].type).toBe('qbo.estimate.emailed.v1');
  });

  it('the deliveries log filters by app and realm and keeps the most recent `limit` attempts', async () => {
    const { t, control } = await setup({ batchDelayMs: 60_000 });
    for (let i = 1; i <= 3; i++) {
      change(t, 'Customer', String(i));
      await control('POST', '/flush');
    }
    const all = (await control('GET', '/deliveries')).body.deliveries;
    expect(all).toHaveLength(3);
    const last2 = (await control('GET', '/deliveries?limit=2')).body.deliveries;
    expect(last2.map((d: any) => d.id)).toEqual(all.slice(1).map((d: any) => d.id));
    expect((await control('GET', `/deliveries?realmId=${t.realmId}`)).body.deliveries).toHaveLength(
      3,
    );
    expect((await control('GET', '/deliveries?realmId=1')).body.deliveries).toHaveLength(0);
    expect((await control('GET', '/deliveries?clientId=nobody')).body.deliveries).toHaveLength(0);
  });

  it('bad control requests answer 400 invalid_request with the reason', async () => {
    const { t, control } = await setup();
    const cases: [string, string, unknown][] = [
      ['GET', '/deliveries?limit=0', undefined],
      ['GET', '/deliveries?color=red', undefined],
      ['POST', '/failures', { count: 1 }],
      ['POST', '/failures', { mode: 'explode' }],
      ['POST', '/failures', { mode: 'fail', clientId: 'nobody' }],
      ['POST', '/failures', '{not json'],
      ['PATCH', '/options', { duplicateProbability: 2 }],
      ['PATCH', '/options', { batchDelay: 5 }],
      ['POST', '/notify', { realmId: t.realmId, entity: 'Customer', id: '1', operation: 'Merge' }],
      [
        'POST',
        '/notify',
        { realmId: t.realmId, entity: 'Customer', id: '1', operation: 'Update', deletedId: '2' },
      ],
      [
        'POST',
        '/notify',
        { realmId: t.realmId, entity: 'CompanyInfo', id: '1', operation: 'Update' },
      ],
      ['POST', '/notify', { realmId: 'nope', entity: 'Customer', id: '1', operation: 'Update' }],
      ['POST', '/notify', { realmId: t.realmId, entity: 'Customer', id: '1', operation: 'Upsert' }],
      ['POST', '/notify', undefined],
    ];
    for (const [method, p, body] of cases) {
      const res = await control(method, p, body);
      expect({ method, p, status: res.status }).toEqual({ method, p, status: 400 });
      expect(res.body.error).toBe('invalid_request');
      expect(res.body.error_description).toEqual(expect.any(String));
    }
  });
});

describe('webhooks shutdown', () => {
  it('close() clears batch and retry timers: nothing fires afterwards and the process exits on its own', async () => {
    const src = path.resolve(import.meta.dirname, '../src');
    // Every timer created through setTimeout is tracked until it fires or is cleared, so a
    // timer that close() forgot shows up even though the sandbox unrefs its timers.
    const script = `
      const live = new Set();
      const realSet = globalThis.setTimeout, realClear = globalThis.clearTimeout;
      globalThis.setTimeout = (fn, ms, ...args) => {
        const t = realSet((...a) => { live.delete(t); fn(...a); }, ms, ...args);
        live.add(t);
        return t;
      };
      globalThis.clearTimeout = (t) => { live.delete(t); realClear(t); };
      const http = await import('node:http');
      const { startSandbox } = await import(${JSON.stringify(path.join(src, 'index.ts'))});
      const { issueTokens } = await import(${JSON.stringify(path.join(src, 'oauth/tokens.ts'))});
      let hits = 0;
      const rx = http.createServer((req, res) => { hits++; req.resume(); req.on('end', () => res.writeHead(500).end()); });
      await new Promise((r) => rx.listen(0, '127.0.0.1', r));
      const sb = await startSandbox({ port: 0, config: { webhooks: { batchDelayMs: 50, retryScale: 0.05 } } });
      const co = sb.addCompany();
      const app = sb.registerApp({ redirectUris: ['http://x/cb'], webhookUrl: 'http://127.0.0.1:' + rx.address().port + '/' });
      issueTokens({ state: sb.state, config: sb.config }, { clientId: app.clientId, realmId: co.realmId, scopes: [] });
      const put = (id) => co.put('Customer', { Id: id, SyncToken: '0', domain: 'QBO', sparse: false, MetaData: {} }, Date.now(), 'Create');
      put('1');
      while (hits < 1) await new Promise((r) => realSet(r, 5));
      await new Promise((r) => realSet(r, 20)); // attempt 1 failed: a 500 ms retry is armed
      put('2'); // and a 50 ms batch window is open
      const before = live.size;
      await sb.close();
      const after = live.size;
      await new Promise((r) => realSet(r, 800)); // past both timers
      rx.close();
      console.log(JSON.stringify({ before, after, hits }));
    `;
    const started = Date.now();
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { timeout: 8000, cwd: path.resolve(import.meta.dirname, '..') },
        (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    const result = JSON.parse(out.trim().split('\n').pop()!);
    expect(result.before).toBeGreaterThanOrEqual(2);
    expect(result).toMatchObject({ after: 0, hits: 1 });
    expect(Date.now() - started).toBeLessThan(8000);
  });
});
