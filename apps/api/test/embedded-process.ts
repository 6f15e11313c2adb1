// `npm start` as a child process (the real entry point, embedded default), for tests about
// what a process leaves behind: files in DATA_DIR, a crash, a restart on the same data.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Browser, consent, freePort } from './service-harness.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface EmbeddedProcess {
  child: ChildProcess;
  /** http://localhost:PORT */
  baseUrl: string;
  /** The embedded qbo-sandbox, as the banner names it. */
  sandboxUrl: string;
  output(): string;
}

/** A fresh embedded configuration on free ports: DATA_DIR, PORT, SANDBOX_PORT. */
export async function embeddedEnv(dataDir: string): Promise<Record<string, string>> {
  return {
    DATA_DIR: dataDir,
    PORT: String(await freePort()),
    SANDBOX_PORT: String(await freePort()),
  };
}

/**
 * The test's environment without anything that configures the service (Intuit, QBO,
 * database, Redis, secrets, ports), so a child process gets only what the test gives it.
 */
export function inheritedEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k, v]) =>
        v !== undefined &&
        !/^(INTUIT_|QBO_|DATABASE_URL|REDIS_|API_RUNS_JOBS|ADMIN_API_TOKEN|PORT|SANDBOX_PORT|DATA_DIR|NODE_ENV|LOG_)/.test(
          k,
        ),
    ),
  ) as Record<string, string>;
}

/**
 * Starts `apps/api/src/main.ts` with only `env` (no Intuit, database or secret variables
 * from the test's own environment) and resolves once its banner is printed. `umask` runs it
 * under that umask, e.g. '000' for a careless shell.
 */
export async function startEmbedded(
  env: Record<string, string>,
  opts: { umask?: string } = {},
): Promise<EmbeddedProcess> {
  const inherited = inheritedEnv();
  const node = [process.execPath, '--import', 'tsx', 'apps/api/src/main.ts'];
  const [command, ...args] = opts.umask
    ? ['/bin/sh', '-c', `umask ${opts.umask} && exec "$@"`, 'sh', ...node]
    : node;
  const child = spawn(command!, args, {
    cwd: ROOT,
    env: { ...inherited, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise<EmbeddedProcess>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 150 s:\n${out}`)), 150_000);
    const check = () => {
      const admin = /qbo-sync admin: (http:\/\/localhost:\d+)\/admin/.exec(out);
      const sandbox = /embedded qbo-sandbox at (http:\/\/\S+)/.exec(out);
      if (!admin || !sandbox) return;
      clearTimeout(timer);
      resolve({ child, baseUrl: admin[1]!, sandboxUrl: sandbox[1]!, output: () => out });
    };
    child.stdout.on('data', check);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before its banner:\n${out}`));
    });
  });
}

/** Stops it (SIGTERM: a clean shutdown; SIGKILL: a crash) and resolves with its exit code. */
export async function stopEmbedded(
  p: EmbeddedProcess,
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  const exited = new Promise<number | null>((r) => p.child.once('exit', (code) => r(code)));
  p.child.kill(signal);
  return exited;
}

export interface LocalSecrets {
  adminApiToken: string;
  sandboxControlToken: string;
}

export function localSecrets(dataDir: string): LocalSecrets {
  return JSON.parse(
    fs.readFileSync(path.join(dataDir, 'local-secrets.json'), 'utf8'),
  ) as LocalSecrets;
}

/** A browser logs in with the admin token and connects the demo company through consent. */
export function connectDemo(p: EmbeddedProcess, adminToken: string): Promise<void> {
  return connectCompany(p, adminToken);
}

/** As `connectDemo`, choosing `realmId` on the consent page (default: the preselected one). */
export async function connectCompany(
  p: Pick<EmbeddedProcess, 'baseUrl'>,
  adminToken: string,
  realmId?: string,
): Promise<void> {
  const browser = new Browser();
  const login = await fetch(`${p.baseUrl}/api/admin/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: adminToken }),
  });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
  browser.store(login);
  const headers = new Headers();
  browser.attach(headers);
  const connect = await fetch(`${p.baseUrl}/api/quickbooks/connect`, { headers });
  browser.store(connect);
  const { auth_url } = (await connect.json()) as { auth_url: string };
  const c = await consent(auth_url, 'connect', realmId);
  const cbHeaders = new Headers();
  browser.attach(cbHeaders);
  const cb = await fetch(c.callbackUrl, { headers: cbHeaders, redirect: 'manual' });
  const location = cb.headers.get('location') ?? '';
  if (!location.includes('qbo_connected=true')) throw new Error(`connect failed: ${location}`);
}

export interface AdminAnswer {
  status: number;
  body: any;
}

/** An admin API call with the bearer token (and a JSON body); the JSON answer. */
export async function admin(
  p: Pick<EmbeddedProcess, 'baseUrl'>,
  token: string,
  method: 'GET' | 'POST',
  route: string,
  body?: unknown,
): Promise<AdminAnswer> {
  const res = await fetch(`${p.baseUrl}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
}
