// When a request's headers were written to its socket, for the rate limiter's anchor
// (docs/qbo-api-client.md, "Where a call's window entry is anchored"). QBO counts a request when
// it arrives, and what bounds that arrival is the socket write, not the limiter's grant nor the
// `fetch()` call: between those and the write, the event loop can stall (tens of ms measured,
// over a second on an overloaded machine), and a request written late arrives late.
//
// Node's fetch (undici) publishes diagnostics channels per HTTP request:
//   - `undici:request:create`, synchronously inside the `fetch()` promise chain, so the
//     AsyncLocalStorage store set around `fetch()` names the attempt it belongs to;
//   - `undici:client:sendHeaders`, in the same tick as the headers' write to the socket,
//     and `undici:request:bodySent`, once the whole request (a POST's body included) has
//     been written, with the same request object. They may run in another request's async
//     context (a connection freed by one request writes the next), so the attempt is found
//     by the request, not by the store.
// The last write seen counts: the end of a body's upload, or a request sent again (a
// redirect, a retry on a fresh socket) bounds the arrival QBO counts better than the first
// headers. No send seen (error before sending, or a fetch that is not undici's): `sentAt`
// stays null and the caller keeps the response-end anchor.
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';

export interface SendProbe {
  /** `performance.now()` of the request's last write to a socket (headers, or its body's end). */
  sentAt: number | null;
}

const current = new AsyncLocalStorage<SendProbe>();
const probeOfRequest = new WeakMap<object, SendProbe>();
let subscribed = false;

function subscribe(): void {
  if (subscribed) return;
  subscribed = true;
  // `diagnostics.subscribe` holds the channel strongly (unlike `channel(name).subscribe` on
  // some Node 18/20 releases, whose channels could be collected with their subscribers).
  diagnostics.subscribe('undici:request:create', (message) => {
    const probe = current.getStore();
    const request = (message as { request?: object }).request;
    if (probe && request) probeOfRequest.set(request, probe);
  });
  const sent = (message: unknown) => {
    const request = (message as { request?: object }).request;
    const probe = request && probeOfRequest.get(request);
    if (probe) probe.sentAt = performance.now();
  };
  diagnostics.subscribe('undici:client:sendHeaders', sent);
  diagnostics.subscribe('undici:request:bodySent', sent);
}

/** Runs `send` (which calls fetch) with a fresh probe; read `probe.sentAt` once it settles. */
export function probeSend<T>(send: () => Promise<T>): { probe: SendProbe; sent: Promise<T> } {
  subscribe();
  const probe: SendProbe = { sentAt: null };
  return { probe, sent: current.run(probe, send) };
}
