import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * A control-API error, answered as `{"error": code, "error_description": message}` (the
 * same shape as the sandbox's 404 for unknown paths), never as a QBO fault: the control
 * API is the sandbox's own, not Intuit's.
 */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string): ControlError =>
  new ControlError(400, 'invalid_request', message);
export const notFound = (message: string): ControlError =>
  new ControlError(404, 'not_found', message);
export const conflict = (message: string): ControlError =>
  new ControlError(409, 'conflict', message);

export function sendControlError(reply: FastifyReply, err: ControlError): FastifyReply {
  return reply
    .status(err.status)
    .type('application/json')
    .send(JSON.stringify({ error: err.code, error_description: err.message }));
}

export type Json = Record<string, unknown>;

/** The JSON object sent as the body; an empty body is `{}`. */
export function jsonBody(req: FastifyRequest): Json {
  const raw = typeof req.body === 'string' ? req.body : (req.rawBody ?? '');
  if (raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw badRequest(`body is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw badRequest('body must be a JSON object');
  return parsed as Json;
}

/** Rejects unknown fields, so a typo ("advanceSecond") fails loudly instead of doing nothing. */
export function onlyKeys(body: Json, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0)
    throw badRequest(`unknown field(s): ${unknown.join(', ')}; allowed: ${allowed.join(', ')}`);
}

export function optString(
  body: Json,
  key: string,
  opts: { maxLength?: number; pattern?: RegExp; patternHint?: string } = {},
): string | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '')
    throw badRequest(`${key} must be a non-empty string`);
  if (opts.maxLength !== undefined && v.length > opts.maxLength)
    throw badRequest(`${key} must be at most ${opts.maxLength} characters`);
  if (opts.pattern && !opts.pattern.test(v))
    throw badRequest(`${key} ${opts.patternHint ?? `must match ${String(opts.pattern)}`}`);
  return v;
}

export function optNumber(
  body: Json,
  key: string,
  opts: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {},
): number | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  const kind = opts.integer ? 'an integer' : 'a number';
  if (typeof v !== 'number' || !Number.isFinite(v) || (opts.integer && !Number.isInteger(v)))
    throw badRequest(`${key} must be ${kind}`);
  if (opts.min !== undefined && (opts.exclusiveMin ? v <= opts.min : v < opts.min))
    throw badRequest(
      `${key} must be ${opts.exclusiveMin ? 'greater than' : 'at least'} ${opts.min}`,
    );
  if (opts.max !== undefined && v > opts.max)
    throw badRequest(`${key} must be at most ${opts.max}`);
  return v;
}

export function optBoolean(body: Json, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw badRequest(`${key} must be true or false`);
  return v;
}

export function optEnum<T extends string>(
  body: Json,
  key: string,
  values: readonly T[],
): T | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
    throw badRequest(`${key} must be one of: ${values.join(', ')}`);
  return v as T;
}

export function optStringArray(
  body: Json,
  key: string,
  opts: { nonEmpty?: boolean; each?: (s: string) => string | undefined } = {},
): string[] | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === ''))
    throw badRequest(`${key} must be an array of non-empty strings`);
  if (opts.nonEmpty && v.length === 0) throw badRequest(`${key} must not be empty`);
  for (const s of v as string[]) {
    const problem = opts.each?.(s);
    if (problem) throw badRequest(`${key}: ${problem}`);
  }
  return v as string[];
}

/** An absolute http(s) URL, or a message saying why not. */
export function urlProblem(s: string): string | undefined {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:'
      ? undefined
      : `"${s}" must be an http or https URL`;
  } catch {
    return `"${s}" is not an absolute URL`;
  }
}

/** A query-string parameter as a single string (the last one when repeated). */
export function queryParam(req: FastifyRequest, key: string): string | undefined {
  const v = (req.query as Record<string, unknown> | undefined)?.[key];
  const s: unknown = Array.isArray(v) ? (v as unknown[])[v.length - 1] : v;
  return typeof s === 'string' && s !== '' ? s : undefined;
}
