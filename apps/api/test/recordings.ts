// Real QBO payloads kept in the repository (fixtures/qbo-recordings: README and MANIFEST.json
// name each file's source). Tests of the product read them only through these helpers.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIR = new URL('../../../fixtures/qbo-recordings/', import.meta.url);

/** A JSON recording, parsed, by its path under fixtures/qbo-recordings. */
export function recordingJson<T = any>(relativePath: string): T {
  return JSON.parse(readFileSync(fileURLToPath(new URL(relativePath, DIR)), 'utf8')) as T;
}

/** The response body of a qbo_api interaction (`{request, response:{body}}`). */
export function recordedBody<T = any>(relativePath: string): T {
  return recordingJson<{ response: { body: T } }>(`qbo_api/${relativePath}`).response.body;
}
