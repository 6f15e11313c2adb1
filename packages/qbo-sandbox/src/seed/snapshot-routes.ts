import type { FastifyInstance } from 'fastify';
import { resolve } from 'node:path';
import type { SandboxContext } from '../core/context.ts';
import {
  SnapshotError,
  defaultSnapshotFile,
  loadSnapshot,
  saveSnapshot,
} from '../core/snapshot.ts';
import { badRequest, jsonBody, notFound, onlyKeys, optString } from '../control/validate.ts';

/**
 * `POST /_sandbox/snapshot` saves all state to a file; `POST /_sandbox/snapshot/load`
 * replaces the running state with a file's. The file defaults to `startSandbox`'s
 * `snapshotFile` (CLI `--snapshot`). Paths are on the sandbox's machine: the control API
 * is for local development, guard it with `controlToken` when the sandbox is shared.
 */
export function registerSnapshotRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  const { state } = ctx;
  const fileOf = (body: Record<string, unknown>): string => {
    onlyKeys(body, ['file']);
    const file = optString(body, 'file', { maxLength: 4096 }) ?? defaultSnapshotFile(state);
    if (!file)
      throw badRequest('file is required (the sandbox was started without a snapshot file)');
    return resolve(file);
  };

  app.post('/_sandbox/snapshot', async (req) => {
    const file = fileOf(jsonBody(req));
    return saveSnapshot(state, file);
  });

  app.post('/_sandbox/snapshot/load', async (req) => {
    const file = fileOf(jsonBody(req));
    try {
      return await loadSnapshot(state, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw notFound(`no snapshot at ${file}`);
      if (err instanceof SnapshotError) throw badRequest(err.message);
      throw err;
    }
  });
}
