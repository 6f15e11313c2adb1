import { randomBytes, randomUUID } from 'node:crypto';
import { Clock } from './clock.ts';
import { Company, type ChangeEvent, type CompanyOptions } from './company.ts';

/** An app registered with the sandbox, as on developer.intuit.com. */
export interface AppRecord {
  clientId: string;
  clientSecret: string;
  name: string;
  redirectUris: string[];
  /** Where webhook notifications for this app's connected companies are POSTed. */
  webhookUrl?: string;
  verifierToken: string;
  webhookFormat: 'legacy' | 'cloudevents';
  /** Entities whose changes are notified (default: all). */
  webhookEntities?: string[];
}

export interface AccessTokenRecord {
  token: string;
  clientId: string;
  realmId: string;
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
  /** The refresh token that this access token was issued with (revoking it kills this). */
  refreshToken: string;
  revoked: boolean;
}

export interface RefreshTokenRecord {
  token: string;
  clientId: string;
  realmId: string;
  scopes: string[];
  /** All refresh tokens of one authorization share a grant id; revoke kills the grant. */
  grantId: string;
  issuedAt: number;
  /** Rolling expiry: 100 days after issue. */
  expiresAt: number;
  /** The grant's hard expiry: 5 years after the user's consent. */
  hardExpiresAt: number;
  /** When a newer refresh token replaced this one; it stays valid 24 h after that. */
  supersededAt?: number;
  revoked: boolean;
  userSub: string;
}

export interface AuthCodeRecord {
  code: string;
  clientId: string;
  redirectUri: string;
  realmId: string;
  scopes: string[];
  expiresAt: number;
  used: boolean;
  userSub: string;
  /** Tokens issued from this code; a reused code revokes them (RFC 6749 §4.1.2). */
  issuedRefreshToken?: string;
}

/** What the sandbox received and answered, for tests and the control API. */
export interface JournalEntry {
  seq: number;
  at: number;
  method: string;
  url: string;
  realmId?: string;
  clientId?: string;
  status: number;
  intuitTid: string;
  durationMs: number;
  requestBody?: string;
  responseBody?: string;
  /** Faults injected into this request through the control API. */
  injectedFaults?: { id: string; kind: string }[];
}

export interface SandboxOptions {
  /** Base URL the sandbox is reachable at (used in discovery documents and id_token iss checks). */
  baseUrl: string;
  /** Max journal entries kept (oldest dropped first). */
  journalSize: number;
  /** Keep request/response bodies in the journal. */
  journalBodies: boolean;
}

type ChangeListener = (event: ChangeEvent) => void;

/**
 * All mutable sandbox state. Route modules receive it and keep their own
 * sub-state on it (see the `ext` bag) so one object can be snapshotted and reset.
 */
export class SandboxState {
  readonly clock = new Clock();
  readonly companies = new Map<string, Company>();
  readonly apps = new Map<string, AppRecord>();
  readonly accessTokens = new Map<string, AccessTokenRecord>();
  readonly refreshTokens = new Map<string, RefreshTokenRecord>();
  readonly authCodes = new Map<string, AuthCodeRecord>();
  readonly journal: JournalEntry[] = [];
  private journalSeq = 0;
  private readonly changeListeners = new Set<ChangeListener>();
  /** Per-feature state owned by a module (limits, webhooks, requestid cache, faults). */
  readonly ext = new Map<string, unknown>();

  constructor(readonly options: SandboxOptions) {}

  extension<T>(key: string, create: () => T): T {
    let v = this.ext.get(key) as T | undefined;
    if (v === undefined) {
      v = create();
      this.ext.set(key, v);
    }
    return v;
  }

  addCompany(
    opts: Omit<CompanyOptions, 'createdAt' | 'realmId'> & { realmId?: string; createdAt?: number },
  ): Company {
    const realmId = opts.realmId ?? newRealmId();
    if (this.companies.has(realmId)) throw new Error(`company ${realmId} already exists`);
    // createdAt is given only when a snapshot restores a company.
    const company = new Company({
      ...opts,
      realmId,
      createdAt: opts.createdAt ?? this.clock.now(),
    });
    company.onChange = (e) => {
      for (const l of this.changeListeners) l(e);
    };
    this.companies.set(realmId, company);
    return company;
  }

  onChange(listener: ChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  registerApp(app: Partial<AppRecord> & { redirectUris: string[] }): AppRecord {
    const record: AppRecord = {
      clientId: app.clientId ?? `AB${randomBytes(24).toString('base64url')}`,
      clientSecret: app.clientSecret ?? randomBytes(30).toString('base64url'),
      name: app.name ?? 'Sandbox app',
      redirectUris: app.redirectUris,
      verifierToken: app.verifierToken ?? randomUUID(),
      webhookFormat: app.webhookFormat ?? 'legacy',
      ...(app.webhookUrl ? { webhookUrl: app.webhookUrl } : {}),
      ...(app.webhookEntities ? { webhookEntities: app.webhookEntities } : {}),
    };
    if (this.apps.has(record.clientId)) throw new Error(`app ${record.clientId} already exists`);
    this.apps.set(record.clientId, record);
    return record;
  }

  record(entry: Omit<JournalEntry, 'seq'>): void {
    this.journal.push({ ...entry, seq: ++this.journalSeq });
    const excess = this.journal.length - this.options.journalSize;
    if (excess > 0) this.journal.splice(0, excess);
  }
}

/** Realm ids look like Intuit's: 16+ digits. */
export function newRealmId(): string {
  let s = '9341';
  while (s.length < 19) s += Math.floor(Math.random() * 10);
  return s;
}

/** Intuit's trace id format, as seen in recordings: `1-5f733c38-6312b3f50596e47933ee0781`. */
export function newIntuitTid(nowMs: number): string {
  return `1-${Math.floor(nowMs / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}
