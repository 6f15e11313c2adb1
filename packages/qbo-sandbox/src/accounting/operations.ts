import type { SandboxContext } from '../core/context.ts';
import type { Company } from '../core/company.ts';
import { Faults } from '../core/faults.ts';

export type WriteOperation = 'create' | 'update' | 'delete' | 'void';

export interface OperationInput {
  /** Entity name as sent (case-insensitive), e.g. "Invoice". */
  entity: string;
  operation: WriteOperation;
  /** The parsed JSON body of the entity (for batch: the item's entity object). */
  body: unknown;
  /** Extra query parameters, e.g. { include: 'void' } for node-quickbooks' payment void. */
  query?: Record<string, string>;
}

/**
 * Performs one write as QBO would and returns the response body, e.g. `{ Invoice: {…} }`
 * (without `time`). Throws a QboFault on any validation error. Shared by the REST routes,
 * batch and the control API.
 */
export function executeOperation(
  _ctx: SandboxContext,
  _company: Company,
  input: OperationInput,
): Record<string, unknown> {
  throw Faults.unsupportedOperation(`/${input.entity.toLowerCase()}`);
}
