// `npm start`: the API and the background work in one process. With no Intuit variables set
// (the embedded default) it first starts qbo-sandbox in-process, gives it a seeded demo
// company, registers this service there as an app, and uses that registration as its Intuit
// configuration — so a fresh clone runs end to end offline. Configuration: docs/configuration.md.
//
// The admin token is never written to the logs. In the local default (token generated into
// DATA_DIR/local-secrets.json, localhost only) the start-up banner, printed once on plain
// stdout, carries a one-click sign-in link with the token in its URL fragment, which no
// server or proxy log receives; with an ADMIN_API_TOKEN you set, it links to the sign-in
// form instead (decision 0004).
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Sandbox } from 'qbo-sandbox';
import {
  adminOrigin,
  embeddedOrigin,
  intuitUrls,
  loadConfigOrExit,
  redactedConfig,
  type AppConfig,
  type IntuitConfig,
} from './config.ts';
import { buildApp } from './app.ts';
import { adminUiBuilt } from './http/admin-ui.ts';
import {
  SHUTDOWN_GRACE_MS,
  appDepsOf,
  createContainer,
  createLogger,
  forceExitAfter,
  startJobProcessing,
  startRequestLogPruning,
  type Container,
} from './infra/container.ts';
import { seedDemoCampaignInvoices } from './lib/quickbooks/writeback/campaign-invoices.ts';

// Everything this process creates is readable by its user only: DATA_DIR holds the local
// secrets, the sandbox snapshot (tokens, app secret) and the PGlite cluster. A umask set
// before anything is created covers every file whoever creates it (PGlite, the sandbox,
// lock files), with no window between creating a file and narrowing it, and needs no
// change in each creator. chmod is still needed for what exists already: DATA_DIR itself
// when it existed (privateDataDir), files an earlier version left open, and a new PGlite
// cluster, whose initdb sets explicit modes no umask narrows (infra/db.ts).
process.umask(0o077);

const config: AppConfig = loadConfigOrExit();

const logger = createLogger(config.logLevel, undefined, config.logFormat);
logger.info({ config: redactedConfig(config) }, 'starting qbo-sync');

const SANDBOX_SNAPSHOT_FILE = 'sandbox-snapshot.jsonl';

let sandbox: Sandbox | null = null;
let container: Container | null = null;
let app: FastifyInstance | null = null;
let stopPruning: (() => Promise<void>) | null = null;
let stopJobChecks: (() => Promise<void>) | null = null;

