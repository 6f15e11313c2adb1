// Closing a sandbox ends the requests it is still delaying: a test suite (or `npm start`
// stopping) must not wait out a 10-minute latency rule or a client that keeps its socket.
import { expect, it } from 'vitest';
import { startSandbox } from '../src/index.ts';
import { connect } from './sandbox-clients.ts';

it('close() ends a request a latency rule is still delaying, and the client sees it end', async () => {
  const sandbox = await startSandbox({ port: 0 });
  const c = await connect(sandbox.url);
  const rule = await fetch(`${sandbox.url}/_sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'latency', latencyMs: 600_000, realmId: c.realmId, count: 1 }),
  });
  expect(rule.status).toBe(201);
  const slow = c.api(`/companyinfo/${c.realmId}`).then(
    () => 'answered',
    () => 'connection closed',
  );
  // The request is inside the sandbox (its journal has it) before close is called.
  for (let i = 0; i < 100; i++) {
    const journal = await fetch(`${sandbox.url}/_sandbox/stats?realmId=${c.realmId}`);
    const stats = (await journal.json()) as { inFlight?: number };
    if ((stats.inFlight ?? 0) > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await sandbox.close();
  expect(await slow).toBe('connection closed');
}, 30_000);
