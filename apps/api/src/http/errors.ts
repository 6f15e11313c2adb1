// The one place where anything thrown by a route becomes an HTTP answer:
// `{ "error": { "code", "message", "details"? } }` with a stable snake_case code. Domain errors
// (OAuth, QBO client, lock) are mapped here, not in each route, so the same failure always
// looks the same to the admin UI. 5xx answers never carry internals: the message names the
// request id, and the log has the stack.
import { ERROR_STATUS, type ErrorCode, type ErrorResponse } from '@qbo-sync/contract';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError, type z } from 'zod';
import { LockTimeoutError } from '../lib/quickbooks/ports.ts';
import {
  OAuthClientError,
  OAuthGrantError,
  OAuthTransientError,
} from '../lib/quickbooks/connection/oauth.ts';
import { ReauthRequiredError } from '../lib/quickbooks/connection/token-store.ts';
import {
  QboAuthError,
  QboError,
  QboFault,
  QboNetworkError,
  QboThrottledError,
} from '../lib/quickbooks/client/errors.ts';
import { InvalidCursorError } from '../lib/quickbooks/client/request-log.ts';

export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

/** Parses `value` with `schema`, or throws a 400 naming every bad field. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'query' | 'body',
): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  throw invalidInput(r.error, where);
}

function invalidInput(err: ZodError, where: string): HttpError {
  const issues = err.issues.map((i) => ({
    field: i.path.length ? i.path.join('.') : where,
    message: i.message,
  }));
  const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  return new HttpError('invalid_request', `invalid ${where}: ${summary}`, { issues });
}

/** Maps an error to (status, body). Exported for tests of the mapping itself. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ZodError) return invalidInput(err, 'input');
  if (err instanceof InvalidCursorError) {
    return new HttpError(
      'invalid_request',
      'cursor is not a next_cursor value from this endpoint; drop it to start from the newest entry',
      { issues: [{ field: 'cursor', message: 'invalid cursor' }] },
    );
  }
  if (err instanceof ReauthRequiredError || err instanceof OAuthGrantError) {
    return new HttpError(
      'needs_reauth',
      'QuickBooks no longer accepts this connection’s tokens; reconnect the company (GET /api/quickbooks/connect)',
      realmDetails(err),
    );
  }
  if (err instanceof OAuthTransientError) {
    return new HttpError(
      'qbo_unavailable',
      'Intuit’s token service did not answer properly; the stored tokens were kept — try again shortly',
    );
  }
  if (err instanceof OAuthClientError) {
    return new HttpError(
      'intuit_client_error',
      'Intuit refused this app’s credentials; check INTUIT_CLIENT_ID / INTUIT_CLIENT_SECRET',
    );
  }
  if (err instanceof QboThrottledError) {
    return new HttpError(
      'qbo_throttled',
      'QuickBooks throttled this company’s requests (HTTP 429); wait a minute and retry',
      qboDetails(err),
    );
  }
  if (err instanceof QboAuthError) {
    return new HttpError(
      'qbo_auth_failed',
      'QuickBooks refused the access token; refresh (POST /api/quickbooks/refresh) or reconnect',
      qboDetails(err),
    );
  }
  if (err instanceof QboNetworkError) {
    return new HttpError('qbo_timeout', 'QuickBooks did not answer in time', qboDetails(err));
  }
  if (err instanceof QboFault || err instanceof QboError) {
    const status = err.status ?? 0;
    return new HttpError(
      status >= 500 || status === 0 ? 'qbo_unavailable' : 'qbo_error',
      `QuickBooks answered with an error${err.code ? ` (code ${err.code})` : ''}`,
      qboDetails(err),
    );
  }
  if (err instanceof LockTimeoutError) {
    return new HttpError('busy', 'another operation on this company is in progress; retry shortly');
  }
  const fe = err as Partial<FastifyError>;
  if (typeof fe.statusCode === 'number' && fe.statusCode < 500 && typeof fe.code === 'string') {
    return fromFastify(fe as FastifyError);
  }
  return new HttpError('internal_error', 'an internal error occurred');
}

function fromFastify(err: FastifyError): HttpError {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError('invalid_json', `the request body is not valid JSON: ${err.message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError('payload_too_large', 'the request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError('unsupported_media_type', 'send the request body as application/json');
    default:
      return new HttpError('invalid_request', err.message);
  }
}

function realmDetails(err: unknown): { realm_id: string } | undefined {
  const realmId = (err as { realmId?: unknown }).realmId;
  return typeof realmId === 'string' ? { realm_id: realmId } : undefined;
}

function qboDetails(err: QboError): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  if (err.status !== null) d.qbo_status = err.status;
  if (err.code !== null) d.qbo_code = err.code;
  if (err.intuitTid !== null) d.intuit_tid = err.intuitTid;
  if (err instanceof QboFault && err.errors.length > 0) {
    // QBO's own Message/Detail text is meant for the developer and holds no secret.
    d.qbo_errors = err.errors.map((e) => ({ code: e.code, message: e.message, detail: e.detail }));
  }
  return d;
}

export function sendError(reply: FastifyReply, err: HttpError): FastifyReply {
  const body: ErrorResponse = {
    error: {
      code: err.code,
      message: err.message,
      ...(err.details !== undefined ? { details: err.details } : {}),
    },
  };
  return reply.code(err.status).type('application/json; charset=utf-8').send(body);
}

/** Installs the error and not-found handlers on the root instance. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const http = toHttpError(err);
    if (http.status >= 500) {
      req.log.error({ err }, `request failed: ${http.code}`);
      if (http.code === 'internal_error') {
        return sendError(
          reply,
          new HttpError(
            'internal_error',
            `an internal error occurred; the server log has the details (request id ${req.id})`,
          ),
        );
      }
    } else {
      req.log.info({ errorCode: http.code, status: http.status }, http.message);
    }
    return sendError(reply, http);
  });
  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) =>
    sendError(
      reply,
      new HttpError(
        'not_found',
        `no route ${req.method} ${req.url.split('?')[0]}; see docs/api.md`,
      ),
    ),
  );
}
