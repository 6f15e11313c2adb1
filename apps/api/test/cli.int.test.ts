// The operator CLI as a person or a script runs it: `npx qbo-sync …` spawned as its own
// process, against the service over HTTP and against a database of its own, judged by what it
// prints and by its exit code.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { reEncryptAllTokens } from '../src/lib/quickbooks/connection/key-rotation.ts';
import { TokenCipher } from '../src/lib/quickbooks/connection/token-cipher.ts';
import { addCompany, connectRealm, forEachService, freePort } from './service-harness.ts';
import { seededRealm } from './sync-helpers.ts';
import { change, legacy, postSigned, refuseReads } from './webhook-helpers.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = path.join(ROOT, 'apps/api/bin/qbo-sync.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file args` and resolves with its exit code and output (never rejects). */
function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI with only `env` (none of the test's own QBO or database variables). */
function cli(args: string[], env: Record<string, string>): Promise<Run> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(INTUIT_|QBO_|DATABASE_URL|REDIS_URL|ADMIN_API_TOKEN|PORT|DATA_DIR)/.test(k),
    ),
  );
  return run(process.execPath, [BIN, ...args], { ...inherited, ...env });
}

const key = () => randomBytes(32).toString('hex');

describe('without a service', () => {
  it('--help exits 0; an unknown command or clashing options exit 2 and say so', async () => {
    const env = { DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'qbo-cli-')) };
    const help = await cli(['--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('doctor');
    const bad = await cli(['sink'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'sink'/);
    const both = await cli(['sync', '--full', '--reconcile'], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--full or --reconcile, not both');
  });

  it("the container image's entry point runs the same commands (cli, migrate, sandbox)", async () => {
    const entry = (args: string[], env: Record<string, string>) =>
      run('/bin/sh', [path.join(ROOT, 'scripts/docker-entry.sh'), ...args], {
        ...process.env,
        QBO_SYNC_HOME: ROOT,
        ...env,
      });
    const help = await entry(['cli', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('rotate-key');
    const sandbox = await entry(['sandbox', '--help'], {});
    expect(sandbox.code).toBe(0);
    expect(sandbox.stdout).toContain('--verifier-token');
    const bad = await entry(['cli', 'status', '--nope'], {});
    expect(bad.code).toBe(2);
  }, 120_000);

  it("connect-url links to the host the consent returns to, the redirect URI's, and prints only a generated token", async () => {
    // The consent's state is bound to the admin session's cookie, kept per host by the
    // browser: signed in on 127.0.0.1, the callback on localhost would be refused.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qbo-cli-'));
    const port = String(await freePort());
    const embedded = await cli(['connect-url'], {
      DATA_DIR: dataDir,
      PORT: port,
      QBO_SYNC_URL: `http://127.0.0.1:${port}`,
    });
    expect(embedded.code).toBe(0);
    const secrets = JSON.parse(
      fs.readFileSync(path.join(dataDir, 'local-secrets.json'), 'utf8'),
    ) as { adminApiToken: string };
    expect(embedded.stdout.split('\n')[0]).toBe(
      `http://localhost:${port}/admin/login#token=${secrets.adminApiToken}`,
    );

    const adminToken = randomBytes(24).toString('hex');
    const external = await cli(['connect-url'], {
      INTUIT_CLIENT_ID: 'ABcdEFghIJklMNopQRstUVwxYZ0123456789abcdefghijklmn',
      INTUIT_CLIENT_SECRET: 'sEcReTsEcReTsEcReTsEcReTsEcReTsEcReT1234',
      INTUIT_REDIRECT_URI: 'https://qbo.example.com/api/quickbooks/callback',
      INTUIT_ENVIRONMENT: 'production',
      INTUIT_WEBHOOK_VERIFIER_TOKEN: '00faeec4-08d0-4996-bb37-698ae19f0149',
      QBO_TOKEN_ENCRYPTION_KEY: key(),
      ADMIN_API_TOKEN: adminToken,
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'qbo-cli-')),
    });
    expect(external.code).toBe(0);
    expect(external.stdout.split('\n')[0]).toBe('https://qbo.example.com/admin/login');
    expect(external.stdout).toContain('Sign in with the ADMIN_API_TOKEN you set.');
    expect(external.stdout).not.toContain(adminToken);
  }, 120_000);

  it('migrate creates the embedded database; doctor then finds it migrated and the service down (exit 3 for status)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qbo-cli-'));
    const env = { DATA_DIR: dataDir, PORT: String(await freePort()) };
    const before = await cli(['doctor'], env);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/FAIL\s+database: .*not created yet/);

    const migrated = await cli(['migrate'], env);
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(/pglite .*: \d+ applied, 0 already applied/);

    // Another live process holds the directory (as `npm start` does): a sentence, no stack.
    const lock = path.join(dataDir, 'pglite.lock');
    fs.writeFileSync(lock, `${process.pid}\n`);
    const held = await cli(['migrate'], env);
    fs.rmSync(lock);
    expect(held.code).toBe(1);
    expect(held.stderr).toContain(`is in use by process ${process.pid}`);
    expect(held.stderr).toContain('A running service applied the migrations when it started.');
    expect(held.stderr).not.toMatch(/\n\s+at /);

    const after = await cli(['doctor'], env);
    expect(after.code).toBe(1);
    expect(after.stdout).toMatch(/ok\s+database: .*migrations applied/);
    expect(after.stdout).toMatch(/FAIL\s+service: .*does not answer/);
    expect(after.stdout).toContain('fix: start it with `npm start`');

    const status = await cli(['status'], env);
    expect(status.code).toBe(3);
    expect(status.stderr).toContain('does not answer');

    const rotated = await cli(['rotate-key'], env);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/0 re-encrypted, 0 already current, 0 unreadable \(of 0\)/);
  }, 240_000);
});

