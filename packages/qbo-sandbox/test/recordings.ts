// Real QBO traffic and Intuit's SDK fixtures, kept in the repository at
// `fixtures/qbo-recordings/` (its README and MANIFEST.json name the source repository,
// commit and licence of every file). Tests read them only through these helpers, so
// nothing depends on a path outside the checkout.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RECORDINGS_DIR = fileURLToPath(
  new URL('../../../fixtures/qbo-recordings/', import.meta.url),
);

/** The text of a recording, by its path under fixtures/qbo-recordings. */
export function recordingText(relativePath: string): string {
  return readFileSync(path.join(RECORDINGS_DIR, relativePath), 'utf8');
}

/** A JSON recording, parsed, by its path under fixtures/qbo-recordings. */
export function recordingJson<T = any>(relativePath: string): T {
  return JSON.parse(recordingText(relativePath)) as T;
}
