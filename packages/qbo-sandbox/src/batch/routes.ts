import type { SandboxModule } from '../core/context.ts';

export const batchModule: SandboxModule = () => {};