forEachService((env) => {
  const against = () => ({
    QBO_SYNC_URL: env.svc.url,
    ADMIN_API_TOKEN: env.svc.adminToken,
    QBO_TOKEN_ENCRYPTION_KEY: key(),
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'qbo-cli-')),
  });

  it('status exits 4 while no company is connected, 0 with the company once connected', async () => {
    const none = await cli(['status'], against());
    expect(none.code).toBe(4);
    expect(none.stdout).toContain('no QuickBooks company connected');

    const company = addCompany(env.sandbox, "O'Brien & Sons Landscaping");
    await connectRealm(env.svc, company.realmId);
    const connected = await cli(['status'], against());
    expect(connected.code).toBe(0);
    expect(connected.stdout).toContain("O'Brien & Sons Landscaping");
    expect(connected.stdout).toContain(`realm ${company.realmId}`);
    expect(connected.stdout).toMatch(/status\s+connected/);

    const json = await cli(['status', '--json', '--realm', company.realmId], against());
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ connected: true, realm_id: company.realmId });

    const doctor = await cli(['doctor'], against());
    expect(doctor.stdout).toMatch(/ok\s+service: answers at/);
    expect(doctor.stdout).toMatch(
      /ok\s+company O'Brien & Sons Landscaping .*connected; refresh token valid \d+ more days/,
    );
  }, 120_000);

  it('sync --full follows the run to its end and prints what the mirror holds; --reconcile what it proved', async () => {
    const { realmId } = await seededRealm(env.svc, env.sandbox, 60);
    const company = { realmId };
    const r = await cli(
      ['sync', '--full', '--entity', 'Customer', '--realm', company.realmId],
      against(),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/full sync of Customer for realm \d+: job /);
    const live = await env.db
      .selectFrom('qbo_customers')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('realm_id', '=', company.realmId)
      .where('is_deleted', '=', false)
      .executeTakeFirstOrThrow();
    expect(Number(live.n)).toBeGreaterThan(0);
    expect(r.stdout).toContain(`Customer ${live.n} in the mirror`);
    expect(r.stdout).toContain('full sync finished');

    // A customer the mirror lost: the reconciliation finds it, puts it back and says so.
    const lost = await env.db
      .selectFrom('qbo_customers')
      .select('qbo_id')
      .where('realm_id', '=', company.realmId)
      .executeTakeFirstOrThrow();
    await env.db
      .deleteFrom('qbo_customers')
      .where('realm_id', '=', company.realmId)
      .where('qbo_id', '=', lost.qbo_id)
      .execute();
    const rec = await cli(
      ['sync', '--reconcile', '--entity', 'Customer', '--realm', company.realmId],
      against(),
    );
    expect(rec.stderr).toBe('');
    expect(rec.code).toBe(0);
    expect(rec.stdout).toMatch(/reconciliation of Customer for realm \d+: job /);
    expect(rec.stdout).toContain(
      `Customer ${live.n} in the mirror, ${live.n} in QuickBooks: 1 differed, 1 repaired`,
    );
    expect(rec.stdout).toContain('reconciliation finished');
    const again = await cli(
      ['sync', '--reconcile', '--entity', 'Customer', '--realm', company.realmId],
      against(),
    );
    expect(again.stdout).toContain(
      `Customer ${live.n} in the mirror, ${live.n} in QuickBooks: in sync`,
    );

    const bad = await cli(['sync', '--entity', 'Bill'], against());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/400 invalid_request/);
  }, 120_000);

  it('push-invoices pushes the pending campaign invoices and prints the run summary', async () => {
    const { realmId } = await seededRealm(env.svc, env.sandbox, 60, 5);
    const created = await env.svc.admin('POST', '/api/quickbooks/campaign-invoices', {
      client_name: "O'Brien & Sons (CLI)",
      client_email: 'ap@obrien.example',
      line_items: [
        { description: 'Campaign', quantity: '2', unit_price: '60.50', amount: '121.00' },
      ],
      subtotal: '121.00',
      total: '121.00',
      issue_date: '2026-03-01',
    });
    expect(created.status).toBe(201);
    const r = await cli(['push-invoices', '--realm', realmId], against());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Not "0 pending": the run has not counted its invoices when it is queued.
    expect(r.stdout).toMatch(/push-all run \S+ for realm \d+: queued\n/);
    expect(r.stdout).toMatch(/finished: 1 pushed, 0 unchanged, 0 failed \(of 1\)/);
    const row = await env.db
      .selectFrom('campaign_invoices')
      .select(['qbo_sync_status', 'qbo_invoice_id'])
      .where('id', '=', created.body.id)
      .executeTakeFirstOrThrow();
    expect(row.qbo_sync_status).toBe('synced');
    expect(row.qbo_invoice_id).toMatch(/^\d+$/);
  }, 120_000);

  it('webhooks replay: exit 1 while QBO still refuses the event, exit 0 once --failed brings it in', async () => {
    const { realmId } = addCompany(env.sandbox, 'Replay Co');
    await connectRealm(env.svc, realmId);
    const restore = await refuseReads(env.sandbox, realmId);
    const customer = await change(env.sandbox, realmId, 'Customer', {
      DisplayName: 'Replayed Ada',
    });
    // Intuit's notification of that change, as this service stores it.
    const posted = await postSigned(
      env.svc,
      legacy(realmId, [{ name: 'Customer', id: customer.Id, operation: 'Create' }]),
    );
    const id = posted.body.id as string;

    const refused = await cli(['webhooks', 'replay', id], against());
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('replaying 1 webhook event(s)');
    expect(refused.stdout).toContain('0 processed, 0 skipped, 1 failed, 0 retrying');
    expect(refused.stdout).toMatch(new RegExp(`${id} failed: qbo_auth`));

    await restore();
    const replayed = await cli(['webhooks', 'replay', '--failed', '--realm', realmId], against());
    expect(replayed.stderr).toBe('');
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toContain('1 processed, 0 skipped, 0 failed, 0 retrying');
    const row = await env.db
      .selectFrom('qbo_customers')
      .select('display_name')
      .where('realm_id', '=', realmId)
      .where('qbo_id', '=', customer.Id as string)
      .executeTakeFirst();
    expect(row?.display_name).toBe('Replayed Ada');

    const none = await cli(['webhooks', 'replay', '--failed', '--realm', realmId], against());
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('no failed webhook events to replay');

    const unknown = randomUUID();
    const missing = await cli(['webhooks', 'replay', unknown], against());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(new RegExp(`404 not_found no webhook event with id ${unknown}`));

    const usage = await cli(['webhooks', 'replay'], against());
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/name event ids, or give --failed/);
  }, 120_000);

  it('a wrong admin token exits 2 and says what the service answered', async () => {
    const r = await cli(['status'], {
      ...against(),
      ADMIN_API_TOKEN: 'not-the-token-'.padEnd(40, 'x'),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/401/);
  }, 60_000);

  it('rotate-key moves every token to the current key, so the old key can be dropped', async () => {
    const company = addCompany(env.sandbox, 'Rotation Co');
    await connectRealm(env.svc, company.realmId);
    const old = env.svc.tokenKeyring;
    const newKey = key();
    const onlyNew = new TokenCipher({ currentKeyId: 'k2', keys: { k2: newKey } });

    // Without the old key the tokens cannot be read: nothing is written, each row is named.
    const refused = await reEncryptAllTokens(env.db, onlyNew);
    expect(refused.unreadable.map((u) => u.realmId)).toContain(company.realmId);

    const both = new TokenCipher({ currentKeyId: 'k2', keys: { ...old.keys, k2: newKey } });
    const r = await reEncryptAllTokens(env.db, both);
    expect(r.unreadable).toEqual([]);
    expect(r.reEncrypted).toBeGreaterThanOrEqual(1);
    const row = await env.db
      .selectFrom('qbo_tokens')
      .selectAll()
      .where('realm_id', '=', company.realmId)
      .executeTakeFirstOrThrow();
    expect(row.key_id).toBe('k2');
    const access = onlyNew.decrypt(row.access_token_ciphertext, `${company.realmId}:access_token`);
    expect(access.length).toBeGreaterThan(20);

    const again = await reEncryptAllTokens(env.db, both);
    expect(again.reEncrypted).toBe(0);
  });
});
