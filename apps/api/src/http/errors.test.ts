// How failures reach the caller: the QBO client's network failures, classified from what
// really happened on a socket, and mapped by the one error table.
import net from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../infra/rate-limit.ts';
import { QboApiClient } from '../lib/quickbooks/client/api-client.ts';
import { QboNetworkError } from '../lib/quickbooks/client/errors.ts';
import { systemClock, type RequestLogRecord } from '../lib/quickbooks/ports.ts';
import { freePort } from '../../test/free-port.ts';
import { toHttpError } from './errors.ts';

/** A client with one attempt per call, whose request log is kept in memory. */
function clientAt(baseUrl: string, timeoutMs = 60_000) {
  const logged: RequestLogRecord[] = [];
  const client = new QboApiClient({
    requestLog: { write: async (r) => void logged.push(r) },
    tokens: { getAccessToken: async () => 'access-token', invalidateAccessToken: async () => {} },
    limiter: new MemoryRateLimiter(),
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    apiBaseUrl: `${baseUrl}/v3/company`,
    minorVersion: 75,
    maxAttempts: 1,
    timeoutMs,
  });
  return { client, logged };
}

describe('network failures of a QBO call', () => {
  let silent: net.Server;
  let silentUrl: string;
  const sockets = new Set<net.Socket>();
  beforeAll(async () => {
    // Accepts connections and never answers.
    silent = net.createServer((socket) => void sockets.add(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentUrl = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((r) => silent.close(r));
  });

  it('a refused connection is answered 503 qbo_unavailable, not as a timeout', async () => {
    const { client, logged } = clientAt(`http://127.0.0.1:${await freePort()}`);
    const err = await client.companyInfo('1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QboNetworkError);
    expect(err).toMatchObject({ unreachable: true, requestSent: false });
    expect(toHttpError(err)).toMatchObject({ status: 503, code: 'qbo_unavailable' });
    expect(logged.map((r) => [r.kind, r.status])).toEqual([['accounting', null]]);
  });

  it('QBO accepting the request and never answering is 504 qbo_timeout', async () => {
    const { client } = clientAt(silentUrl, 200);
    const err = await client.companyInfo('1').catch((e: unknown) => e);
    expect(err).toMatchObject({ unreachable: false, timedOut: true });
    expect(toHttpError(err)).toMatchObject({ status: 504, code: 'qbo_timeout' });
  });

  it('an error the domain does not expect is a 500 that says nothing about itself', () => {
    const err = toHttpError(new TypeError('secret internals'));
    expect(err).toMatchObject({ status: 500, code: 'internal_error' });
    expect(err.message).not.toContain('secret');
  });
});
