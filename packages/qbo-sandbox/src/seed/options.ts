import { FIXED_ENTITY_COUNT } from './chart.ts';

export interface SeedCounts {
  customers: number;
  vendors: number;
  items: number;
  invoices: number;
  payments: number;
  bills: number;
}

export const SEED_PRESETS = { small: 500, medium: 10_000, large: 100_000 } as const;
export type SeedPreset = keyof typeof SEED_PRESETS;

export interface SeedOptions extends Partial<SeedCounts> {
  /** Any integer or string; the same seed and options give byte-identical data. */
  seed: number | string;
  /** A total size (all entities, including accounts, terms and CompanyInfo). */
  preset?: SeedPreset;
  /** A total entity count; wins over `preset`. Explicit counts override either. */
  entities?: number;
  /** First day of the company's history (`YYYY-MM-DD`, company-local); default 2025-01-01. */
  startDate?: string;
  /** Days of history the transactions spread over (default 365). */
  days?: number;
  /** Seed a company that already has data, dropping it first. */
  replace?: boolean;
}

export interface ResolvedSeedOptions extends SeedCounts {
  seed: number | string;
  startDate: string;
  days: number;
}

/** Bad seed options; the HTTP layer answers 400 with the message. */
export class SeedOptionsError extends Error {}

export const MAX_SEED_ENTITIES = 2_000_000;
const COUNT_KEYS = ['customers', 'vendors', 'items', 'invoices', 'payments', 'bills'] as const;

/**
 * Splits a total into a plausible small-business mix: half the entities are invoices, a
 * quarter payments (so about half the invoices are paid, some partly), an eighth bills,
 * then customers, vendors and a short item list.
 */
export function countsForTotal(total: number): SeedCounts {
  const rest = total - FIXED_ENTITY_COUNT;
  if (!Number.isInteger(total) || rest < 10) {
    throw new SeedOptionsError(
      `entities must be an integer of at least ${FIXED_ENTITY_COUNT + 10} (a seeded company always has ${FIXED_ENTITY_COUNT} accounts, terms, payment methods and CompanyInfo)`,
    );
  }
  const items = Math.max(2, Math.min(200, Math.floor(rest * 0.01)));
  const customers = Math.max(1, Math.floor(rest * 0.1));
  const vendors = Math.max(1, Math.floor(rest * 0.02));
  const payments = Math.floor(rest * 0.25);
  const bills = Math.floor(rest * 0.12);
  const invoices = rest - items - customers - vendors - payments - bills;
  return { customers, vendors, items, invoices, payments, bills };
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Validates options from any source (HTTP body, CLI, code) and fills the defaults. */
export function resolveSeedOptions(raw: unknown): ResolvedSeedOptions {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SeedOptionsError('seed options must be a JSON object');
  }
  const o = raw as Record<string, unknown>;
  const seed = o.seed;
  if (
    !(typeof seed === 'number' && Number.isSafeInteger(seed)) &&
    !(typeof seed === 'string' && seed.length > 0 && seed.length <= 200)
  ) {
    throw new SeedOptionsError('seed is required: an integer or a non-empty string');
  }
  let base: SeedCounts;
  if (o.entities !== undefined) {
    if (typeof o.entities !== 'number' || o.entities > MAX_SEED_ENTITIES) {
      throw new SeedOptionsError(`entities must be a number up to ${MAX_SEED_ENTITIES}`);
    }
    base = countsForTotal(o.entities);
  } else if (o.preset !== undefined) {
    if (typeof o.preset !== 'string' || !Object.hasOwn(SEED_PRESETS, o.preset)) {
      throw new SeedOptionsError(`preset must be one of ${Object.keys(SEED_PRESETS).join(', ')}`);
    }
    base = countsForTotal(SEED_PRESETS[o.preset as SeedPreset]);
  } else {
    base = countsForTotal(SEED_PRESETS.small);
  }
  const counts = { ...base };
  for (const k of COUNT_KEYS) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_SEED_ENTITIES) {
      throw new SeedOptionsError(`${k} must be an integer from 0 to ${MAX_SEED_ENTITIES}`);
    }
    counts[k] = v;
  }
  const sum = COUNT_KEYS.reduce((s, k) => s + counts[k], 0);
  if (sum > MAX_SEED_ENTITIES) throw new SeedOptionsError(`at most ${MAX_SEED_ENTITIES} entities`);
  if (counts.invoices > 0 && (counts.customers === 0 || counts.items === 0)) {
    throw new SeedOptionsError('invoices need at least one customer and one item');
  }
  if (counts.bills > 0 && counts.vendors === 0) {
    throw new SeedOptionsError('bills need at least one vendor');
  }
  // Every payment is linked to an invoice it pays (fully or in part).
  if (counts.payments > counts.invoices) {
    throw new SeedOptionsError('payments cannot outnumber invoices: each payment pays an invoice');
  }
  const startDate = o.startDate ?? '2025-01-01';
  const m = typeof startDate === 'string' ? DATE.exec(startDate) : null;
  if (!m || Number.isNaN(Date.parse(`${startDate as string}T00:00:00Z`))) {
    throw new SeedOptionsError('startDate must be a date YYYY-MM-DD');
  }
  const days = o.days ?? 365;
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 3650) {
    throw new SeedOptionsError('days must be an integer from 1 to 3650');
  }
  if (o.replace !== undefined && typeof o.replace !== 'boolean') {
    throw new SeedOptionsError('replace must be a boolean');
  }
  return { seed, ...counts, startDate: startDate as string, days };
}
