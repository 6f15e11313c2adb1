// @vitest-environment jsdom
// The hooks: answers parsed with the contract, errors as ApiError, invalidation exactly of
// what a mutation changes, paging of the request log, and polling of webhook events only while
// one is unfinished.
import { QueryClientProvider } from '@tanstack/react-query';
import { act, renderHook, waitFor } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/api/client.ts';
import {
  qboKeys,
  useRefreshToken,
  useRequestLog,
  useSignIn,
  useStatus,
  useTestConnection,
  useDisconnect,
  usePushInvoice,
  useWebhookEvents,
  WEBHOOK_UNFINISHED_POLL_MS,
} from '../src/hooks/useQuickBooks.ts';
import { newQueryClient, stubApi } from './api-stub.ts';
import {
  OTHER_REALM,
  REALM,
  metrics,
  probeOk,
  requestLogPage1,
  requestLogPage2,
  statusConnected,
  webhookEventsPage1,
  webhookEventsPage2,
} from './fixtures.ts';

afterEach(() => {
  vi.unstubAllGlobals();
});

function wrapper(client = newQueryClient()) {
  return {
    client,
    wrapper: ({ children }: { children: ReactNode }) => (
      <QueryClientProvider client={client}>{children}</QueryClientProvider>
    ),
  };
}

