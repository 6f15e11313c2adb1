// The one place where anything thrown by a route becomes an HTTP answer:
// `{ "error": { "code", "message", "details"? } }` with a stable snake_case code. Domain errors
// are mapped here by their `kind`, one table entry each, not in each route, so the same
// failure always looks the same to the admin UI. 5xx answers never carry internals: the
// message names the request id, and the log has the stack.
import { ERROR_STATUS, type ErrorCode, type ErrorResponse } from '@qbo-sync/contract';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import type {
  QboAuthError,
  QboError,
  QboNetworkError,
  QboThrottledError,
} from '../lib/quickbooks/client/errors.ts';
import { QboFault } from '../lib/quickbooks/client/errors.ts';
import type { InvalidCursorError } from '../lib/quickbooks/keyset-cursor.ts';
import type {
  OAuthClientError,
  OAuthGrantError,
  OAuthTransientError,
} from '../lib/quickbooks/connection/oauth.ts';
import type {
  NotConnectedError,
  RealmNotFoundError,
} from '../lib/quickbooks/connection/connection.service.ts';
import type { ReauthRequiredError } from '../lib/quickbooks/connection/token-store.ts';
import { QuickBooksError, type QuickBooksErrorKind } from '../lib/quickbooks/errors.ts';
import type { LockTimeoutError } from '../lib/quickbooks/ports.ts';

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

/**
 * A 400 naming every bad field, e.g. `invalid query: limit: limit must be 1-500`. `path` is
 * where in the input the problem is; an empty one means the input as a whole.
 */
function invalidInput(
  problems: readonly { path: readonly PropertyKey[]; message: string }[],
  where: string,
): HttpError {
  const issues = problems.map((p) => ({
    field: p.path.length ? p.path.map(String).join('.') : where,
    message: p.message,
  }));
  const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  return new HttpError('invalid_request', `invalid ${where}: ${summary}`, { issues });
}

/**
 * A request the route's schema refused. The zod type provider reports each zod issue with
 * its path as a JSON pointer (`/realmId`); Fastify says which part of the request it was.
 */
function fromValidation(err: FastifyError): HttpError {
  const where =
    err.validationContext === 'querystring' ? 'query' : (err.validationContext ?? 'input');
  const problems = (err.validation ?? []).map((v) => ({
    path: v.instancePath.split('/').filter(Boolean),
    message: v.message ?? 'is invalid',
  }));
  return invalidInput(problems, where);
}

/** The class behind each kind, so each entry of the table below reads its own fields. */
interface ErrorsByKind {
  oauth_grant: OAuthGrantError;
  oauth_transient: OAuthTransientError;
  oauth_client: OAuthClientError;
  reauth_required: ReauthRequiredError;
  realm_not_found: RealmNotFoundError;
  not_connected: NotConnectedError;
  qbo_error: QboError;
  qbo_fault: QboFault;
  qbo_throttled: QboThrottledError;
  qbo_auth: QboAuthError;
  qbo_network: QboNetworkError;
  lock_timeout: LockTimeoutError;
  invalid_cursor: InvalidCursorError;
}

/** Where the messages below send the operator. */
const QB = '/api/quickbooks';

const needsReauth = (err: Error & { realmId?: string }) =>
  new HttpError(
    'needs_reauth',
    'QuickBooks no longer accepts this connection’s tokens; reconnect the company (GET /api/quickbooks/connect)',
    err.realmId !== undefined ? { realm_id: err.realmId } : undefined,
  );

/** QBO answered, but not with what was asked: its own outage (5xx, or nothing usable) or a fault. */
const qboAnswered = (err: QboError) => {
  const status = err.status ?? 0;
  return new HttpError(
    status >= 500 || status === 0 ? 'qbo_unavailable' : 'qbo_error',
    `QuickBooks answered with an error${err.code ? ` (code ${err.code})` : ''}`,
    qboDetails(err),
  );
};

/** How every domain error is answered. Adding a kind without an entry does not compile. */
const BY_KIND: { [K in QuickBooksErrorKind]: (err: ErrorsByKind[K]) => HttpError } = {
  oauth_grant: needsReauth,
  reauth_required: needsReauth,
  realm_not_found: (err) =>
    new HttpError(
      'realm_not_found',
      `no QuickBooks company with realmId ${err.realmId} is known to this service; GET ${QB}/status lists the connected ones`,
      { realm_id: err.realmId },
    ),
  not_connected: (err) => {
    if (err.reason === 'disconnected') {
      return new HttpError(
        'not_connected',
        `QuickBooks company ${err.realmId} was disconnected; reconnect it with GET ${QB}/connect`,
        { realm_id: err.realmId },
      );
    }
    return new HttpError(
      'not_connected',
      err.reason === 'no_tokens'
        ? `no tokens are stored for ${err.realmId}`
        : `no QuickBooks company is connected; connect one with GET ${QB}/connect`,
    );
  },
  oauth_transient: () =>
    new HttpError(
      'qbo_unavailable',
      'Intuit’s token service did not answer properly; the stored tokens were kept — try again shortly',
    ),
  oauth_client: () =>
    new HttpError(
      'intuit_client_error',
      'Intuit refused this app’s credentials; check INTUIT_CLIENT_ID / INTUIT_CLIENT_SECRET',
    ),
  qbo_throttled: (err) =>
    new HttpError(
      'qbo_throttled',
      'QuickBooks throttled this company’s requests (HTTP 429); wait a minute and retry',
      qboDetails(err),
    ),
  qbo_auth: (err) =>
    new HttpError(
      'qbo_auth_failed',
      'QuickBooks refused the access token; refresh (POST /api/quickbooks/refresh) or reconnect',
      qboDetails(err),
    ),
  // Refused, no route, unknown host: QBO cannot be reached at all, which is not slowness.
  qbo_network: (err) =>
    err.unreachable
      ? new HttpError('qbo_unavailable', 'QuickBooks could not be reached', qboDetails(err))
      : new HttpError('qbo_timeout', 'QuickBooks did not answer in time', qboDetails(err)),
  qbo_fault: qboAnswered,
  qbo_error: qboAnswered,
  lock_timeout: () =>
    new HttpError('busy', 'another operation on this company is in progress; retry shortly'),
  invalid_cursor: () =>
    new HttpError(
      'invalid_request',
      'cursor is not a next_cursor value from this endpoint; drop it to start from the newest entry',
      { issues: [{ field: 'cursor', message: 'invalid cursor' }] },
    ),
};

/** Maps an error to (status, body). Exported for tests of the mapping itself. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof QuickBooksError) {
    return (BY_KIND[err.kind] as (e: QuickBooksError) => HttpError)(err);
  }
  if (err instanceof ZodError) return invalidInput(err.issues, 'input');
  const fe = err as Partial<FastifyError>;
  if (typeof fe.statusCode === 'number' && fe.statusCode < 500 && typeof fe.code === 'string') {
    return fromFastify(fe as FastifyError);
  }
  return new HttpError('internal_error', 'an internal error occurred');
}

function fromFastify(err: FastifyError): HttpError {
  switch (err.code) {
    case 'FST_ERR_VALIDATION':
      return fromValidation(err);
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