// SIGTERM/SIGINT: stop taking requests (Fastify answers 503 to new ones while in-flight
// requests finish), let a request-log pass in flight finish, close the pools, then the
// sandbox. A shutdown that hangs ends after SHUTDOWN_GRACE_MS with exit code 1; a second
// signal ends it at once.
let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (stopping) {
    logger.warn('second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  if (app) logger.info('stopping…');
  forceExitAfter(SHUTDOWN_GRACE_MS, () => logger.error('shutdown timed out; exiting'));
  await app?.close().catch(() => {});
  await stopPruning?.();
  await stopJobChecks?.();
  await container?.close().catch(() => {});
  // The sandbox writes its snapshot as its state changes; closing writes the last changes.
  await sandbox?.close().catch(() => {});
  if (code === 0) {
    logger.info('qbo-sync stopped');
    console.log('qbo-sync stopped.');
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  // Used by the embedded sandbox and by PGlite; with an external QBO and Postgres, not at all.
  if (config.mode === 'embedded' || config.databaseUrl === null) privateDataDir(config.dataDir);
  let intuit: IntuitConfig | null = config.intuit;
  let demo: { realmId: string; companyName: string } | null = null;
  if (config.mode === 'embedded') {
    logger.info({ port: config.sandboxPort }, 'starting the embedded qbo-sandbox…');
    const started = await startEmbeddedSandbox(config);
    sandbox = started.sandbox;
    intuit = started.intuit;
    demo = started.company;
  }
  container = await createContainer(config, { intuit: intuit!, logger });
  // A new user can push an invoice in the first minute: a few demo campaign invoices.
  if (config.mode === 'embedded') {
    const today = new Date().toISOString().slice(0, 10);
    const added = await seedDemoCampaignInvoices(container.db, today);
    if (added > 0) logger.info({ added }, 'added demo campaign invoices');
  }
  if (!adminUiBuilt(config.adminUiDir)) {
    logger.warn(
      { adminUiDir: config.adminUiDir },
      'the admin page is not built: run `npm run build -w apps/frontend` (npm install does it)',
    );
  }
  app = await buildApp({
    ...appDepsOf(container),
    adminUiDir: config.adminUiDir,
    trustProxy: config.trustProxy,
  });
  // Embedded: localhost only (Fastify binds both 127.0.0.1 and ::1, matching the
  // registered http://localhost redirect URI). External: every interface, for containers.
  await app.listen({
    port: config.port,
    host: config.mode === 'embedded' ? 'localhost' : '0.0.0.0',
  });
  // Background jobs: in this process with the in-process queue (the embedded default); with
  // REDIS_URL the API only enqueues and `npm run worker` consumes and owns the schedules,
  // unless API_RUNS_JOBS=true. Starting them means: the daily reconciliation's schedule, runs
  // a crash left unfinished, a reconciliation missed while the process was down, and the
  // periodic check that puts back what a Redis that lost its data dropped.
  if (config.apiRunsJobs) {
    stopJobChecks = await startJobProcessing(container, config.jobsCheckIntervalMs);
  } else {
    logger.info(
      'jobs are enqueued to Redis for `npm run worker` (API_RUNS_JOBS=true runs them here too)',
    );
  }
  stopPruning = startRequestLogPruning({
    db: container.db,
    retentionDays: config.qbo.requestLogRetentionDays,
    logger,
  });
  printBanner(config, demo, sandbox?.url ?? null);
} catch (err) {
  logger.fatal({ err }, 'qbo-sync failed to start');
  await shutdown(1);
}

async function startEmbeddedSandbox(cfg: AppConfig): Promise<{
  sandbox: Sandbox;
  intuit: IntuitConfig;
  company: { realmId: string; companyName: string };
}> {
  if (cfg.port === 0) {
    throw new Error(
      'PORT=0 is not supported in the embedded default: the sandbox app registers http://localhost:PORT/api/quickbooks/callback',
    );
  }
  const { startSandbox, seedCompany } = await import('qbo-sandbox');
  // The snapshot keeps the demo company, the app and the tokens it issued across restarts,
  // so a company connected yesterday is still connected after `npm start` today. It is
  // rewritten as the state changes, and a token is on disk before the sandbox hands it to
  // us, so a crash (kill -9 mid-refresh) cannot leave us holding a token it forgot.
  // The control API needs the token from local-secrets.json: other local processes and web
  // pages must not read the app secret or mint tokens. No snapshotDir: the control API may
  // write and read this one file only.
  const sb = await startSandbox({
    port: cfg.sandboxPort,
    snapshotFile: path.join(cfg.dataDir, SANDBOX_SNAPSHOT_FILE),
    config: { controlToken: cfg.sandboxControlToken! },
  });
  const base = `${embeddedOrigin(cfg.port)}/api/quickbooks`;
  const appName = 'qbo-sync (local)';
  const urls = { redirectUris: [`${base}/callback`], webhookUrl: `${base}/webhook` };
  const known = sb.findApp(appName);
  // PORT may have changed since the snapshot was saved.
  const registered = known
    ? sb.updateApp(known.clientId, urls)
    : sb.registerApp({ name: appName, ...urls });
  let company = sb.listCompanies()[0];
  if (!company) {
    company = sb.addCompany({ companyName: 'Demo Company' });
    seedCompany(company, { seed: 1, preset: 'small' });
  }
  // On disk before the service first uses the app (seeding bypasses change tracking).
  await sb.save();
  const intuit: IntuitConfig = {
    clientId: registered.clientId,
    clientSecret: registered.clientSecret,
    redirectUri: `${base}/callback`,
    environment: 'sandbox',
    webhookVerifierToken: registered.verifierToken,
    sandboxUrl: sb.url,
    urls: intuitUrls('sandbox', sb.url),
  };
  return {
    sandbox: sb,
    intuit,
    company: { realmId: company.realmId, companyName: company.companyName },
  };
}

/**
 * DATA_DIR is ours alone even when it existed before (say, created 0777): other users
 * could otherwise read the secrets, or swap files under us. Our own files in it that an
 * earlier version left readable to others are tightened too; other entries are left alone.
 */
function privateDataDir(dataDir: string): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const mode = fs.statSync(dataDir).mode & 0o777;
  if (mode & 0o077) {
    fs.chmodSync(dataDir, 0o700);
    logger.warn(
      { dataDir, was: mode.toString(8) },
      'DATA_DIR was open to other users; made it private (0700)',
    );
  }
  for (const name of fs.readdirSync(dataDir)) {
    const ours =
      name === SANDBOX_SNAPSHOT_FILE ||
      name.startsWith(`${SANDBOX_SNAPSHOT_FILE}.`) ||
      name === 'pglite.lock';
    if (!ours) continue;
    const file = path.join(dataDir, name);
    const stat = fs.lstatSync(file);
    // Not through a symbolic link: chmod would change whatever it points at.
    if (stat.isFile() && (stat.mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  }
}

function printBanner(
  cfg: AppConfig,
  demo: { realmId: string; companyName: string } | null,
  sandboxUrl: string | null,
): void {
  const base = adminOrigin(cfg);
  const secrets = path.join(cfg.dataDir, 'local-secrets.json');
  const fromEnv = cfg.secretsSource.adminApiToken === 'env';
  // The fragment (#token=…) stays in the browser: the page posts it to /api/admin/session
  // and removes it from the address bar. Only for the local default: a token you set
  // yourself is yours to paste, and is never printed.
  const signIn = fromEnv
    ? `${base}/admin/login   (paste the ADMIN_API_TOKEN you set)`
    : `${base}/admin/login#token=${cfg.adminApiToken}`;
  const tokenExpr = fromEnv
    ? '$ADMIN_API_TOKEN'
    : `$(node -p "require('${secrets}').adminApiToken")`;
  const lines = [
    '',
    `qbo-sync admin: ${base}/admin`,
    `  sign in     ${signIn}`,
    `  connect     click "Connect QuickBooks" on the admin page${demo ? `, then "Connect" on the consent page (company "${demo.companyName}")` : ''}`,
    `  api         ${base}/api/docs (reference), ${base}/api/openapi.json`,
    `  scripts     curl -H "Authorization: Bearer ${tokenExpr}" ${base}/api/quickbooks/status`,
  ];
  if (sandboxUrl && demo) {
    const usesLocalSecrets =
      cfg.secretsSource.adminApiToken === 'local-secrets' ||
      cfg.secretsSource.tokenKeyring === 'local-secrets';
    lines.push(
      `  quickbooks  embedded qbo-sandbox at ${sandboxUrl} (company "${demo.companyName}", realm ${demo.realmId})`,
      usesLocalSecrets
        ? `              its control API (${sandboxUrl}/_sandbox) needs the bearer token "sandboxControlToken" in ${secrets}`
        : `              its control API (${sandboxUrl}/_sandbox) is closed (its token is not kept when ADMIN_API_TOKEN and the key are set)`,
    );
  }
  if (!adminUiBuilt(cfg.adminUiDir)) {
    lines.push(`  note        the admin page is not built: npm run build -w apps/frontend`);
  }
  lines.push('Press Ctrl+C to stop.', '');
  console.log(lines.join('\n'));
}
