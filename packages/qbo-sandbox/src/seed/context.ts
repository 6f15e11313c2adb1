import { formatQboDate } from '../core/clock.ts';
import type { Company, EntityName, QboObject } from '../core/company.ts';
import type { Random } from './random.ts';

export const USD = { value: 'USD', name: 'United States Dollar' } as const;
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** Integer cents to a JSON number: cents/100 prints as the exact decimal (123.45). */
export const money = (cents: number): number => cents / 100;

export interface SeedRow {
  entity: EntityName;
  data: QboObject;
  createdAt: number;
  updatedAt: number;
}

/**
 * What the generator steps share: the PRNG, the company's clock zone, and the rows built
 * so far. Rows are stored only at the end, once balances and LastUpdatedTime are final.
 */
export class SeedContext {
  readonly rows: SeedRow[] = [];
  private nextAddressId = 1;

  constructor(
    readonly company: Company,
    readonly rng: Random,
    /** Company-local midnight of the start date, as epoch ms. */
    readonly base: number,
  ) {}

  addressId(): string {
    return String(this.nextAddressId++);
  }

  time(ms: number): string {
    return this.company.formatTime(ms);
  }

  date(ms: number): string {
    return formatQboDate(ms, this.company.offsetMinutes);
  }

  /** The common head every QBO object carries, in the recordings' key order. */
  head(
    id: string,
    createdAt: number,
  ): Pick<QboObject, 'domain' | 'sparse' | 'Id' | 'SyncToken' | 'MetaData'> {
    const t = this.time(createdAt);
    return {
      domain: 'QBO',
      sparse: false,
      Id: id,
      SyncToken: '0',
      MetaData: { CreateTime: t, LastUpdatedTime: t },
    };
  }

  add(entity: EntityName, data: QboObject, createdAt: number): SeedRow {
    const row = { entity, data, createdAt, updatedAt: createdAt };
    this.rows.push(row);
    return row;
  }

  /** Records a later change (a balance moved by a transaction) without a new SyncToken. */
  touch(row: SeedRow, at: number): void {
    if (at > row.updatedAt) row.updatedAt = at;
  }

  /** Writes the final LastUpdatedTime of every row; called once before storing. */
  finishTimes(): void {
    for (const row of this.rows) {
      if (row.updatedAt !== row.createdAt)
        row.data.MetaData.LastUpdatedTime = this.time(row.updatedAt);
    }
  }
}

/** `YYYY-MM-DD` plus whole days, on the calendar (no zone involved). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY).toISOString().slice(0, 10);
}
