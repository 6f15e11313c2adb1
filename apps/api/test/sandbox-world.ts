// The API client's integration tests run against this: a real qbo-sandbox, companies and an
// app made through its control API, and a minimal real token source (tokens minted by
// `POST /_sandbox/tokens`). QBO itself is never mocked.
import pino from 'pino';
import { startSandbox, type Sandbox } from 'qbo-sandbox';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll } from 'vitest';
import type { Database } from '../src/db/schema.ts';
import {
  QboApiClient,
  type AccessTokenSource,
  type QboApiClientDeps,
} from '../src/lib/quickbooks/client/api-client.ts';
import { DbRequestLogSink } from '../src/lib/quickbooks/client/request-log.ts';
import { systemClock, type RateLimiter } from '../src/lib/quickbooks/ports.ts';

export interface ControlResult {
  status: number;
  // Bodies of many shapes; tests read the fields they assert on.
  body: any;
}

export async function control(
  url: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<ControlResult> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
}

async function ok(res: Promise<ControlResult>, what: string): Promise<any> {
  const r = await res;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/**
 * Mints through the sandbox, caches per realm, and forgets a token when told it was
 * refused — the part of the TokenStore the client depends on.
 */
export class SandboxTokenSource implements AccessTokenSource {
  readonly minted: string[] = [];
  readonly refreshTokens: string[] = [];
  readonly invalidated: string[] = [];
  readonly #current = new Map<string, Promise<string>>();

  constructor(
    private readonly url: string,
    private readonly clientId: string,
  ) {}

  getAccessToken(realmId: string): Promise<string> {
    let p = this.#current.get(realmId);
    if (!p) {
      p = ok(
        control(this.url, 'POST', '/_sandbox/tokens', { clientId: this.clientId, realmId }),
        'mint',
      ).then((b: { access_token: string; refresh_token: string }) => {
        this.minted.push(b.access_token);
        this.refreshTokens.push(b.refresh_token);
        return b.access_token;
      });
      this.#current.set(realmId, p);
      p.catch(() => this.#current.delete(realmId));
    }
    return p;
  }

  async invalidateAccessToken(realmId: string, accessToken: string): Promise<void> {
    this.invalidated.push(accessToken);
    const p = this.#current.get(realmId);
    if (p && (await p) === accessToken) this.#current.delete(realmId);
  }
}

export interface SandboxWorld {
  sandbox: Sandbox;
  url: string;
  clientId: string;
  /** A new company seeded with a small deterministic history; returns its realm id. */
  newCompany(): Promise<string>;
  tokens: SandboxTokenSource;
  client(
    db: Kysely<Database>,
    limiter: RateLimiter,
    overrides?: Partial<QboApiClientDeps>,
  ): QboApiClient;
  close(): Promise<void>;
}

export async function startSandboxWorld(): Promise<SandboxWorld> {
  const logger = pino({ level: 'silent' });
  const sandbox = await startSandbox({ port: 0, journalBodies: false });
  const url = sandbox.url;
  const app = await ok(
    control(url, 'POST', '/_sandbox/apps', { redirectUris: ['http://localhost:3000/callback'] }),
    'app',
  );
  const tokens = new SandboxTokenSource(url, app.clientId as string);
  return {
    sandbox,
    url,
    clientId: app.clientId as string,
    tokens,
    newCompany: async () =>
      (
        (await ok(control(url, 'POST', '/_sandbox/seed', { seed: 1, entities: 60 }), 'seed')) as {
          realmId: string;
        }
      ).realmId,
    client: (db, limiter, overrides = {}) =>
      new QboApiClient({
        requestLog: new DbRequestLogSink(db, logger),
        tokens,
        limiter,
        clock: systemClock,
        logger,
        apiBaseUrl: `${url}/v3/company`,
        minorVersion: 75,
        // Real backoff shape, compressed: tests assert behaviour, not wall time.
        sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))),
        ...overrides,
      }),
    close: () => sandbox.close(),
  };
}

/** POST /_sandbox/faults; returns the rule. */
export function injectFault(url: string, rule: Record<string, unknown>): Promise<any> {
  return ok(control(url, 'POST', '/_sandbox/faults', rule), 'fault');
}

export function sandboxStats(url: string, realmId: string, clientId: string): Promise<any> {
  return ok(
    control(url, 'GET', `/_sandbox/stats?realmId=${realmId}&clientId=${clientId}`),
    'stats',
  );
}

/** One SandboxWorld for the test file; call the returned function inside tests and hooks. */
export function useSandboxWorld(): () => SandboxWorld {
  let world: SandboxWorld | undefined;
  beforeAll(async () => {
    world = await startSandboxWorld();
  });
  afterAll(async () => {
    await world?.close();
  });
  return () => {
    if (!world) throw new Error('the sandbox world is not started yet (use it inside tests)');
    return world;
  };
}
