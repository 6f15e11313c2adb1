import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox } from '../src/index.ts';
import type { Company } from '../src/core/company.ts';
import { SandboxState } from '../src/core/state.ts';
import { SnapshotWriter } from '../src/core/autosave.ts';
import { loadSnapshot, type SnapshotSummary } from '../src/core/snapshot.ts';
import { startTestSandbox, type TestSandbox } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'qbo-sandbox-snapshot-'));
let t: TestSandbox;
beforeAll(async () => {
  t = await startTestSandbox({ snapshotDir: dir, config: { limits: { enabled: false } } });
});
afterAll(() => t.close());

async function post(url: string, path: string, body: unknown) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** Everything a snapshot must carry, as comparable JSON. */
function dump(state: SandboxState) {
  const company = (c: Company) => ({
    realmId: c.realmId,
    companyName: c.companyName,
    offsetMinutes: c.offsetMinutes,
    createdAt: c.createdAt,
    counters: c.exportCounters(),
    tables: [...c.tables].map(([e, t]) => [e, [...t.values()]]),
    tombstones: [...c.tombstones].map(([e, t]) => [e, [...t.values()]]),
  });
  return {
    companies: [...state.companies.values()].map(company),
    apps: [...state.apps.values()],
    accessTokens: [...state.accessTokens.values()],
    refreshTokens: [...state.refreshTokens.values()],
    authCodes: [...state.authCodes.values()],
  };
}

describe('snapshots', () => {
  it('a saved snapshot loads into another sandbox with identical state, and its tokens still work', async () => {
    const seeded = await post(t.sandbox.url, `/_sandbox/companies/${t.realmId}/seed`, {
      seed: 11,
      entities: 2000,
    });
    expect(seeded.status).toBe(200);
    // A deleted invoice leaves a tombstone that CDC must still report after a reload.
    const inv = t.company.get('Invoice', '1')!;
    const del = await t.api('/invoice?operation=delete', {
      body: { Id: inv.Id, SyncToken: inv.SyncToken },
    });
    expect(del.status).toBe(200);
    // Less than the access token's hour, so the token copied with the state stays valid.
    t.sandbox.state.clock.advance(30 * 60 * 1000);

    const file = join(dir, 'round-trip.jsonl');
    const saved = await post(t.sandbox.url, '/_sandbox/snapshot', { file });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ file, companies: 1 });
    expect(saved.body.entities).toBeGreaterThan(1900);

    const other = await startSandbox({ port: 0, snapshotDir: dir });
    try {
      const loaded = await post(other.url, '/_sandbox/snapshot/load', { file });
      expect(loaded.status).toBe(200);
      expect(loaded.body.entities).toBe(saved.body.entities);
      expect(dump(other.state)).toEqual(dump(t.sandbox.state));
      const offset = other.state.clock.now() - Date.now();
      expect(Math.abs(offset - 30 * 60 * 1000)).toBeLessThan(5000);
      const c = other.state.companies.get(t.realmId)!;
      expect(c.tombstones.get('Invoice')!.has('1')).toBe(true);

      const res = await fetch(`${other.url}/v3/company/${t.realmId}/invoice/2`, {
        headers: { authorization: `Bearer ${t.accessToken}`, accept: 'application/json' },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).Invoice).toEqual(t.company.get('Invoice', '2'));
      // Counters travel too: the next id and DocNumber continue where the original left off.
      expect(c.nextDocNumber()).toBe(t.company.nextDocNumber());
      expect(c.allocateId('Customer')).toBe(t.company.allocateId('Customer'));
    } finally {
      await other.close();
    }
  });

  it('startSandbox with snapshotFile saves on close and restores on the next start', async () => {
    const file = join(dir, 'nested', 'auto.jsonl');
    const first = await startSandbox({ port: 0, snapshotFile: file });
    const company = first.addCompany({ companyName: 'Persisted Co' });
    const seeded = await post(first.url, `/_sandbox/companies/${company.realmId}/seed`, {
      seed: 12,
      preset: 'small',
    });
    expect(seeded.status).toBe(200);
    const app = first.registerApp({ redirectUris: ['http://localhost/cb'] });
    const before = dump(first.state);
    await first.close();

    const second = await startSandbox({ port: 0, snapshotFile: file });
    try {
      expect(dump(second.state)).toEqual(before);
      expect(second.state.apps.get(app.clientId)?.clientSecret).toBe(app.clientSecret);
      // Without a file in the body, the route uses the sandbox's snapshot file.
      const saved = await post(second.url, '/_sandbox/snapshot', {});
      expect(saved.status).toBe(200);
      expect(saved.body.file).toBe(file);
    } finally {
      await second.close();
    }
  });

  it('a missing, foreign or truncated file is refused and leaves the state untouched', async () => {
    const good = join(dir, 'good.jsonl');
    expect((await post(t.sandbox.url, '/_sandbox/snapshot', { file: good })).status).toBe(200);
    const before = dump(t.sandbox.state);

    const missing = await post(t.sandbox.url, '/_sandbox/snapshot/load', {
      file: join(dir, 'nope.jsonl'),
    });
    expect(missing.status).toBe(404);

    const foreign = join(dir, 'foreign.json');
    writeFileSync(foreign, '{"hello":"world"}\n');
    const bad = await post(t.sandbox.url, '/_sandbox/snapshot/load', { file: foreign });
    expect(bad.status).toBe(400);
    expect(bad.body.error_description).toMatch(/not a qbo-sandbox snapshot/);

    const truncated = join(dir, 'truncated.jsonl');
    const lines = readFileSync(good, 'utf8').split('\n');
    writeFileSync(truncated, lines.slice(0, Math.floor(lines.length / 2)).join('\n'));
    const cut = await post(t.sandbox.url, '/_sandbox/snapshot/load', { file: truncated });
    expect(cut.status).toBe(400);
    expect(cut.body.error_description).toMatch(/truncated/);

    expect(dump(t.sandbox.state)).toEqual(before);
  });

  it('saving without a file when the sandbox has no snapshot file answers 400', async () => {
    const res = await post(t.sandbox.url, '/_sandbox/snapshot', {});
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    const typo = await post(t.sandbox.url, '/_sandbox/snapshot', { path: 'x.jsonl' });
    expect(typo.status).toBe(400);
  });
});

