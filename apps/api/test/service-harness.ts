// End-to-end harness: a real qbo-sandbox, a real database (db-helpers), the real service
// listening on a free port, and a cookie-keeping "browser" that walks the OAuth flow the way
// a person's browser does (follow auth_url, submit the consent form, follow the redirects).
// Every response body and log line is recorded so tests can prove no secret ever leaves.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { startSandbox, type Sandbox } from 'qbo-sandbox';
import { afterAll, beforeAll } from 'vitest';
import { buildApp } from '../src/app.ts';
import {
  DEFAULT_ADMIN_UI_DIR,
  intuitUrls,
  type IntuitConfig,
  type TrustProxy,
} from '../src/config.ts';
import type { Database } from '../src/db/schema.ts';
import {
  LOG_REDACT_PATHS,
  appDepsOf,
  buildServices,
  startJobProcessing,
  type Services,
} from '../src/infra/container.ts';
import { closeRedis, createRedis } from '../src/infra/redis.ts';
import type { TokenKeyring } from '../src/lib/quickbooks/connection/token-cipher.ts';
import type { Clock } from '../src/lib/quickbooks/ports.ts';
import { forEachDatabase } from './db-helpers.ts';
import { freePort } from './free-port.ts';

export type { Sandbox };
export { freePort };

export async function startTestSandbox(): Promise<Sandbox> {
  return startSandbox({ port: 0, journalBodies: false });
}

/** A company with a little seeded data, so CompanyInfo and queries have something to read. */
export function addCompany(
  sandbox: Sandbox,
  companyName = `Test Co ${randomBytes(3).toString('hex')}`,
) {
  return sandbox.addCompany({ companyName });
}

/** A clock tests can move forward (state expiry, token expiry, metric windows). */
export class TestClock implements Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface TestService {
  url: string;
  app: FastifyInstance;
  services: Services;
  db: Kysely<Database>;
  clock: TestClock;
  sandbox: Sandbox;
  clientId: string;
  adminToken: string;
  /** The keyring the service encrypts tokens with (key id "test"). */
  tokenKeyring: TokenKeyring;
  /** Every response body the harness's fetch saw, and every log line the service wrote. */
  bodies: string[];
  logs: string[];
  fetch(path: string, init?: RequestInit & { browser?: Browser }): Promise<Response>;
  /** fetch + JSON with the admin bearer token. */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** The start of every Redis key this service writes (REDIS_PREFIX + ':'). */
  redisPrefix: string;
  /** Every secret the sandbox issued or this service holds, for leak checks. */
  secrets(): string[];
  close(): Promise<void>;
}

export interface TestServiceOptions {
  /** TRUST_PROXY as the service would get it (default: none trusted). */
  trustProxy?: TrustProxy;
  /**
   * Point the sandbox app's webhooks at this service (in this format) and run the job
   * worker in-process (BullMQ when REDIS_URL is set), as `npm start` does.
   */
  webhooks?: { format: 'legacy' | 'cloudevents'; coalesceMs?: number };
  /**
   * Start the background work as a worker process does (schedules, unfinished runs, the
   * periodic queue check every `checkIntervalMs`); `jobLockMs` shortens BullMQ's job locks.
   */
  jobProcessing?: { checkIntervalMs: number; jobLockMs?: number };
}

