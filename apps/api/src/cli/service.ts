// The CLI's way into a running service: its HTTP API with the admin token. The embedded
// default's database (PGlite) can be opened by one process only, so commands that need the
// service's data ask the service; in scaled mode any API process answers.
import type { AppConfig } from '../config.ts';

export class ServiceUnreachableError extends Error {
  override readonly name = 'ServiceUnreachableError';
}

/** Non-2xx answer from the service, with its error code and message when it sent them. */
export class ServiceAnswerError extends Error {
  override readonly name = 'ServiceAnswerError';
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
  ) {
    super(message);
  }
}

export interface ServiceClient {
  readonly baseUrl: string;
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
}

/** QBO_SYNC_URL, else the local service on PORT. */
export function serviceBaseUrl(config: Pick<AppConfig, 'port'>, env = process.env): string {
  const given = env.QBO_SYNC_URL?.trim();
  return (given ? given : `http://127.0.0.1:${config.port}`).replace(/\/+$/, '');
}

export function serviceClient(baseUrl: string, adminToken: string): ServiceClient {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const why =
        err instanceof Error
          ? err.cause instanceof Error
            ? err.cause.message
            : err.message
          : String(err);
      throw new ServiceUnreachableError(
        `qbo-sync does not answer at ${baseUrl} (${why}); start it (npm start) or set QBO_SYNC_URL`,
      );
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: reported below with the status
    }
    if (!res.ok) {
      const e = (json ?? {}) as { error?: { code?: string; message?: string }; message?: string };
      const code = e.error?.code ?? null;
      const message = e.error?.message ?? e.message ?? text.slice(0, 200);
      throw new ServiceAnswerError(
        res.status,
        code,
        `${method} ${path}: ${res.status} ${code ?? ''} ${message}`.replace(/\s+/g, ' '),
      );
    }
    return json as T;
  };
  return {
    baseUrl,
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body ?? {}),
  };
}
