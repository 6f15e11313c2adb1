import type { FastifyInstance } from 'fastify';
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { SandboxContext } from '../core/context.ts';
import { snapshotWriterOf } from '../core/autosave.ts';
import {
  SnapshotError,
  loadSnapshot,
  saveSnapshot,
  snapshotLocations,
  type SnapshotLocations,
} from '../core/snapshot.ts';
import { badRequest, jsonBody, notFound, onlyKeys, optString } from '../control/validate.ts';

/**
 * `POST /_sandbox/snapshot` saves all state to a file; `POST /_sandbox/snapshot/load`
 * replaces the running state with a file's. The file defaults to `startSandbox`'s
 * `snapshotFile` (CLI `--snapshot`); another file must be inside `snapshotDir`
 * (`--snapshot-dir`), so the control API can never write or read anywhere else on the
 * sandbox's machine.
 */
export function registerSnapshotRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  const { state } = ctx;
  const fileOf = (body: Record<string, unknown>): string => {
    onlyKeys(body, ['file']);
    const requested = optString(body, 'file', { maxLength: 4096 });
    return allowedSnapshotFile(requested, snapshotLocations(state));
  };

  app.post('/_sandbox/snapshot', async (req) => {
    const file = fileOf(jsonBody(req));
    // The sandbox's own file goes through its writer, so the two never race.
    const writer = snapshotWriterOf(state);
    return writer && writer.file === file ? writer.save() : saveSnapshot(state, file);
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

/**
 * The absolute file a request may use: the configured snapshot file, or a file inside the
 * snapshot directory — relative names resolve against it; `..`, other absolute paths and
 * symbolic links leading out of it are refused (400).
 */
export function allowedSnapshotFile(
  requested: string | undefined,
  { file, dir }: SnapshotLocations,
): string {
  const configured = file === undefined ? undefined : resolve(file);
  if (requested === undefined || (configured !== undefined && resolve(requested) === configured)) {
    if (configured) return configured;
    throw badRequest(
      dir
        ? 'file is required (the sandbox was started without a snapshot file)'
        : 'file is required, and the sandbox was started without a snapshot file or directory (--snapshot, --snapshot-dir)',
    );
  }
  if (!dir) {
    throw badRequest(
      configured
        ? `file may only be the sandbox's snapshot file ${configured}; start it with a snapshot directory (--snapshot-dir) to use other files`
        : 'the sandbox was started without a snapshot directory (--snapshot-dir), so it writes and reads no files',
    );
  }
  const root = resolve(dir);
  const target = resolve(root, requested);
  const outside = `file must be inside the snapshot directory ${root}`;
  if (!isInside(root, target)) throw badRequest(`${outside}; got ${requested}`);
  if (!isInside(realpathSync(root), realTarget(target)))
    throw badRequest(`${outside}; ${requested} leads out of it through a symbolic link`);
  return target;
}

/** Strictly below `root` (the directory itself is not a file). */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** Where `path` really is: symbolic links resolved as far as the path exists. */
function realTarget(path: string): string {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(existing), ...rest);
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return path;
      rest.unshift(relative(parent, existing));
      existing = parent;
    }
  }
}
