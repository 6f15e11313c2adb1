import type { TestSandbox } from './helpers.ts';
import { recordingJson } from './recordings.ts';

export interface Recording {
  request: { method: string; path_and_query: string; body: any };
  response: { status: number; body: any };
}

export function recording(name: string): Recording {
  return recordingJson<Recording>(`qbo_api/${name}.json`);
}

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/**
 * Differences in shape between a recorded body and the sandbox's: the same keys with the
 * same value types, recursively (values such as Ids and times are not compared).
 */
export function shapeDiff(
  recorded: unknown,
  actual: unknown,
  ignore: readonly string[] = [],
  path = '$',
): string[] {
  const out: string[] = [];
  if (kind(recorded) !== kind(actual)) return [`${path}: ${kind(recorded)} vs ${kind(actual)}`];
  if (Array.isArray(recorded) && Array.isArray(actual)) {
    if (recorded.length !== actual.length)
      out.push(`${path}: ${recorded.length} items vs ${actual.length}`);
    recorded.forEach((r, i) => {
      if (i < actual.length) out.push(...shapeDiff(r, actual[i], ignore, `${path}[${i}]`));
    });
    return out;
  }
  if (kind(recorded) === 'object') {
    const r = recorded as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    for (const k of new Set([...Object.keys(r), ...Object.keys(a)])) {
      if (ignore.includes(k)) continue;
      if (!(k in r)) out.push(`${path}.${k}: not in the recording`);
      else if (!(k in a)) out.push(`${path}.${k}: missing`);
      else out.push(...shapeDiff(r[k], a[k], ignore, `${path}.${k}`));
    }
  }
  return out;
}

/** Runs a write through the control API ("someone did it in QuickBooks"). */
export async function control(
  t: TestSandbox,
  entity: string,
  body: unknown,
  operation = 'create',
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.sandbox.url}/_sandbox/companies/${t.realmId}/entities/${entity}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ operation, body }),
  });
  return { status: res.status, body: await res.json() };
}

/** Creates through the control API and returns the object, failing loudly on a fault. */
export async function seed(t: TestSandbox, entity: string, body: unknown): Promise<any> {
  const r = await control(t, entity, body);
  if (r.status !== 200) throw new Error(`seed ${entity}: ${JSON.stringify(r.body)}`);
  return r.body[entity];
}

/** An income account and a "Services" service item, as a fresh QBO sandbox has. */
export async function seedServicesItem(t: TestSandbox): Promise<{ account: any; item: any }> {
  const account = await seed(t, 'Account', { Name: 'Services', AccountType: 'Income' });
  const item = await seed(t, 'Item', {
    Name: 'Services',
    Type: 'Service',
    IncomeAccountRef: { value: account.Id },
  });
  return { account, item };
}

/** The writable fields of a recorded object, to recreate it in the sandbox. */
export function writable(obj: Record<string, any>, keys: readonly string[]): Record<string, any> {
  const out: Record<string, any> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

export const fault = (
  body: any,
): { code: string; Message: string; Detail: string; element?: string } => body?.Fault?.Error?.[0];