describe('snapshot files stay where the sandbox was told', () => {
  it('a file outside the snapshot directory is refused (absolute, "..", a symbolic link) and nothing is written or read there', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'qbo-sandbox-elsewhere-'));
    writeFileSync(join(elsewhere, 'planted.jsonl'), readFileSync(join(dir, 'good.jsonl')));
    symlinkSync(elsewhere, join(dir, 'escape'));
    symlinkSync(join(elsewhere, 'planted.jsonl'), join(dir, 'planted.jsonl'));
    try {
      for (const file of [
        join(elsewhere, 'absolute.jsonl'),
        `../${basename(elsewhere)}/dots.jsonl`,
        join(dir, '..', basename(elsewhere), 'dots.jsonl'),
        'escape/linked.jsonl',
        join(dir, 'escape', 'linked.jsonl'),
      ]) {
        const saved = await post(t.sandbox.url, '/_sandbox/snapshot', { file });
        expect(saved.status, file).toBe(400);
        expect(saved.body.error_description).toMatch(/inside the snapshot directory/);
      }
      expect(readdirSync(elsewhere)).toEqual(['planted.jsonl']);
      for (const file of ['planted.jsonl', 'escape/planted.jsonl', '..']) {
        const loaded = await post(t.sandbox.url, '/_sandbox/snapshot/load', { file });
        expect(loaded.status, file).toBe(400);
      }
    } finally {
      rmSync(join(dir, 'escape'));
      rmSync(join(dir, 'planted.jsonl'));
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('a relative name is a file inside the snapshot directory, written readable by its owner only', async () => {
    const saved = await post(t.sandbox.url, '/_sandbox/snapshot', { file: 'sub/relative.jsonl' });
    expect(saved.status).toBe(200);
    const file = join(dir, 'sub', 'relative.jsonl');
    expect(saved.body.file).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['relative.jsonl']); // no temporary file left
  });

  it('without a snapshot directory only the snapshot file may be used; without either, none', async () => {
    const own = join(dir, 'own', 'own.jsonl');
    const other = join(dir, 'own', 'other.jsonl');
    const sb = await startSandbox({ port: 0, snapshotFile: own });
    try {
      const refused = await post(sb.url, '/_sandbox/snapshot', { file: other });
      expect(refused.status).toBe(400);
      expect(refused.body.error_description).toMatch(/only be the sandbox's snapshot file/);
      expect(existsSync(other)).toBe(false);
      expect((await post(sb.url, '/_sandbox/snapshot', { file: own })).status).toBe(200);
      const load = await post(sb.url, '/_sandbox/snapshot/load', { file: join(dir, 'good.jsonl') });
      expect(load.status).toBe(400);
    } finally {
      await sb.close();
    }
    const bare = await startSandbox({ port: 0 });
    try {
      const refused = await post(bare.url, '/_sandbox/snapshot', { file: other });
      expect(refused.status).toBe(400);
      expect(existsSync(other)).toBe(false);
    } finally {
      await bare.close();
    }
  });
});

