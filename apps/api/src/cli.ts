// `qbo-sync`: the operator's command line (docs/operations.md). Commands that read or change
// what the service holds go through its HTTP API (the embedded PGlite admits one process);
// `migrate` and `rotate-key` open the database themselves.
//
// Exit codes, for scripts: 0 done / healthy; 1 the command ran and found or hit a problem;
// 2 bad usage or configuration; 3 the service does not answer; 4 no connected company, or it
// needs re-authorization.
import { Command, CommanderError } from 'commander';
import type { StatusResponse } from '@qbo-sync/contract';
import { runDoctor, type Check } from './cli/doctor.ts';
import { runPushInvoices } from './cli/push-invoices.ts';
import { runSync, type SyncOptions } from './cli/sync.ts';
import { runWebhookReplay } from './cli/webhooks.ts';
import {
  ServiceAnswerError,
  ServiceUnreachableError,
  serviceBaseUrl,
  serviceClient,
} from './cli/service.ts';
import { adminOrigin, ConfigError, loadConfig, type AppConfig } from './config.ts';
import { createDatabase, databaseOptionsFromConfig, DataDirInUseError } from './infra/db.ts';
import { MigrationError, migrate } from './infra/migrate.ts';
import { reEncryptAllTokens } from './lib/quickbooks/connection/key-rotation.ts';
import { TokenCipher } from './lib/quickbooks/connection/token-cipher.ts';

export const EXIT = { ok: 0, problem: 1, usage: 2, unreachable: 3, notConnected: 4 } as const;

class Exit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function config(): AppConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new Exit(EXIT.usage, err.message);
    throw err;
  }
}

function service(cfg: AppConfig) {
  return serviceClient(serviceBaseUrl(cfg), cfg.adminApiToken);
}

const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

function printStatus(s: StatusResponse): void {
  if (!s.realm_id) {
    out('no QuickBooks company connected');
    return;
  }
  out(`${s.company_name ?? '(unnamed)'}  realm ${s.realm_id}  ${s.environment ?? ''}`);
  out(
    `  status        ${s.status}${s.needs_reauth ? `  (needs re-authorization since ${s.needs_reauth_since})` : ''}`,
  );
  if (s.tokens) {
    out(`  access token  expires ${s.tokens.access_token_expires_at}`);
    out(`  refresh token expires ${s.tokens.refresh_token_expires_at}`);
  }
  if (s.last_refresh.at) out(`  last refresh  ${s.last_refresh.at} ${s.last_refresh.status ?? ''}`);
  out(
    `  QBO calls     ${s.api_quota.last_minute.used}/${s.api_quota.last_minute.limit} last minute, ${s.api_quota.last_24h.used} last 24 h`,
  );
  const cp = s.api_quota.coreplus;
  out(
    `  metered reads ${cp.used}/${cp.allowance} this month (forecast ${cp.forecast})${cp.metered ? '' : ', not metered: a sandbox'}${cp.alert ? '  ALERT' : ''}`,
  );
  const counts = Object.entries(s.entity_counts);
  if (counts.length > 0) out(`  mirror        ${counts.map(([e, n]) => `${e} ${n}`).join(', ')}`);
  if (s.connections.length > 1) {
    out('  other companies:');
    for (const c of s.connections.filter((c) => c.realm_id !== s.realm_id)) {
      out(`    ${c.realm_id}  ${c.company_name ?? ''}  ${c.status}`);
    }
  }
}