export async function startTestService(
  db: Kysely<Database>,
  sandbox: Sandbox,
  opts: TestServiceOptions = {},
): Promise<TestService> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const registered = sandbox.registerApp({
    name: 'qbo-sync (test)',
    redirectUris: [`${url}/api/quickbooks/callback`],
  });
  const intuit: IntuitConfig = {
    clientId: registered.clientId,
    clientSecret: registered.clientSecret,
    redirectUri: `${url}/api/quickbooks/callback`,
    environment: 'sandbox',
    webhookVerifierToken: registered.verifierToken,
    sandboxUrl: sandbox.url,
    urls: intuitUrls('sandbox', sandbox.url),
  };
  const logs: string[] = [];
  const bodies: string[] = [];
  const logger = pino(
    { level: 'debug', redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } },
    { write: (line: string) => void logs.push(line) },
  );
  const adminToken = randomBytes(24).toString('hex');
  const tokenKey = randomBytes(32).toString('hex');
  const tokenKeyring: TokenKeyring = { currentKeyId: 'test', keys: { test: tokenKey } };
  const redis: Redis | null = process.env.REDIS_URL ? createRedis(process.env.REDIS_URL) : null;
  const bullmqRedis: Redis | null = process.env.REDIS_URL
    ? createRedis(process.env.REDIS_URL, { purpose: 'bullmq' })
    : null;
  const clock = new TestClock();
  const redisPrefix = `qbo-sync-test:${randomBytes(6).toString('hex')}:`;
  const services = buildServices({
    db,
    intuit,
    adminApiToken: adminToken,
    tokenKeyring,
    minorVersion: 75,
    logger,
    redis,
    bullmqRedis,
    clock,
    redisPrefix,
    ...(opts.jobProcessing?.jobLockMs ? { jobLockMs: opts.jobProcessing.jobLockMs } : {}),
    // Retries happen at once: the tests count attempts, not wall-clock backoff.
    apiClient: { sleep: async () => {} },
    // Without `opts.webhooks`, stored deliveries stay pending for the test to look at.
    webhooks: { coalesceMs: opts.webhooks ? (opts.webhooks.coalesceMs ?? 100) : 600_000 },
  });
  // The admin page as npm start serves it (built by npm install, or the build-it-first page).
  const app = await buildApp({
    ...appDepsOf(services),
    adminUiDir: DEFAULT_ADMIN_UI_DIR,
    ...(opts.trustProxy !== undefined ? { trustProxy: opts.trustProxy } : {}),
  });
  await app.listen({ port, host: '127.0.0.1' });
  if (opts.webhooks) {
    sandbox.updateApp(registered.clientId, {
      webhookUrl: `${url}/api/quickbooks/webhook`,
      webhookFormat: opts.webhooks.format,
    });
  }
  // Background jobs run in the test process, as `npm start` runs them (BullMQ with REDIS_URL).
  let stopJobChecks: (() => Promise<void>) | null = null;
  if (opts.jobProcessing) {
    stopJobChecks = await startJobProcessing(services, opts.jobProcessing.checkIntervalMs);
  } else {
    await services.jobs.start();
    if (opts.webhooks) await services.webhooks.startSweeps(services.jobs);
  }

  const doFetch = async (path: string, init: RequestInit & { browser?: Browser } = {}) => {
    const { browser, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (browser) browser.attach(headers);
    const res = await fetch(path.startsWith('http') ? path : `${url}${path}`, {
      ...rest,
      headers,
      redirect: 'manual',
    });
    if (browser) browser.store(res);
    const text = await res.text();
    bodies.push(text);
    for (const c of res.headers.getSetCookie()) bodies.push(c);
    return new Response(res.status === 204 || res.status === 304 ? null : text, {
      status: res.status,
      headers: res.headers,
    });
  };

  return {
    url,
    app,
    services,
    tokenKeyring,
    db,
    clock,
    sandbox,
    clientId: registered.clientId,
    adminToken,
    redisPrefix,
    bodies,
    logs,
    fetch: doFetch,
    admin: async (method, path, body) => {
      const res = await doFetch(path, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    secrets: () => {
      const s = sandbox.state;
      return [
        adminToken,
        tokenKey,
        registered.clientSecret,
        registered.verifierToken,
        ...s.accessTokens.keys(),
        ...s.refreshTokens.keys(),
        ...s.authCodes.keys(),
      ];
    },
    close: async () => {
      await app.close();
      await stopJobChecks?.();
      await services.jobs.close(1_000);
      if (bullmqRedis) await closeRedis(bullmqRedis);
      if (redis) await closeRedis(redis);
    },
  };
}

/** What a route test reaches through `forEachService`, once its hooks have run. */
export interface ServiceEnv {
  readonly sandbox: Sandbox;
  readonly svc: TestService;
  readonly db: Kysely<Database>;
}

/**
 * The set-up every route test file shares: one qbo-sandbox for the file and, for each
 * database kind (forEachDatabase), the service listening on a free port in front of it.
 * `env`'s fields are there inside tests and hooks (declared after this one's, so they run
 * after it).
 */
export function forEachService(fn: (env: ServiceEnv) => void, opts: TestServiceOptions = {}): void {
  let sandbox: Sandbox | undefined;
  beforeAll(async () => {
    sandbox = await startTestSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  forEachDatabase((t) => {
    let svc: TestService | undefined;
    beforeAll(async () => {
      svc = await startTestService(t().db, sandbox!, opts);
    });
    afterAll(async () => {
      await svc?.close();
    });
    const started = <T>(value: T | undefined, what: string): T => {
      if (value === undefined) throw new Error(`${what} is not started yet (use env inside tests)`);
      return value;
    };
    fn({
      get sandbox() {
        return started(sandbox, 'the sandbox');
      },
      get svc() {
        return started(svc, 'the service');
      },
      get db() {
        return t().db;
      },
    });
  });
}

// ---------------------------------------------------------------------------------------
// A browser: one cookie jar for the service (the sandbox sets none), manual redirects.

export class Browser {
  readonly cookies = new Map<string, string>();

  attach(headers: Headers): void {
    if (this.cookies.size === 0) return;
    headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
  }

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const maxAge = attrs.map((a) => a.trim()).find((a) => /^max-age=/i.test(a));
      if (maxAge && Number(maxAge.split('=')[1]) <= 0) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/** Logs a browser in with the admin token (POST /api/admin/session). */
export async function login(svc: TestService, browser = new Browser()): Promise<Browser> {
  const res = await svc.fetch('/api/admin/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: svc.adminToken }),
    browser,
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return browser;
}

export interface ConsentResult {
  /** Where the sandbox sent the browser (our /callback URL). */
  callbackUrl: string;
  state: string;
}

/** Opens auth_url in the sandbox and clicks Connect (or Cancel) for `realmId`. */
export async function consent(
  authUrl: string,
  action: 'connect' | 'cancel',
  realmId?: string,
): Promise<ConsentResult> {
  const page = await fetch(authUrl, { redirect: 'manual' });
  if (page.status !== 200) throw new Error(`consent page: ${page.status} ${await page.text()}`);
  const html = await page.text();
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    form.set(unescapeHtml(m[1]!), unescapeHtml(m[2]!));
  }
  const radios = [
    ...html.matchAll(/<input type="radio" name="realmId" value="([^"]*)"( checked)?/g),
  ];
  const chosen = realmId ?? radios.find((r) => r[2])?.[1] ?? radios[0]?.[1];
  if (chosen) form.set('realmId', chosen);
  form.set('action', action);
  const action_ = /<form method="post" action="([^"]*)"/.exec(html)?.[1] ?? '/connect/oauth2';
  const res = await fetch(new URL(action_, authUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    redirect: 'manual',
  });
  if (res.status !== 302) throw new Error(`consent submit: ${res.status} ${await res.text()}`);
  const callbackUrl = res.headers.get('location')!;
  return { callbackUrl, state: new URL(callbackUrl).searchParams.get('state') ?? '' };
}

function unescapeHtml(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** GET /connect as `browser`, consent in the sandbox, follow the redirect to /callback. */
export async function connectFlow(
  svc: TestService,
  browser: Browser,
  realmId: string,
  action: 'connect' | 'cancel' = 'connect',
): Promise<{ location: string; consent: ConsentResult }> {
  const res = await svc.fetch('/api/quickbooks/connect', { browser });
  if (res.status !== 200) throw new Error(`/connect: ${res.status} ${await res.text()}`);
  const { auth_url } = (await res.json()) as { auth_url: string };
  const c = await consent(auth_url, action, realmId);
  const cb = await svc.fetch(c.callbackUrl, { browser });
  if (cb.status !== 302) throw new Error(`/callback: ${cb.status} ${await cb.text()}`);
  return { location: cb.headers.get('location')!, consent: c };
}

/** Connects `realmId` with a fresh logged-in browser; returns that browser. */
export async function connectRealm(svc: TestService, realmId: string): Promise<Browser> {
  const browser = await login(svc);
  const { location } = await connectFlow(svc, browser, realmId);
  if (!location.includes('qbo_connected=true')) throw new Error(`connect failed: ${location}`);
  return browser;
}

/** Every recorded body/log line that contains one of the secrets (should be none). */
export function leaks(svc: TestService): { secret: string; where: string }[] {
  const found: { secret: string; where: string }[] = [];
  const secrets = svc.secrets().filter((s) => s.length >= 8);
  for (const [kind, list] of [
    ['response', svc.bodies],
    ['log', svc.logs],
  ] as const) {
    for (const text of list) {
      for (const s of secrets) {
        if (text.includes(s))
          found.push({ secret: `${s.slice(0, 6)}…`, where: `${kind}: ${text.slice(0, 200)}` });
      }
    }
  }
  return found;
}

/** The sandbox's control API. */
export async function control(sandbox: Sandbox, method: string, path: string, body?: unknown) {
  const res = await fetch(`${sandbox.url}/_sandbox${path}`, {
    method,
    ...(body !== undefined
      ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
      : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
