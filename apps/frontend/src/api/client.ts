// The one way the admin page talks to the API. Same origin by default (the API serves the
// page); VITE_API_BASE_URL points a page built for another host at the API (see
// docs/dashboard.md for what that needs: CORS with credentials and a same-site cookie).
// Every answer is parsed with the contract's schema: an answer of another shape becomes an
// ApiError the panels show, never a crash deep in a component.
import { ErrorResponse, type ErrorCode } from '@qbo-sync/contract';
import type { z } from 'zod';

const BASE = (import.meta.env.VITE_API_BASE_URL ?? '').replace(/\/+$/, '');

/** Codes of failures that never reached the API's error handler. */
export type ClientErrorCode = 'network_error' | 'bad_response';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status; 0 when no answer arrived. */
    readonly status: number,
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const isUnauthorized = (err: unknown): boolean =>
  err instanceof ApiError && err.status === 401;

export type Query = Record<string, string | number | undefined | null>;

export function apiUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return `${BASE}${path}${qs ? `?${qs}` : ''}`;
}

export async function request<S extends z.ZodType>(
  schema: S | null,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  opts: { query?: Query; body?: unknown; signal?: AbortSignal } = {},
): Promise<z.output<S>> {
  let res: Response;
  try {
    res = await fetch(apiUrl(path, opts.query), {
      method,
      // The HttpOnly session cookie; the page never sees or stores a token.
      credentials: BASE ? 'include' : 'same-origin',
      headers: {
        accept: 'application/json',
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network_error', 'The service could not be reached. Is it running?');
  }
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // handled below as a bad response
  }
  if (!res.ok) {
    const parsed = ErrorResponse.safeParse(json);
    if (parsed.success) {
      const e = parsed.data.error;
      throw new ApiError(res.status, e.code, e.message, e.details);
    }
    throw new ApiError(res.status, 'bad_response', `The service answered ${res.status}.`);
  }
  if (schema === null) return undefined as z.output<S>;
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ApiError(
      res.status,
      'bad_response',
      `The service answered ${method} ${path} in an unexpected shape (${first ? `${first.path.join('.') || 'body'}: ${first.message}` : 'unreadable'}).`,
    );
  }
  return parsed.data;
}
