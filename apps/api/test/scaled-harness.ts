// The scaled mode as it is deployed: API processes and `worker` processes started exactly as
// the image starts them (scripts/docker-entry.sh, the image's environment), on one Postgres
// database and one Redis key prefix of their own, in front of a qbo-sandbox standing in for
// Intuit. Also a Redis server and a Postgres cluster of the test's own, for tests that
// restart them (the machine's shared ones are never touched).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { seedCompany, startSandbox, type Company, type Sandbox } from 'qbo-sandbox';
import type { Database } from '../src/db/schema.ts';
import { createDatabase, type DatabaseHandle } from '../src/infra/db.ts';
import { migrate } from '../src/infra/migrate.ts';
import { closeRedis, createRedis } from '../src/infra/redis.ts';
import { admin, connectCompany, inheritedEnv, type AdminAnswer } from './embedded-process.ts';
import { freePort } from './free-port.ts';
import { until } from './until.ts';

export { until };

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ENTRY = path.join(ROOT, 'scripts/docker-entry.sh');

// ---------------------------------------------------------------------------------------
// Processes

export interface ServiceProcess {
  readonly role: 'api' | 'worker';
  readonly name: string;
  /** http://127.0.0.1:PORT for an API process, null for a worker. */
  readonly url: string | null;
  readonly child: ChildProcess;
  /** Everything it wrote (JSON log lines). */
  output(): string;
  /** Resolves with the signal or exit code once it ended. */
  readonly ended: Promise<NodeJS.Signals | number | null>;
}

/** The image's entry point with `role`, only `env` from the test (none of its own QBO variables). */
async function spawnRole(
  role: 'api' | 'worker',
  name: string,
  env: Record<string, string>,
  apiPort?: number,
): Promise<ServiceProcess> {
  const port = role === 'api' ? (apiPort ?? (await freePort())) : 0;
  const child = spawn('/bin/sh', [ENTRY, role], {
    cwd: ROOT,
    env: { ...inheritedEnv(), ...env, QBO_SYNC_HOME: ROOT, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const ended = new Promise<NodeJS.Signals | number | null>((r) =>
    child.once('exit', (code, signal) => r(signal ?? code)),
  );
  const p: ServiceProcess = {
    role,
    name,
    url: role === 'api' ? `http://127.0.0.1:${port}` : null,
    child,
    output: () => out,
    ended,
  };
  let exited = false;
  void ended.then(() => (exited = true));
  await until(
    `${name} to start`,
    async () => {
      if (exited) throw new Error(`${name} exited before it was ready:\n${out}`);
      if (role === 'worker') return out.includes('worker started') ? true : null;
      return (await fetch(`${p.url}/readyz`).catch(() => null))?.status === 200 ? true : null;
    },
    120_000,
    100,
  );
  return p;
}

/** SIGKILL (a crash) or SIGTERM (a clean stop); resolves once it ended. */
export async function stopProcess(
  p: ServiceProcess,
  signal: 'SIGKILL' | 'SIGTERM' = 'SIGTERM',
): Promise<NodeJS.Signals | number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  return p.ended;
}

/** `{ ready, checks }` from an API process's /readyz, or null when it does not answer. */
export async function readiness(p: ServiceProcess): Promise<{ status: number; body: any } | null> {
  const res = await fetch(`${p.url}/readyz`).catch(() => null);
  return res ? { status: res.status, body: await res.json() } : null;
}

// ---------------------------------------------------------------------------------------
// A deployment: one database, one Redis prefix, one sandbox app, N API processes, M workers

export interface ScaledOptions {
  /** A Postgres server URL (any database on it); the deployment creates its own database. */
  postgresUrl: string;
  redisUrl: string;
  apis: number;
  workers: number;
  /** Extra environment for every process. */
  env?: Record<string, string>;
}

export interface Scaled {
  sandbox: Sandbox;
  clientId: string;
  apis: ServiceProcess[];
  workers: ServiceProcess[];
  /** The test's own handle on the deployment's database. */
  db: Kysely<Database>;
  adminToken: string;
  /** Starts one more process of `role` with the deployment's environment. */
  start(role: 'api' | 'worker', name: string): Promise<ServiceProcess>;
  /** An admin API call through `via` (default: the first API process). */
  admin(
    method: 'GET' | 'POST',
    route: string,
    body?: unknown,
    via?: ServiceProcess,
  ): Promise<AdminAnswer>;
  /** A new company seeded with `entities` objects, connected through the consent flow. */
  company(entities: number, seed?: number): Promise<Company>;
  /** Stops every process (SIGKILL) and drops the database and the Redis keys. */
  close(): Promise<void>;
}

export async function startScaled(o: ScaledOptions): Promise<Scaled> {
  const sandbox = await startSandbox({
    port: 0,
    journalBodies: false,
    config: { webhooks: { batchDelayMs: 200 } },
  });
  const database = await createScratchDatabase(o.postgresUrl);
  const prefix = `qbo-scaled-${randomBytes(5).toString('hex')}`;
  const adminToken = randomBytes(24).toString('hex');
  // The redirect URI and webhook URL name one API process, as they would name the load
  // balancer in front of all of them.
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}/api/quickbooks`;
  const app = sandbox.registerApp({
    name: 'qbo-sync (scaled)',
    redirectUris: [`${base}/callback`],
    webhookUrl: `${base}/webhook`,
  });
  const env: Record<string, string> = {
    // The image's own environment (Dockerfile), then the deployment's.
    NODE_ENV: 'production',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'qbo-scaled-')),
    DATABASE_URL: database.url,
    REDIS_URL: o.redisUrl,
    REDIS_PREFIX: prefix,
    API_RUNS_JOBS: 'false',
    QBO_SANDBOX_URL: sandbox.url,
    INTUIT_CLIENT_ID: app.clientId,
    INTUIT_CLIENT_SECRET: app.clientSecret,
    INTUIT_REDIRECT_URI: `${base}/callback`,
    INTUIT_WEBHOOK_VERIFIER_TOKEN: app.verifierToken,
    QBO_TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    ADMIN_API_TOKEN: adminToken,
    QBO_WEBHOOK_COALESCE_MS: '200',
    ...o.env,
  };
  const apis: ServiceProcess[] = [];
  const workers: ServiceProcess[] = [];
  const all: ServiceProcess[] = [];
  const start = async (role: 'api' | 'worker', name: string, port?: number) => {
    const p = await spawnRole(role, name, env, port);
    all.push(p);
    return p;
  };
  const close = async () => {
    await Promise.all(all.map((p) => stopProcess(p, 'SIGKILL')));
    // To read what the processes logged: SCALED_LOGS_DIR=/tmp/x npx vitest run …
    const logsDir = process.env.SCALED_LOGS_DIR;
    if (logsDir) {
      fs.mkdirSync(logsDir, { recursive: true });
      for (const p of all)
        fs.writeFileSync(path.join(logsDir, `${prefix}-${p.name}.log`), p.output());
    }
    await sandbox.close();
    await database.drop();
    await deleteRedisKeys(o.redisUrl, `${prefix}:`).catch(() => {});
    fs.rmSync(env.DATA_DIR!, { recursive: true, force: true });
  };
  try {
    const started = await Promise.all([
      start('api', 'api-1', apiPort),
      ...Array.from({ length: o.apis - 1 }, (_, i) => start('api', `api-${i + 2}`)),
      ...Array.from({ length: o.workers }, (_, i) => start('worker', `worker-${i + 1}`)),
    ]);
    apis.push(...started.slice(0, o.apis));
    workers.push(...started.slice(o.apis));
  } catch (err) {
    await close();
    throw err;
  }
  const call = (method: 'GET' | 'POST', route: string, body?: unknown, via = apis[0]!) =>
    admin({ baseUrl: via.url! }, adminToken, method, route, body);
  return {
    sandbox,
    clientId: app.clientId,
    apis,
    workers,
    db: database.handle.db,
    adminToken,
    start: (role, name) => start(role, name),
    admin: call,
    async company(entities, seed = 7) {
      const company = sandbox.addCompany({
        companyName: `Scaled ${randomBytes(3).toString('hex')}`,
      });
      if (entities > 0) seedCompany(company, { seed, entities, bills: 0 });
      await connectCompany({ baseUrl: apis[0]!.url! }, adminToken, company.realmId);
      return company;
    },
    close,
  };
}

interface ScratchDatabase {
  url: string;
  handle: DatabaseHandle;
  drop(): Promise<void>;
}

/** A new database on the server, migrated, with a handle for the test; dropped at the end. */
async function createScratchDatabase(serverUrl: string): Promise<ScratchDatabase> {
  const name = `qs_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const handle = await createDatabase({ databaseUrl: url.toString(), poolSize: 4 });
  await migrate(handle);
  return {
    url: url.toString(),
    handle,
    drop: async () => {
      await handle.close();
      await admin(`drop database if exists "${name}" with (force)`).catch(() => {});
    },
  };
}

async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = createRedis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await closeRedis(redis);
  }
}

