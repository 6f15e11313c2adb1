// Opening a PGlite as this service uses it, shared by the PGlite thread (pglite-thread.mjs,
// plain JavaScript) and by db.ts when PGlite runs on the calling thread. Declared for
// TypeScript in pglite-open.d.mts.
// @ts-check
import { Buffer } from 'node:buffer';
import { PGlite } from '@electric-sql/pglite';

const identity = (/** @type {string} */ value) => value;

/**
 * int8 (20), date (1082) and numeric (1700) stay text, as node-postgres returns them (and
 * `date` as 'YYYY-MM-DD' rather than a local-midnight Date): src/db/schema.ts.
 */
const PGLITE_PARSERS = { 20: identity, 1082: identity, 1700: identity };

/**
 * bytea (17) parameters as hex text, natively: PGlite's own serialiser builds one string per
 * byte, which for a full sync's 1.5 MB page parameter took seconds (bench/sync.md).
 */
const PGLITE_SERIALIZERS = {
  17: (/** @type {Uint8Array} */ x) =>
    '\\x' + Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex'),
  3802: jsonbText,
};

/**
 * jsonb (3802) parameters: bytes in jsonb's binary form (a version byte 1, then the JSON text
 * in UTF-8), as node-postgres sends a Buffer, become that text; anything else as PGlite does
 * it (a string as it is, any other value as JSON with bigints as strings).
 * @param {unknown} x
 * @returns {string}
 */
function jsonbText(x) {
  if (x instanceof Uint8Array) {
    if (x[0] !== 1)
      throw new TypeError('a jsonb parameter given as bytes must start with version 1');
    return Buffer.from(x.buffer, x.byteOffset + 1, x.byteLength - 1).toString('utf8');
  }
  if (typeof x === 'string') return x;
  return JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * Opens (or creates) the cluster with the parsers and serialisers above, and sets the
 * session's search_path to `schema` (PGlite is one session, so it holds for every query).
 * @param {{ dataDir: string | null, loadDataDir: Blob | null, schema: string | null }} o
 */
export async function openPgliteSession(o) {
  const pglite = await PGlite.create({
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    ...(o.loadDataDir ? { loadDataDir: o.loadDataDir } : {}),
    parsers: PGLITE_PARSERS,
    serializers: PGLITE_SERIALIZERS,
  });
  if (o.schema) {
    await pglite.exec(
      `create schema if not exists "${o.schema}"; set search_path to "${o.schema}"`,
    );
  }
  return pglite;
}
