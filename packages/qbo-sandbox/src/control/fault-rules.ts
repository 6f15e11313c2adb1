import { badRequest, type Json, onlyKeys, optEnum, optNumber, optString } from './validate.ts';

export const FAULT_KINDS = [
  'latency',
  'error',
  'outage',
  'throttle',
  'drop-response',
  'timeout',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const FAULT_SURFACES = ['accounting', 'token', 'revoke', 'userinfo'] as const;
export type FaultSurface = (typeof FAULT_SURFACES)[number];

/** A fault rule as the control API shows it. */
export interface FaultRule {
  id: string;
  kind: FaultKind;
  /** Absent: every surface. */
  surface?: FaultSurface;
  realmId?: string;
  clientId?: string;
  method?: string;
  /** Case-insensitive substring of the request's path and query. */
  path?: string;
  /** Regular expression (case-insensitive) tested against the path and query. */
  pathRegex?: string;
  /** Fire for the next N matching requests only. */
  count?: number;
  /** Active for this long after creation (sandbox clock). */
  durationMs?: number;
  /** Chance (0 < p ≤ 1) that a matching request is hit; default 1. */
  probability?: number;
  status?: number;
  latencyMs?: number;
  format?: 'json' | 'xml';
  createdAt: string;
  expiresAt?: string;
  /** Hits left when `count` was given. */
  remaining?: number;
  hits: number;
  active: boolean;
}

const FIELDS = [
  'kind',
  'surface',
  'realmId',
  'clientId',
  'method',
  'path',
  'pathRegex',
  'count',
  'durationMs',
  'probability',
  'status',
  'latencyMs',
  'format',
] as const;

export type FaultRuleInput = Omit<
  FaultRule,
  'id' | 'createdAt' | 'expiresAt' | 'remaining' | 'hits' | 'active'
>;

/** Validates `POST /_sandbox/faults`; every problem is a 400 naming the field. */
export function parseFaultRule(body: Json): FaultRuleInput {
  onlyKeys(body, FIELDS);
  const kind = optEnum(body, 'kind', FAULT_KINDS);
  if (!kind) throw badRequest(`kind is required: one of ${FAULT_KINDS.join(', ')}`);
  const rule: FaultRuleInput = { kind };
  const surface = optEnum(body, 'surface', FAULT_SURFACES);
  if (surface) rule.surface = surface;
  const realmId = optString(body, 'realmId');
  if (realmId) rule.realmId = realmId;
  const clientId = optString(body, 'clientId');
  if (clientId) rule.clientId = clientId;
  const method = optString(body, 'method', {
    pattern: /^[A-Za-z]+$/,
    patternHint: 'must be an HTTP method such as GET or POST',
  });
  if (method) rule.method = method.toUpperCase();
  const path = optString(body, 'path');
  if (path) rule.path = path;
  const pathRegex = optString(body, 'pathRegex');
  if (pathRegex) {
    try {
      new RegExp(pathRegex, 'i');
    } catch (err) {
      throw badRequest(`pathRegex is not a valid regular expression: ${(err as Error).message}`);
    }
    rule.pathRegex = pathRegex;
  }
  const count = optNumber(body, 'count', { integer: true, min: 1 });
  if (count !== undefined) rule.count = count;
  const durationMs = optNumber(body, 'durationMs', { min: 0, exclusiveMin: true });
  if (durationMs !== undefined) rule.durationMs = durationMs;
  const probability = optNumber(body, 'probability', { min: 0, max: 1, exclusiveMin: true });
  if (probability !== undefined) rule.probability = probability;
  const status = optNumber(body, 'status', { integer: true, min: 400, max: 599 });
  if (status !== undefined) {
    if (kind !== 'error' && kind !== 'outage')
      throw badRequest('status applies only to kind "error" or "outage"');
    rule.status = status;
  }
  const latencyMs = optNumber(body, 'latencyMs', { min: 0, max: 600_000 });
  if (latencyMs !== undefined) {
    if (kind !== 'latency' && kind !== 'timeout')
      throw badRequest('latencyMs applies only to kind "latency" or "timeout"');
    rule.latencyMs = latencyMs;
  }
  if (kind === 'latency' && latencyMs === undefined)
    throw badRequest('latencyMs is required for kind "latency"');
  const format = optEnum(body, 'format', ['json', 'xml'] as const);
  if (format) {
    if (kind !== 'error' && kind !== 'outage' && kind !== 'throttle')
      throw badRequest('format applies only to kind "error", "outage" or "throttle"');
    if (surface && surface !== 'accounting')
      throw badRequest('format applies only to the accounting surface');
    rule.format = format;
  }
  return rule;
}
