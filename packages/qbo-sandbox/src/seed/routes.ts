import type { SandboxModule } from '../core/context.ts';

export const seedModule: SandboxModule = () => {};
