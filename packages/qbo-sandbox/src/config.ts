/** Everything that tunes the sandbox's behaviour. Defaults follow Intuit's documentation. */
export interface SandboxConfig {
  /** Public base URL, e.g. http://127.0.0.1:4010 (filled in once listening). */
  baseUrl: string;
  /** Access token lifetime (Intuit: 1 hour). */
  accessTokenTtlSec: number;
  /** Rolling refresh-token lifetime (Intuit: 100 days). */
  refreshTokenTtlSec: number;
  /** Hard refresh-token lifetime from the user's consent (Intuit: 5 years). */
  refreshTokenHardTtlSec: number;
  /** How long a superseded refresh token keeps working (Intuit: 24 hours). */
  refreshTokenGraceSec: number;
  /** Authorization code lifetime (Intuit: 5 minutes ⚠ not documented precisely). */
  authCodeTtlSec: number;
  /** Per realm+app request limits (docs limits-and-throttles). */
  limits: {
    perMinute: number;
    perSecond: number;
    concurrent: number;
    batchPerMinute: number;
    enabled: boolean;
    /** Batch calls per minute per realm, all apps together (docs: 120). */
    batchPerMinutePerRealm: number;
    /**
     * Whom the per-minute limit counts: docs limits-and-throttles say "500 requests per
     * minute per realm ID" (all apps together); 'realm+app' counts each app separately.
     */
    perMinuteScope: 'realm' | 'realm+app';
  };
  /** `?requestid=` replay (blog 2015-04-06). */
  requestId: {
    /** Longest accepted requestid (blog: 50 characters). */
    maxLength: number;
    /** Responses remembered per company (oldest dropped first). */
    cacheSize: number;
    /** How long a response is replayed, in sandbox-clock seconds (Intuit does not say). */
    ttlSec: number;
    /** Replay 4xx faults too, as the blog's "the same response" reads (5xx never are). */
    replayFaults: boolean;
  };
  /** When set, every `/_sandbox/*` route requires `Authorization: Bearer <controlToken>`. */
  controlToken?: string;
  /** CDC look-back limit in days and per-response object cap (docs change-data-capture). */
  cdc: { maxLookbackDays: number; maxObjects: number };
  /** Max batch items (docs: 30). */
  batchMaxItems: number;
  /** Webhook delivery tuning. */
  webhooks: {
    /** Delay to batch changes into one notification (Intuit: "a few minutes"; default small). */
    batchDelayMs: number;
    /** Multiplies Intuit's retry schedule (10 s, 20 s, 30 s, 5 min, …); 1 is real time. */
    retryScale: number;
    /** Give up after this many attempts. */
    maxAttempts: number;
    /** Per-delivery timeout (Intuit expects a response within 3 s). */
    timeoutMs: number;
    enabled: boolean;
    /** Seed of the random source behind duplicate/reorder chaos (repeatable deliveries). */
    seed: number;
    /** Delivery attempts kept for `GET /_sandbox/webhooks/deliveries` (oldest dropped first). */
    logSize: number;
  };
  /** Minor version assumed when none is sent (blog 2025-01-21: 75). */
  defaultMinorVersion: number;
  /** Value of the qbo-version response header. */
  qboVersion: string;
  /** OAuth choices Intuit's documentation leaves open (see docs/oauth.md). */
  oauth: OAuthConfig;
}

export interface OAuthConfig {
  /**
   * `always`: every refresh returns a new refresh token. `daily`: the same refresh token is
   * returned until it is `refreshTokenRotateAfterSec` old (Intuit FAQ: "changes every 24 hours").
   */
  refreshTokenRotation: 'always' | 'daily';
  refreshTokenRotateAfterSec: number;
  /** Revoking an access token disconnects the whole grant (`grant`) or only that token. */
  revokeAccessToken: 'grant' | 'token';
  /** Revoking an unknown or already revoked token: Intuit answers 400 with an empty body. */
  revokeUnknownToken: 'bad_request' | 'ok';
  /** The signed-in Intuit user the consent page acts for (userinfo, id_token `sub`). */
  user: {
    sub?: string;
    email: string;
    emailVerified: boolean;
    givenName: string;
    familyName: string;
    phoneNumber: string;
    phoneNumberVerified: boolean;
    address: {
      streetAddress: string;
      locality: string;
      region: string;
      postalCode: string;
      country: string;
    };
  };
}

export function defaultConfig(overrides: DeepPartial<SandboxConfig> = {}): SandboxConfig {
  const base: SandboxConfig = {
    baseUrl: 'http://127.0.0.1:4010',
    accessTokenTtlSec: 3600,
    refreshTokenTtlSec: 100 * 24 * 3600,
    refreshTokenHardTtlSec: 5 * 365 * 24 * 3600,
    refreshTokenGraceSec: 24 * 3600,
    authCodeTtlSec: 300,
    limits: {
      perMinute: 500,
      perSecond: 10,
      concurrent: 10,
      batchPerMinute: 40,
      enabled: true,
      batchPerMinutePerRealm: 120,
      perMinuteScope: 'realm',
    },
    requestId: { maxLength: 50, cacheSize: 5000, ttlSec: 24 * 3600, replayFaults: true },
    cdc: { maxLookbackDays: 30, maxObjects: 1000 },
    batchMaxItems: 30,
    webhooks: {
      batchDelayMs: 1000,
      retryScale: 1,
      maxAttempts: 12,
      timeoutMs: 3000,
      enabled: true,
      seed: 1,
      logSize: 1000,
    },
    defaultMinorVersion: 75,
    qboVersion: '1988.128',
    oauth: {
      refreshTokenRotation: 'always',
      refreshTokenRotateAfterSec: 24 * 3600,
      revokeAccessToken: 'grant',
      revokeUnknownToken: 'bad_request',
      user: {
        email: 'sandbox.user@example.com',
        emailVerified: true,
        givenName: 'Sandbox',
        familyName: 'User',
        phoneNumber: '+1 6505550100',
        phoneNumberVerified: false,
        address: {
          streetAddress: '2700 Coast Ave',
          locality: 'Mountain View',
          region: 'CA',
          postalCode: '94043',
          country: 'US',
        },
      },
    },
  };
  return merge(base, overrides);
}

export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};

function merge<T>(base: T, over: DeepPartial<T>): T {
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] =
      b && typeof b === 'object' && !Array.isArray(b) && v && typeof v === 'object'
        ? merge(b, v)
        : v;
  }
  return out as T;
}
