// The PGlite thread: one PGlite instance, answering the requests of `pglite-remote.ts` over
// the worker's message port, one at a time in the order they came.
//
// Plain JavaScript on purpose: a worker thread does not inherit the TypeScript loader in
// every runner (vitest's workers do not), and this file only moves messages.
// @ts-check
import { parentPort, workerData } from 'node:worker_threads';
import { Blob, Buffer } from 'node:buffer';
import { PGlite } from '@electric-sql/pglite';

// The type OIDs whose default parsing differs between PGlite and node-postgres (db.ts):
// int8 (20), date (1082) and numeric (1700) stay text.
const identity = (/** @type {string} */ value) => value;
const parsers = { 20: identity, 1082: identity, 1700: identity };
// bytea (17) parameters as hex text, natively: PGlite's own serialiser builds one string per
// byte, which for a full sync's 1.5 MB page parameter was most of this thread's time.
const serializers = {
  17: (/** @type {Uint8Array} */ x) =>
    '\\x' + Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex'),
};

/**
 * @typedef {{ dataDir: string | null, loadDataDir: ArrayBuffer | null, schema: string | null }} ThreadOptions
 */

/** @param {ThreadOptions} o */
async function open(o) {
  // (A cluster initdb has just written is reopened on a new thread: pglite-remote.ts.)
  const pglite = await PGlite.create({
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    ...(o.loadDataDir ? { loadDataDir: new Blob([o.loadDataDir]) } : {}),
    parsers,
    serializers,
  });
  // PGlite is one session, so a session-level search_path holds for every query.
  if (o.schema) {
    await pglite.exec(
      `create schema if not exists "${o.schema}"; set search_path to "${o.schema}"`,
    );
  }
  return pglite;
}

/** An error as plain data: the message, and the fields Postgres gave (code, detail…). */
function plainError(/** @type {unknown} */ err) {
  if (!(err instanceof Error)) return { message: String(err) };
  /** @type {Record<string, unknown>} */
  const out = { name: err.name, message: err.message, stack: err.stack };
  for (const [k, v] of Object.entries(err)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v;
  }
  return out;
}

/** @param {import('@electric-sql/pglite').PGlite} pglite @param {any} req */
async function handle(pglite, req) {
  switch (req.op) {
    case 'query': {
      const r = await pglite.query(req.sql, req.params);
      return { rows: r.rows, affectedRows: r.affectedRows, fields: r.fields };
    }
    case 'exec': {
      const results = await pglite.exec(req.sql);
      return results.map((r) => ({ rows: r.rows, affectedRows: r.affectedRows, fields: r.fields }));
    }
    case 'dump': {
      const file = await pglite.dumpDataDir(req.compression);
      return await file.arrayBuffer();
    }
    case 'close':
      await pglite.close();
      return null;
    default:
      throw new Error(`unknown PGlite thread request ${String(req.op)}`);
  }
}

const port = parentPort;
if (!port) throw new Error('pglite-thread.mjs runs as a worker thread');

/** @type {import('@electric-sql/pglite').PGlite} */
let pglite;
try {
  pglite = await open(/** @type {ThreadOptions} */ (workerData));
  port.postMessage({ id: 0, ok: true, result: null });
} catch (err) {
  port.postMessage({ id: 0, ok: false, error: plainError(err) });
}

// One request at a time: PGlite is one session, and a transaction's statements must not
// interleave with another caller's (the caller side holds the order).
let chain = Promise.resolve();
port.on('message', (/** @type {any} */ req) => {
  chain = chain.then(async () => {
    try {
      const result = await handle(pglite, req);
      const transfer = result instanceof ArrayBuffer ? [result] : [];
      port.postMessage({ id: req.id, ok: true, result }, transfer);
    } catch (err) {
      port.postMessage({ id: req.id, ok: false, error: plainError(err) });
    }
    if (req.op === 'close') port.close();
  });
});
