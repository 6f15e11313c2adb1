// A web page the user visits can send "simple" requests (form posts, text/plain fetches) to
// a sandbox on localhost. None of them may reach the control API, with or without a token.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'qbo-sandbox-guard-'));
let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ port: 0, snapshotDir: dir });
});
afterAll(() => sb.close());

const EVIL = 'https://evil.example';

async function send(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
) {
  const res = await fetch(`${sb.url}${path}`, { method: init.method ?? 'POST', ...init });
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('json') && text !== '';
  return {
    status: res.status,
    headers: res.headers,
    body: json ? JSON.parse(text) : text,
  };
}

describe('the control API refuses web pages', () => {
  it('a cross-origin text/plain POST to /_sandbox/snapshot is refused and writes no file', async () => {
    const file = join(dir, 'from-a-web-page.jsonl');
    const res = await send('/_sandbox/snapshot', {
      headers: { origin: EVIL, 'content-type': 'text/plain;charset=UTF-8' },
      body: JSON.stringify({ file }),
    });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: 'forbidden' });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(existsSync(file)).toBe(false);
  });

  it('a write whose body is not JSON is refused with 415, whatever its origin', async () => {
    const file = join(dir, 'not-json.jsonl');
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await send('/_sandbox/snapshot', {
        headers: { 'content-type': type },
        body: JSON.stringify({ file }),
      });
      expect(res.status, type).toBe(415);
      expect(res.body).toMatchObject({ error: 'unsupported_media_type' });
    }
    // A body without any content type (what a no-cors fetch of a Blob sends) too.
    const untyped = await fetch(`${sb.url}/_sandbox/snapshot`, {
      method: 'POST',
      body: new Blob([JSON.stringify({ file })]),
    });
    expect(untyped.status).toBe(415);
    expect(existsSync(file)).toBe(false);
    const companies = await send('/_sandbox/companies', {
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(companies.status).toBe(415);
    expect(sb.listCompanies()).toHaveLength(0);
  });

  it('reads are refused to other origins too: apps and the journal hold secrets', async () => {
    for (const path of ['/_sandbox/apps', '/_sandbox/requests', '/_sandbox/health']) {
      expect((await send(path, { method: 'GET', headers: { origin: EVIL } })).status).toBe(403);
      expect(
        (await send(path, { method: 'GET', headers: { 'sec-fetch-site': 'cross-site' } })).status,
      ).toBe(403);
    }
    // Another port on localhost is another origin (any local dev server's page).
    const sameSite = await send('/_sandbox/apps', {
      method: 'GET',
      headers: { origin: 'http://localhost:1', 'sec-fetch-site': 'same-site' },
    });
    expect(sameSite.status).toBe(403);
    expect(
      (await send('/_sandbox/apps', { method: 'GET', headers: { origin: 'null' } })).status,
    ).toBe(403);
  });

  it('a CORS preflight is never granted', async () => {
    const res = await send('/_sandbox/snapshot', {
      method: 'OPTIONS',
      headers: {
        origin: EVIL,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('scripts, curl and the sandbox own origin keep working', async () => {
    const json = { 'content-type': 'application/json' };
    const created = await send('/_sandbox/companies', { headers: json, body: '{}' });
    expect(created.status).toBe(201);
    const own = await send('/_sandbox/apps', {
      headers: { ...json, origin: sb.url },
      body: JSON.stringify({ redirectUris: ['http://localhost/cb'] }),
    });
    expect(own.status).toBe(201);
    const port = new URL(sb.url).port;
    const alias = await send('/_sandbox/apps', {
      method: 'GET',
      headers: { origin: `http://localhost:${port}`, 'sec-fetch-site': 'same-origin' },
    });
    expect(alias.status).toBe(200);
    // A write without a body needs no content type (curl -X POST, fetch with no body).
    expect((await send('/_sandbox/webhooks/flush', {})).status).toBe(200);
    expect((await send('/_sandbox/stats', { method: 'DELETE' })).status).toBe(204);
    const charset = await send('/_sandbox/snapshot', {
      headers: { 'content-type': 'Application/JSON; charset=utf-8' },
      body: JSON.stringify({ file: 'ok.jsonl' }),
    });
    expect(charset.status).toBe(200);
  });

  it("Intuit's endpoints, the consent page included, are not affected", async () => {
    const consent = await send('/connect/oauth2', {
      headers: { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'client_id=nobody',
    });
    expect([403, 415]).not.toContain(consent.status);
    const token = await send('/oauth2/v1/tokens/bearer', {
      headers: { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token&refresh_token=x',
    });
    expect(token.status).toBe(401);
  });
});
