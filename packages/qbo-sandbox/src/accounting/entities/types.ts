import type { SandboxContext } from '../../core/context.ts';
import type { Company, EntityName, QboObject } from '../../core/company.ts';
import type { Fields } from '../validate.ts';

/** What an entity's builder needs to know about the write in progress. */
export interface OpContext {
  ctx: SandboxContext;
  company: Company;
  now: number;
  /** The company-local date of `now` (QBO's default TxnDate). */
  today: string;
  query: Record<string, string>;
}

export interface BuildInput {
  op: OpContext;
  /** Request fields without system fields; for a sparse update already merged. */
  fields: Fields;
  /** The stored object, on update. */
  existing?: QboObject;
}

export interface EntitySpec {
  entity: EntityName;
  kind: 'name' | 'txn' | 'singleton';
  /** TaxCode cannot be created through the Accounting API (only the control API). */
  publicCreate: boolean;
  voidable: boolean;
  /** Validates and returns the entity's fields (everything but Id/SyncToken/MetaData/…). */
  build(input: BuildInput): Fields;
  /** The fields after a void (Invoice, Payment). */
  voided?(existing: QboObject, op: OpContext): Fields;
}
