// The one error shape of the API, `{ "error": { "code", "message", "details"? } }`, and every
// code it answers with. The table is the source of both the codes (a z.enum built from its
// keys) and their HTTP statuses. Human-readable reference: docs/api.md#errors.
import { z } from 'zod';

/** Every code this API answers with, and its status. */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  invalid_admin_token: 401,
  invalid_signature: 401,
  forbidden: 403,
  cross_origin_request: 403,
  not_found: 404,
  realm_not_found: 404,
  not_connected: 409,
  needs_reauth: 409,
  not_replayable: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  qbo_throttled: 429,
  too_many_attempts: 429,
  internal_error: 500,
  qbo_error: 502,
  qbo_auth_failed: 502,
  intuit_client_error: 502,
  qbo_unavailable: 503,
  busy: 503,
  qbo_timeout: 504,
} as const;

type Code = keyof typeof ERROR_STATUS;
export const ErrorCode = z.enum(Object.keys(ERROR_STATUS) as [Code, ...Code[]]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorDetail = z.object({
  code: ErrorCode,
  message: z.string(),
  details: z.unknown().optional(),
});

export const ErrorResponse = z.object({ error: ErrorDetail });
export type ErrorResponse = z.infer<typeof ErrorResponse>;
