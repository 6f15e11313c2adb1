// Component tests answer the page's requests with contract-parsed fixtures (fixtures.ts):
// `routes` maps "METHOD /path" to a body (200) or a [status, body] pair. Every request is
// recorded. (The browser test runs the real API; these test the page's own logic.)
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import { createElement, type ReactElement } from 'react';
import { vi } from 'vitest';
import { shouldRetry } from '../src/hooks/useQuickBooks.ts';

/** A body (answered 200), or a `[status, body]` pair. */
type Answer = unknown;
export type Routes = Record<string, Answer>;

export interface Recorded {
  method: string;
  url: URL;
  body: unknown;
  credentials: RequestCredentials | undefined;
}

export function stubApi(routes: Routes): Recorded[] {
  const calls: Recorded[] = [];
  vi.stubGlobal('fetch', async (input: string, init: RequestInit = {}) => {
    const url = new URL(input, 'http://localhost:3000');
    const method = init.method ?? 'GET';
    calls.push({
      method,
      url,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      credentials: init.credentials,
    });
    const route = routes[`${method} ${url.pathname}`];
    if (route === undefined) {
      return new Response(
        JSON.stringify({
          error: { code: 'not_found', message: `no route ${method} ${url.pathname}` },
        }),
        { status: 404 },
      );
    }
    const answer = typeof route === 'function' ? (route as (u: URL) => Answer)(url) : route;
    const [status, body] =
      Array.isArray(answer) && typeof answer[0] === 'number' && answer.length === 2
        ? (answer as [number, unknown])
        : [200, answer];
    return new Response(body === undefined ? null : JSON.stringify(body), { status });
  });
  return calls;
}

export function newQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: shouldRetry, retryDelay: 0, refetchInterval: false },
      mutations: { retry: false },
    },
  });
}

export function renderWithClient(ui: ReactElement, client = newQueryClient()) {
  return {
    client,
    ...render(createElement(QueryClientProvider, { client }, ui)),
  };
}