// ---------------------------------------------------------------------------------------
// A Redis server and a Postgres cluster of the test's own, to restart

export interface OwnServer {
  url: string;
  /** Stops it; `start()` brings it back on the same port with the same data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

function waitForPort(port: number, timeoutMs = 30_000): Promise<true> {
  return until(
    `port ${port}`,
    () =>
      new Promise<true | null>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(null));
      }),
    timeoutMs,
    50,
  );
}

/** redis-server on a free port, appending to its AOF as compose.yaml's Redis does. */
export async function startOwnRedis(): Promise<OwnServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qbo-redis-'));
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
      ],
      { stdio: 'ignore' },
    );
    await waitForPort(port);
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const ended = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM'); // Redis writes its AOF and exits
    await ended;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    close: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Postgres cluster (initdb + pg_ctl of the installed server) on a free port, trust auth. */
export async function startOwnPostgres(): Promise<OwnServer> {
  const bin = pgBinDir();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qbo-pg-'));
  const data = path.join(dir, 'data');
  // The server refuses to run as root: as root, run its tools as the postgres user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) spawnSync('chown', ['postgres', dir]);
  const run = (tool: string, args: string[]) => {
    const cmd = asRoot ? 'runuser' : path.join(bin, tool);
    const argv = asRoot ? ['-u', 'postgres', '--', path.join(bin, tool), ...args] : args;
    const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${tool} failed: ${r.stderr || r.stdout}`);
  };
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const start = async () => {
    run('pg_ctl', [
      '-D',
      data,
      '-l',
      path.join(dir, 'log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-w',
      'start',
    ]);
    await waitForPort(port);
  };
  const stop = async () => {
    run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    close: async () => {
      await stop().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function pgBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a))
    : [];
  const found = versions
    .map((v) => path.join(root, v, 'bin'))
    .find((d) => fs.existsSync(path.join(d, 'initdb')));
  if (!found) throw new Error(`no Postgres server binaries (initdb) under ${root}`);
  return found;
}
