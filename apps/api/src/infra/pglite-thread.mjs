// The PGlite thread: one PGlite instance, answering the requests of `pglite-remote.ts` over
// the worker's message port, one at a time in the order they came.
//
// Plain JavaScript on purpose: a worker thread does not inherit the TypeScript loader in
// every runner (vitest's workers do not), and this file only moves messages.
// @ts-check
import { parentPort, workerData } from 'node:worker_threads';
import { Blob } from 'node:buffer';
import { openPgliteSession } from './pglite-open.mjs';

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
  // (A cluster initdb has just written is reopened on a new thread: pglite-remote.ts.)
  const o = workerData;
  pglite = await openPgliteSession({
    ...o,
    loadDataDir: o.loadDataDir ? new Blob([o.loadDataDir]) : null,
  });
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