function printChecks(checks: Check[]): void {
  for (const c of checks) {
    out(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}`);
    if (!c.ok && c.fix) out(`      fix: ${c.fix}`);
  }
}

export function buildProgram(): Command {
  const program = new Command('qbo-sync')
    .description('Operate a qbo-sync service: status, connections, migrations, keys, checks.')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('status')
    .description('the connected company: connection, tokens, QBO calls, mirror counts')
    .option('--realm <id>', 'a company other than the most recently connected one')
    .option('--json', 'print the API answer as JSON')
    .action(async (o: { realm?: string; json?: boolean }) => {
      const q = o.realm ? `?realmId=${encodeURIComponent(o.realm)}` : '';
      const s = await service(config()).get<StatusResponse>(`/api/quickbooks/status${q}`);
      if (o.json) out(JSON.stringify(s, null, 2));
      else printStatus(s);
      if (!s.connected || s.needs_reauth) process.exitCode = EXIT.notConnected;
    });

  program
    .command('connect-url')
    .description('where to go in a browser to connect (or reconnect) a QuickBooks company')
    .action(() => {
      const cfg = config();
      // The browser's way in, not the CLI's (serviceBaseUrl): the host the consent returns to.
      const base = adminOrigin(cfg);
      // As the start-up banner: the sign-in link carries a generated local token only; a
      // token the operator set is theirs to paste and is never printed.
      const link =
        cfg.secretsSource.adminApiToken === 'local-secrets'
          ? `${base}/admin/login#token=${cfg.adminApiToken}`
          : `${base}/admin/login`;
      out(link);
      out('Open it, then click "Connect QuickBooks" and approve the company on Intuit\'s page.');
      if (cfg.secretsSource.adminApiToken === 'env')
        out('Sign in with the ADMIN_API_TOKEN you set.');
    });

  program
    .command('sync')
    .description('sync the mirror with QuickBooks (incremental by default) and follow it')
    .option('--full', 'a full sync: every object, and mark what QuickBooks no longer has')
    .option(
      '--reconcile',
      'the daily reconciliation, now: CDC, then every object compared with the mirror and repaired',
    )
    .option('--entity <name>', 'one entity: Customer, Invoice, Payment, Vendor, Item or Account')
    .option('--realm <id>', 'a company other than the connected one')
    .option('--no-wait', 'ask for the sync and exit without following it')
    .action(async (o: Omit<SyncOptions, 'tty' | 'out'>) => {
      if (o.full && o.reconcile) throw new Exit(EXIT.usage, '--full or --reconcile, not both');
      const run = await runSync(service(config()), {
        ...o,
        tty: Boolean(process.stdout.isTTY),
        out,
      });
      if (run?.status === 'error') process.exitCode = EXIT.problem;
    });

  program
    .command('push-invoices')
    .description('push every pending campaign invoice to QuickBooks and follow the run')
    .option('--realm <id>', 'a company other than the connected one')
    .option('--no-wait', 'queue the run and exit without following it')
    .action(async (o: { realm?: string; wait: boolean }) => {
      const run = await runPushInvoices(service(config()), {
        ...o,
        tty: Boolean(process.stdout.isTTY),
        out,
      });
      if (run.status === 'failed' || run.failed > 0) process.exitCode = EXIT.problem;
    });

  const webhooks = program
    .command('webhooks')
    .description('stored webhook events (GET /api/quickbooks/webhook-events lists them)');
  webhooks
    .command('replay')
    .description('process stored webhook events again (by id, or every failed one) and follow them')
    .argument('[ids...]', 'event ids, as GET /api/quickbooks/webhook-events shows them')
    .option('--failed', 'every event that ended failed (at most 1,000 per run)')
    .option('--skipped', 'every event that ended skipped (e.g. its company was reconnected)')
    .option('--realm <id>', 'with --failed or --skipped: only events of this company')
    .option('--no-wait', 'queue them and exit without following them')
    .action(
      async (
        ids: string[],
        o: { failed?: boolean; skipped?: boolean; realm?: string; wait: boolean },
      ) => {
        const by = [ids.length > 0, o.failed, o.skipped].filter(Boolean).length;
        if (by !== 1) {
          throw new Exit(
            EXIT.usage,
            'name event ids, or give --failed or --skipped (one of them): qbo-sync webhooks replay <id…> | --failed',
          );
        }
        if (o.realm && ids.length > 0) {
          throw new Exit(EXIT.usage, '--realm goes with --failed or --skipped, not with ids');
        }
        const r = await runWebhookReplay(service(config()), {
          ids,
          ...(o.failed ? { status: 'failed' as const } : {}),
          ...(o.skipped ? { status: 'skipped' as const } : {}),
          ...(o.realm ? { realm: o.realm } : {}),
          wait: o.wait,
          tty: Boolean(process.stdout.isTTY),
          out,
        });
        if (r.failed > 0 || r.retrying > 0) process.exitCode = EXIT.problem;
      },
    );

  program
    .command('migrate')
    .description('apply database migrations (DATABASE_URL, or the embedded PGlite) and exit')
    .action(async () => {
      const handle = await createDatabase(databaseOptionsFromConfig(config())).catch(
        (err: unknown) => {
          if (!(err instanceof DataDirInUseError)) throw err;
          throw new Exit(
            EXIT.problem,
            `${err.message}. A running service applied the migrations when it started.`,
          );
        },
      );
      try {
        const r = await migrate(handle, { log: (line) => out(line) });
        out(
          `${handle.kind} ${handle.location}: ${r.applied.length} applied, ${r.skipped.length} already applied`,
        );
      } catch (err) {
        if (err instanceof MigrationError) throw new Exit(EXIT.problem, err.message);
        throw err;
      } finally {
        await handle.close();
      }
    });

  program
    .command('rotate-key')
    .description('re-encrypt every stored token with the current key of QBO_TOKEN_ENCRYPTION_KEYS')
    .action(async () => {
      const cfg = config();
      if (!cfg.databaseUrl) {
        // PGlite admits one process: refuse rather than fight the running service for it.
        const running = await service(cfg)
          .get('/api/health')
          .then(() => true)
          .catch(() => false);
        if (running)
          throw new Exit(
            EXIT.problem,
            'the embedded service is running and holds the database: stop it (Ctrl+C on npm start), then run rotate-key again',
          );
      }
      const handle = await createDatabase(databaseOptionsFromConfig(cfg));
      try {
        await migrate(handle);
        const r = await reEncryptAllTokens(handle.db, new TokenCipher(cfg.tokenKeyring));
        out(
          `key "${cfg.tokenKeyring.currentKeyId}": ${r.reEncrypted} re-encrypted, ${r.current} already current, ${r.unreadable.length} unreadable (of ${r.rows})`,
        );
        for (const u of r.unreadable) out(`  realm ${u.realmId}: key "${u.keyId}" ${u.reason}`);
        if (r.unreadable.length > 0) {
          throw new Exit(
            EXIT.problem,
            'some tokens are under a key that is not configured: keep the old key in QBO_TOKEN_ENCRYPTION_KEYS, or reconnect those companies',
          );
        }
        const others = Object.keys(cfg.tokenKeyring.keys).filter(
          (k) => k !== cfg.tokenKeyring.currentKeyId,
        );
        if (others.length > 0)
          out(
            `every token is under "${cfg.tokenKeyring.currentKeyId}": ${others.join(', ')} can be removed from QBO_TOKEN_ENCRYPTION_KEYS`,
          );
      } finally {
        await handle.close();
      }
    });

  program
    .command('doctor')
    .description(
      'check configuration, database, Redis, clock and every connection; say what to fix',
    )
    .option('--json', 'print the checks as JSON')
    .action(async (o: { json?: boolean }) => {
      const cfg = config();
      const checks = await runDoctor(cfg, service(cfg));
      if (o.json) out(JSON.stringify(checks, null, 2));
      else printChecks(checks);
      if (checks.some((c) => !c.ok)) process.exitCode = EXIT.problem;
    });

  return program;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return Number(process.exitCode ?? EXIT.ok);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not failures; commander already printed the message.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof Exit) {
      process.stderr.write(`${err.message}\n`);
      return err.code;
    }
    if (err instanceof ServiceUnreachableError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT.unreachable;
    }
    if (err instanceof ServiceAnswerError) {
      process.stderr.write(`${err.message}\n`);
      return err.status === 401 ? EXIT.usage : EXIT.problem;
    }
    if (err instanceof DataDirInUseError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT.problem;
    }
    throw err;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runCli(process.argv.slice(2));
}