describe('autosave', () => {
  const onDisk = async (file: string): Promise<SandboxState> => {
    const state = new SandboxState({ baseUrl: '', journalSize: 1, journalBodies: false });
    await loadSnapshot(state, file);
    return state;
  };

  it('tokens are in the snapshot file before the answer that hands them out or revokes them', async () => {
    const file = join(dir, 'autosave', 'tokens.jsonl');
    const sb = await startSandbox({ port: 0, snapshotFile: file });
    try {
      const company = sb.addCompany({ companyName: 'Autosaved Co' });
      const app = sb.registerApp({ redirectUris: ['http://localhost/cb'] });
      const minted = await post(sb.url, '/_sandbox/tokens', {
        clientId: app.clientId,
        realmId: company.realmId,
      });
      expect(minted.status).toBe(200);
      let saved = await onDisk(file);
      expect(saved.apps.get(app.clientId)?.clientSecret).toBe(app.clientSecret);
      expect(saved.refreshTokens.has(minted.body.refresh_token)).toBe(true);

      const basic = Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64');
      const token = (body: Record<string, string>, path = '/oauth2/v1/tokens/bearer') =>
        fetch(`${sb.url}${path}`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${basic}`,
            accept: 'application/json',
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams(body),
        });
      const refreshed = await token({
        grant_type: 'refresh_token',
        refresh_token: minted.body.refresh_token,
      });
      expect(refreshed.status).toBe(200);
      const rotated = (await refreshed.json()) as { access_token: string; refresh_token: string };
      saved = await onDisk(file);
      expect(saved.refreshTokens.get(rotated.refresh_token)?.revoked).toBe(false);
      expect(saved.accessTokens.has(rotated.access_token)).toBe(true);
      expect(saved.refreshTokens.get(minted.body.refresh_token)?.supersededAt).toBeDefined();

      const revoked = await token({ token: rotated.refresh_token }, '/v2/oauth2/tokens/revoke');
      expect(revoked.status).toBe(200);
      saved = await onDisk(file);
      expect(saved.refreshTokens.get(rotated.refresh_token)?.revoked).toBe(true);
    } finally {
      await sb.close();
    }
  });

  it('a token change that cannot be written answers 500 instead of handing out the tokens', async () => {
    const file = join(dir, 'autosave', 'blocked.jsonl');
    const sb = await startSandbox({ port: 0, snapshotFile: file });
    const errors: unknown[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      const company = sb.addCompany();
      const app = sb.registerApp({ redirectUris: ['http://localhost/cb'] });
      await sb.save();
      // A directory where the file should be: the rename at the end of every write fails.
      rmSync(file);
      mkdirSync(join(file, 'blocker'), { recursive: true });
      const minted = await post(sb.url, '/_sandbox/tokens', {
        clientId: app.clientId,
        realmId: company.realmId,
      });
      expect(minted.status).toBe(500);
      expect(minted.body).toMatchObject({ error: 'server_error' });
      expect(JSON.stringify(minted.body)).not.toMatch(/RT1-/);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      console.error = consoleError;
      rmSync(file, { recursive: true, force: true });
      await sb.close();
    }
  });

  it('a burst of changes is one write, and changes made during a write are one more', async () => {
    const state = new SandboxState({ baseUrl: '', journalSize: 1, journalBodies: false });
    const summary: SnapshotSummary = { file: 'f', bytes: 0, companies: 0, entities: 0, ms: 0 };
    const pending: (() => void)[] = [];
    const writer = new SnapshotWriter(state, 'f', {
      delayMs: 10_000,
      onError: (err) => {
        throw err;
      },
      save: () => new Promise((resolve) => pending.push(() => resolve(summary))),
    });
    for (let i = 0; i < 50; i++) writer.changed();
    expect(pending).toHaveLength(0); // gathered for delayMs, not written one by one
    const first = writer.flush();
    expect(pending).toHaveLength(1);
    for (let i = 0; i < 50; i++) writer.changed();
    const second = writer.flush();
    const third = writer.flush();
    pending.shift()!();
    await first;
    await new Promise((r) => setImmediate(r));
    expect(pending).toHaveLength(1); // one write for everything changed during the first
    pending.shift()!();
    await Promise.all([second, third]);
    await writer.flush(); // nothing changed since: no write
    expect(pending).toHaveLength(0);
  });
});
