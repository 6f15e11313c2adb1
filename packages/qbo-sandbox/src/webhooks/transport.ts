import http from 'node:http';
import https from 'node:https';

export interface PostResult {
  status?: number;
  error?: string;
  /** First 2 KB of the receiver's answer, for the deliveries log. */
  responseBody?: string;
  latencyMs: number;
}

/**
 * POSTs one notification. Node's http client rather than fetch: no connection pooling
 * (`agent: false`), so a closed sandbox leaves no sockets behind, and the request carries
 * exactly the headers given. The timeout covers the whole exchange (Intuit: "respond
 * within 3 seconds").
 */
export function postNotification(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<PostResult> {
  const started = performance.now();
  const latency = () => Math.round((performance.now() - started) * 1000) / 1000;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<PostResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve({ ...r, latencyMs: latency() });
    };
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      settled = true;
      resolve({ error: `invalid webhook URL: ${url}`, latencyMs: 0 });
      return;
    }
    const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : null;
    if (!client) {
      settled = true;
      resolve({ error: `unsupported webhook URL scheme: ${target.protocol}`, latencyMs: 0 });
      return;
    }
    const req = client.request(target, {
      method: 'POST',
      agent: false,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ error: `timeout after ${timeoutMs} ms` });
    }, timeoutMs);
    timer.unref();
    const onAbort = () => {
      req.destroy();
      done({ error: 'aborted: sandbox closed' });
    };
    signal.addEventListener('abort', onAbort);
    req.on('error', (err) => done({ error: err.message || String(err) }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < 2048) chunks.push(c);
        size += c.length;
      });
      res.on('error', (err) => done({ status: res.statusCode, error: err.message }));
      res.on('end', () =>
        done({
          status: res.statusCode,
          responseBody: Buffer.concat(chunks).toString('utf8').slice(0, 2048),
        }),
      );
    });
    if (signal.aborted) onAbort();
    else req.end(body);
  });
}
