import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHit {
  body: string;
  headers: http.IncomingHttpHeaders;
  /** performance.now() when the request arrived. */
  at: number;
}

/**
 * A webhook endpoint on a free port that records raw bodies and headers. `respond` picks
 * the status (and an optional delay) for the n-th request (1-based).
 */
export async function startReceiver(
  respond: (n: number, hit: ReceivedHit) => number | { status: number; delayMs: number } = () =>
    200,
) {
  const hits: ReceivedHit[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit = {
        body: Buffer.concat(chunks).toString('utf8'),
        headers: req.headers,
        at: performance.now(),
      };
      hits.push(hit);
      const r = respond(hits.length, hit);
      const { status, delayMs } = typeof r === 'number' ? { status: r, delayMs: 0 } : r;
      const send = () => {
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
      };
      if (delayMs) setTimeout(send, delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    hits,
    /** Resolves once at least `n` requests arrived (fails after `timeoutMs`). */
    async waitFor(n: number, timeoutMs = 5000): Promise<ReceivedHit[]> {
      const until = performance.now() + timeoutMs;
      while (hits.length < n) {
        if (performance.now() > until)
          throw new Error(`receiver got ${hits.length} of ${n} expected requests`);
        await new Promise((r) => setTimeout(r, 5));
      }
      return hits;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
