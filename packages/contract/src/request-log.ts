// GET /request-log: one row per HTTP attempt to QBO or Intuit's OAuth server.
import { z } from 'zod';
import { Iso, RealmId, fromNotAfterTo, listPageFields, textInput } from './common.ts';

/**
 * What a row is: a call to the Accounting API, or which call to Intuit's OAuth server
 * (the code exchange of /callback, a token refresh, a revoke on disconnect).
 */
export const RequestLogKind = z.enum([
  'accounting',
  'oauth_token_exchange',
  'oauth_token_refresh',
  'oauth_revoke',
]);
export type RequestLogKind = z.infer<typeof RequestLogKind>;

export const RequestLogQuery = z
  .strictObject({
    realmId: RealmId.optional(),
    kind: RequestLogKind.optional(),
    /**
     * An exact status (`429`), a class (`5xx`), `error` (status >= 400 or no response) or
     * `network` (no response at all).
     */
    status: z
      .string()
      .regex(
        /^([1-5]\d\d|[1-5]xx|error|network)$/,
        'status must be a status code (429), a class (5xx), "error" or "network"',
      )
      .optional(),
    method: z
      .string()
      .regex(/^[A-Za-z]{1,10}$/, 'method must be an HTTP method such as GET or POST')
      .transform((m) => m.toUpperCase())
      .optional(),
    /** Prefix of the logged path, e.g. `/v3/company/123/query` or `/oauth2`. */
    path: textInput('path', 500).optional(),
    /** QBO fault code (`3001`) or OAuth error (`invalid_grant`). */
    error_code: textInput('error_code', 100).optional(),
    ...listPageFields,
  })
  .refine(...fromNotAfterTo);
export type RequestLogQuery = z.infer<typeof RequestLogQuery>;

export const RequestLogEntry = z.object({
  id: z.string(),
  kind: RequestLogKind,
  realm_id: z.string().nullable(),
  method: z.string(),
  path: z.string(),
  status: z.number().int().nullable(),
  duration_ms: z.number().int(),
  intuit_tid: z.string().nullable(),
  qbo_error_code: z.string().nullable(),
  request_id: z.string().nullable(),
  attempt: z.number().int(),
  error_message: z.string().nullable(),
  created_at: Iso,
});
export type RequestLogEntry = z.infer<typeof RequestLogEntry>;

export const RequestLogResponse = z.object({
  logs: z.array(RequestLogEntry),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: z.string().nullable(),
});
export type RequestLogResponse = z.infer<typeof RequestLogResponse>;
