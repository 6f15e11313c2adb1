import type { FastifyRequest } from 'fastify';
import { OAuthErrors } from './errors.ts';

/**
 * Parses an `application/x-www-form-urlencoded` body. RFC 6749 §3.2: "Request and response
 * parameters MUST NOT be included more than once", so a repeated one is an invalid_request.
 */
export function parseForm(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(raw ?? '')) {
    if (Object.hasOwn(out, k)) throw OAuthErrors.invalidRequest(`parameter ${k} is repeated`);
    out[k] = v;
  }
  return out;
}

/**
 * The revoke endpoint's body: intuit-oauth and the .NET SDK send JSON `{"token":…}`,
 * node-quickbooks sends `token=…` form-encoded. Either is accepted.
 */
export function parseJsonOrForm(req: FastifyRequest): Record<string, string> {
  const raw = req.rawBody ?? (typeof req.body === 'string' ? req.body : '');
  const type = String(req.headers['content-type'] ?? '');
  if (/json/i.test(type) || (!type && raw.trimStart().startsWith('{'))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw OAuthErrors.invalidRequest('The request body is not valid JSON');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      throw OAuthErrors.invalidRequest('The request body must be a JSON object');
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
    return out;
  }
  return parseForm(raw);
}

/** The raw text of a form body, whatever Fastify stored it as. */
export const rawText = (req: FastifyRequest): string =>
  req.rawBody ?? (typeof req.body === 'string' ? req.body : '');
