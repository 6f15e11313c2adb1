// Connecting a company and living with the connection: connect, callback, disconnect,
// refresh and the connection probe.
import { z } from 'zod';
import { Iso, NullableIso, RealmId, textInput } from './common.ts';
import { ErrorDetail } from './errors.ts';

export const ConnectResponse = z.object({ auth_url: z.url(), state_expires_at: Iso });
export type ConnectResponse = z.infer<typeof ConnectResponse>;

/** What Intuit appends to the redirect URI. Extra parameters are tolerated (Intuit may add some). */
export const CallbackQuery = z.object({
  code: textInput('code', 2048).optional(),
  state: textInput('state', 2048).optional(),
  realmId: RealmId.optional(),
  error: textInput('error', 200).optional(),
  error_description: z.string().max(2000).optional(),
});
export type CallbackQuery = z.infer<typeof CallbackQuery>;

/** `/admin?qbo_error=<code>` values the callback can redirect with. */
export const CALLBACK_ERROR_CODES = [
  'access_denied',
  'authorization_failed',
  'invalid_callback',
  'state_missing',
  'state_forged',
  'state_expired',
  'state_replayed',
  'state_wrong_session',
  'token_exchange_failed',
  'realm_not_verified',
  'company_check_failed',
  'internal_error',
] as const;
export type CallbackErrorCode = (typeof CALLBACK_ERROR_CODES)[number];

export const TokenExpiries = z.object({
  access_token_expires_at: Iso,
  /** Rolling expiry: each refresh pushes it out (100 days at Intuit). */
  refresh_token_expires_at: Iso,
  /** Absolute limit of the grant (5 years at Intuit); null when Intuit did not say. */
  refresh_token_hard_expires_at: NullableIso,
});
export type TokenExpiries = z.infer<typeof TokenExpiries>;

export const DisconnectResponse = z.object({
  realm_id: z.string(),
  status: z.literal('disconnected'),
  disconnected_at: Iso,
  /** Mirrored rows and the request log are kept; only the tokens are gone. */
  kept: z.object({ mirror_rows: z.number().int(), request_log_rows: z.number().int() }),
});
export type DisconnectResponse = z.infer<typeof DisconnectResponse>;

export const RefreshResponse = z.object({
  realm_id: z.string(),
  result: z.enum(['refreshed', 'already_fresh']),
  tokens: TokenExpiries,
  last_refresh_at: NullableIso,
});
export type RefreshResponse = z.infer<typeof RefreshResponse>;

export const TestConnectionResponse = z.object({
  ok: z.boolean(),
  realm_id: z.string(),
  company_name: z.string().nullable(),
  latency_ms: z.number().int(),
  checked_at: Iso,
  /** Why the probe failed (ok: false), in the shape of the API's errors. */
  error: ErrorDetail.optional(),
});
export type TestConnectionResponse = z.infer<typeof TestConnectionResponse>;
