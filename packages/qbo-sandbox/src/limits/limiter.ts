import type { SandboxContext } from '../core/context.ts';

export interface SlotRequest {
  realmId: string;
  clientId: string;
  kind: 'api' | 'batch';
}

/** Takes a slot under QBO's per realm+app limits or throws the 429 fault. Returns the release. */
export function acquireSlot(_ctx: SandboxContext, _req: SlotRequest): () => void {
  return () => {};
}
