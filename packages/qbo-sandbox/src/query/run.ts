import type { SandboxContext } from '../core/context.ts';
import type { Company } from '../core/company.ts';
import { Faults } from '../core/faults.ts';

/**
 * Runs a QBO query and returns the body `{ QueryResponse: {…} }` (without `time`).
 * Throws a QboFault (4000-series) for a bad query. Shared by /query and batch.
 */
export function runQuery(
  _ctx: SandboxContext,
  _company: Company,
  text: string,
): Record<string, unknown> {
  throw Faults.queryParserError(`not implemented: ${text}`);
}
