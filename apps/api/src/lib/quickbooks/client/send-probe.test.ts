// The send time the rate limiter anchors at must be each request's own and must precede its
// arrival: a later arrival than `sentAt + transit` would be a 429 at QBO. A local HTTP server
// in this process stamps arrivals on the same clock.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort } from '../../../../test/free-port.ts';
import { probeSend } from './send-probe.ts';

const arrivals = new Map<string, number>();
let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    arrivals.set(req.url!, performance.now());
    // Answers in a scattered order, so connections are freed and reused mid-burst.
    setTimeout(() => res.end('ok'), Math.random() * 40);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('each of many concurrent requests records its own send, after the call and before it arrived', async () => {
  const calls = await Promise.all(
    Array.from({ length: 60 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, Math.random() * 50));
      const path = `/call/${i}`;
      const calledAt = performance.now();
      const { probe, sent } = probeSend(() => fetch(base + path));
      const res = await sent;
      await res.text();
      return { path, calledAt, sentAt: probe.sentAt, endedAt: performance.now() };
    }),
  );
  for (const c of calls) {
    expect(c.sentAt).not.toBeNull();
    expect(c.sentAt!).toBeGreaterThanOrEqual(c.calledAt);
    expect(c.sentAt!).toBeLessThanOrEqual(arrivals.get(c.path)!);
  }
});

test('a request held back by a busy event loop records when it left, not when fetch was called', async () => {
  // A fresh origin: no pooled connection, so the headers can only go once the loop is free.
  const other = http.createServer((req, res) => {
    arrivals.set(`other${req.url!}`, performance.now());
    res.end('ok');
  });
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}/stalled`;
    const { probe, sent } = probeSend(() => fetch(url));
    const stallEnd = performance.now() + 100;
    while (performance.now() < stallEnd); // the stall a grant-anchored limiter was blind to
    await (await sent).text();
    expect(probe.sentAt!).toBeGreaterThanOrEqual(stallEnd);
    expect(probe.sentAt!).toBeLessThanOrEqual(arrivals.get('other/stalled')!);
  } finally {
    await new Promise<void>((resolve) => other.close(() => resolve()));
  }
});

test('a POST records its send once its body was handed to the socket, before the server read it', async () => {
  const calledAt = performance.now();
  const { probe, sent } = probeSend(() =>
    fetch(`${base}/upload`, { method: 'POST', body: 'x'.repeat(1024 * 1024) }),
  );
  await (await sent).text();
  expect(probe.sentAt!).toBeGreaterThanOrEqual(calledAt);
  expect(probe.sentAt!).toBeLessThanOrEqual(arrivals.get('/upload')!);
});

test('a request that never left (connection refused) records no send', async () => {
  const port = await freePort();
  const { probe, sent } = probeSend(() => fetch(`http://127.0.0.1:${port}/`));
  await expect(sent).rejects.toThrow();
  expect(probe.sentAt).toBeNull();
});