describe('useQuickBooks hooks', () => {
  it('useStatus returns the answer as the contract parses it, asked with the session cookie', async () => {
    const calls = stubApi({ 'GET /api/quickbooks/status': statusConnected });
    const { wrapper: w } = wrapper();
    const { result } = renderHook(() => useStatus(REALM), { wrapper: w });
    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(result.current.data).toEqual(statusConnected);
    expect(calls[0]!.url.searchParams.get('realmId')).toBe(REALM);
    expect(calls[0]!.credentials).toBe('same-origin');
  });

  it('an answer of another shape is an error the panel can show, not a crash', async () => {
    stubApi({ 'GET /api/quickbooks/status': { connected: 'yes' } });
    const { wrapper: w } = wrapper();
    const { result } = renderHook(() => useStatus(null), { wrapper: w });
    await waitFor(() => expect(result.current.isError).toBe(true));
    expect(result.current.error).toBeInstanceOf(ApiError);
    expect((result.current.error as ApiError).code).toBe('bad_response');
  });

  it('a 401 becomes ApiError 401 unauthorized and is not retried (the page asks to sign in)', async () => {
    const calls = stubApi({
      'GET /api/quickbooks/status': [401, { error: { code: 'unauthorized', message: 'sign in' } }],
    });
    const { wrapper: w } = wrapper();
    const { result } = renderHook(() => useStatus(null), { wrapper: w });
    await waitFor(() => expect(result.current.isError).toBe(true));
    expect(result.current.error).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(calls).toHaveLength(1);
  });

  it('signing in posts the token as JSON once and keeps nothing in storage', async () => {
    const calls = stubApi({
      'POST /api/admin/session': { authenticated: true, expires_at: '2026-02-12T00:00:00.000Z' },
    });
    const { wrapper: w } = wrapper();
    const { result } = renderHook(() => useSignIn(), { wrapper: w });
    await act(() => result.current.mutateAsync('the-admin-token'));
    expect(calls).toEqual([
      expect.objectContaining({ method: 'POST', body: { token: 'the-admin-token' } }),
    ]);
    expect(localStorage.length + sessionStorage.length).toBe(0);
  });

  it('refreshing company A invalidates A’s status, metrics and request log — not B’s, nor anything else', async () => {
    stubApi({
      'POST /api/quickbooks/refresh': {
        realm_id: REALM,
        result: 'refreshed',
        tokens: statusConnected.tokens,
        last_refresh_at: '2026-02-11T12:00:00.000Z',
      },
    });
    const { client, wrapper: w } = wrapper();
    client.setQueryData(qboKeys.status(REALM), statusConnected);
    client.setQueryData(qboKeys.metrics(REALM), metrics());
    client.setQueryData(qboKeys.requestLog(REALM, {}), { pages: [], pageParams: [] });
    client.setQueryData(qboKeys.status(OTHER_REALM), statusConnected);
    client.setQueryData(qboKeys.metrics(OTHER_REALM), metrics());
    client.setQueryData(['qbo', 'sync-status', REALM], { untouched: true });
    const { result } = renderHook(() => useRefreshToken(), { wrapper: w });
    await act(() => result.current.mutateAsync(REALM));
    const invalid = (key: readonly unknown[]) => client.getQueryState(key)?.isInvalidated;
    expect(invalid(qboKeys.status(REALM))).toBe(true);
    expect(invalid(qboKeys.metrics(REALM))).toBe(true);
    expect(invalid(qboKeys.requestLog(REALM, {}))).toBe(true);
    expect(invalid(qboKeys.status(OTHER_REALM))).toBe(false);
    expect(invalid(qboKeys.metrics(OTHER_REALM))).toBe(false);
    expect(invalid(['qbo', 'sync-status', REALM])).toBe(false);
  });

  it('a probe answered ok:false is data, not an error; a disconnect invalidates every company list', async () => {
    stubApi({
      'GET /api/quickbooks/test-connection': {
        ...probeOk,
        ok: false,
        error: { code: 'qbo_unavailable', message: 'down' },
      },
      'POST /api/quickbooks/disconnect': {
        realm_id: REALM,
        status: 'disconnected',
        disconnected_at: '2026-02-11T12:00:00.000Z',
        kept: { mirror_rows: 3, request_log_rows: 9 },
      },
    });
    const { client, wrapper: w } = wrapper();
    client.setQueryData(qboKeys.status(OTHER_REALM), statusConnected);
    client.setQueryData(qboKeys.metrics(OTHER_REALM), metrics());
    const test = renderHook(() => useTestConnection(), { wrapper: w });
    const probe = await act(() => test.result.current.mutateAsync(REALM));
    expect(probe).toMatchObject({ ok: false, error: { code: 'qbo_unavailable' } });
    const disconnect = renderHook(() => useDisconnect(), { wrapper: w });
    await act(() => disconnect.result.current.mutateAsync(REALM));
    expect(client.getQueryState(qboKeys.status(OTHER_REALM))?.isInvalidated).toBe(true);
    expect(client.getQueryState(qboKeys.metrics(OTHER_REALM))?.isInvalidated).toBe(false);
  });

  it('the request log pages with next_cursor and stops on the last page', async () => {
    const calls = stubApi({
      'GET /api/quickbooks/request-log': (url: URL) =>
        url.searchParams.get('cursor') ? requestLogPage2 : requestLogPage1,
    });
    const { wrapper: w } = wrapper();
    const { result } = renderHook(() => useRequestLog(REALM, { status: '429' }), { wrapper: w });
    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(result.current.hasNextPage).toBe(true);
    await act(() => result.current.fetchNextPage());
    await waitFor(() => expect(result.current.data?.pages).toHaveLength(2));
    expect(result.current.hasNextPage).toBe(false);
    expect(calls[0]!.url.searchParams.get('status')).toBe('429');
    expect(calls[1]!.url.searchParams.get('cursor')).toBe(requestLogPage1.next_cursor);
  });

  it('webhook events are read again every 5 s while one shown is waiting, and not at all once all are done', async () => {
    let answer = webhookEventsPage1; // one event still pending
    stubApi({ 'GET /api/quickbooks/webhook-events': () => answer });
    const { client, wrapper: w } = wrapper();
    const { result } = renderHook(() => useWebhookEvents(REALM, { entity: 'Customer' }), {
      wrapper: w,
    });
    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    const query = client.getQueryCache().find({
      queryKey: qboKeys.webhookEvents(REALM, { entity: 'Customer' }),
    })!;
    // What the query's observer (the hook) asks for after each answer.
    const interval = () => {
      const ask = query.observers[0]!.options.refetchInterval;
      return typeof ask === 'function' ? ask(query as never) : ask;
    };
    expect(interval()).toBe(WEBHOOK_UNFINISHED_POLL_MS);
    answer = webhookEventsPage2; // every event processed
    await act(() => result.current.refetch());
    expect(interval()).toBe(false);
  });

  it('pushing one invoice invalidates the invoice list, invoice sync status and request log — not the sync status', async () => {
    stubApi({
      'POST /api/quickbooks/invoices/push': [500, { error: { code: 'internal', message: 'x' } }],
    });
    const { client, wrapper: w } = wrapper();
    client.setQueryData(qboKeys.campaignInvoices(), { invoices: [] });
    client.setQueryData(qboKeys.invoiceSyncStatus(REALM), { untouched: false });
    client.setQueryData(qboKeys.requestLog(REALM, {}), { pages: [], pageParams: [] });
    client.setQueryData(qboKeys.syncStatus(REALM), { untouched: true });
    const { result } = renderHook(() => usePushInvoice(), { wrapper: w });
    // Even a failed push changes what QuickBooks was asked: the lists are read again.
    await act(() =>
      result.current
        .mutateAsync({ realm: REALM, invoiceId: '6f1c2a8e-3b7d-4c52-9e0a-1d2f3a4b5c6d' })
        .catch(() => undefined),
    );
    const invalid = (key: readonly unknown[]) => client.getQueryState(key)?.isInvalidated;
    expect(invalid(qboKeys.campaignInvoices())).toBe(true);
    expect(invalid(qboKeys.invoiceSyncStatus(REALM))).toBe(true);
    expect(invalid(qboKeys.requestLog(REALM, {}))).toBe(true);
    expect(invalid(qboKeys.syncStatus(REALM))).toBe(false);
  });
});
