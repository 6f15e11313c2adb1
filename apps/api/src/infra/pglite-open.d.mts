import type { PGlite } from '@electric-sql/pglite';

export declare function openPgliteSession(o: {
  dataDir: string | null;
  loadDataDir: Blob | null;
  schema: string | null;
}): Promise<PGlite>;
