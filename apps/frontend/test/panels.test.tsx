// @vitest-environment jsdom
// The panels against the API's answers (contract-parsed fixtures): which state the card is
// in, what each alert tells the operator to do, the callback's messages, the two-step
// disconnect and the request log.
import { CALLBACK_ERROR_CODES } from '@qbo-sync/contract';
import { cleanup, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { QuickBooksStatusCard } from '../src/components/admin/quickbooks-status-card.tsx';
import { CALLBACK_ERROR_MESSAGES } from '../src/lib/callback-errors.ts';
import { renderWithClient, stubApi } from './api-stub.ts';
import {
  REALM,
  metrics,
  requestLogPage1,
  requestLogPage2,
  statusConnected,
  statusDisconnected,
  statusNeedsReauth,
  statusNone,
  syncAccepted,
} from './fixtures.ts';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('QuickBooks card', () => {
  it('with no company, offers one thing: Connect QuickBooks', async () => {
    stubApi({ 'GET /api/quickbooks/status': statusNone });
    renderWithClient(<QuickBooksStatusCard />);
    expect(await screen.findByRole('button', { name: 'Connect QuickBooks' })).toBeTruthy();
    expect(screen.getByText(/No QuickBooks company is connected yet/)).toBeTruthy();
  });

  it('signed out, shows the sign-in form instead of an error', async () => {
    stubApi({
      'GET /api/quickbooks/status': [401, { error: { code: 'unauthorized', message: 'x' } }],
    });
    renderWithClient(<QuickBooksStatusCard />);
    expect(await screen.findByLabelText('Admin token')).toBeTruthy();
  });

  it('connected, shows the company, the token expiries, the quota, and a picker for two companies', async () => {
    stubApi({
      'GET /api/quickbooks/status': statusConnected,
      'GET /api/quickbooks/metrics': metrics(),
    });
    renderWithClient(<QuickBooksStatusCard />);
    const grid = await screen.findByTestId('connection-health');
    expect(within(grid).getByText(REALM)).toBeTruthy();
    expect(within(grid).getByText('Demo Company')).toBeTruthy();
    expect(within(grid).getByText('3 / 500')).toBeTruthy();
    expect(within(grid).getByText('Grant ends')).toBeTruthy();
    const picker = screen.getByRole('combobox', { name: 'Company' });
    expect(
      within(picker)
        .getAllByRole('option')
        .map((o) => o.textContent),
    ).toEqual(['Demo Company', 'Other Ltd']);
    expect(screen.queryByTestId('alerts')).toBeNull();
  });

  it('needs re-auth: the alert says what happened and offers Reconnect', async () => {
    stubApi({
      'GET /api/quickbooks/status': statusNeedsReauth,
      'GET /api/quickbooks/metrics': metrics({ needsReauth: true }),
    });
    renderWithClient(<QuickBooksStatusCard />);
    const alert = await screen.findByText('QuickBooks no longer accepts this connection');
    const box = alert.closest('[data-alert]') as HTMLElement;
    expect(within(box).getByRole('button', { name: 'Reconnect QuickBooks' })).toBeTruthy();
    expect(box.textContent).toContain(
      'Nothing syncs until someone with access to the company reconnects it',
    );
  });

  it('metered reads: the month so far in the health grid; near the cap, an alert says what stops', async () => {
    stubApi({
      'GET /api/quickbooks/status': statusConnected,
      'GET /api/quickbooks/metrics': metrics(),
    });
    renderWithClient(<QuickBooksStatusCard />);
    const grid = await screen.findByTestId('connection-health');
    expect(within(grid).getByText('Metered reads this month')).toBeTruthy();
    expect(within(grid).getByText(/41,250 \/ 500,000/)).toBeTruthy();
    cleanup();

    const near = {
      ...statusConnected,
      api_quota: {
        ...statusConnected.api_quota,
        coreplus: {
          ...statusConnected.api_quota.coreplus,
          used: 455_000,
          alert: true,
          background_blocked: true,
        },
      },
    };
    stubApi({ 'GET /api/quickbooks/status': near, 'GET /api/quickbooks/metrics': metrics() });
    renderWithClient(<QuickBooksStatusCard />);
    const alert = await screen.findByText(/91.0 % of this month's metered QuickBooks reads used/);
    expect((alert.closest('[data-alert]') as HTMLElement).textContent).toMatch(
      /The daily reconciliation stopped at 450,000 calls/,
    );
  });

  it('throttling: the alert’s button opens the request log filtered to 429s', async () => {
    const calls = stubApi({
      'GET /api/quickbooks/status': statusConnected,
      'GET /api/quickbooks/metrics': metrics({ throttled: 6 }),
      'GET /api/quickbooks/request-log': (url: URL) =>
        url.searchParams.get('cursor') ? requestLogPage2 : requestLogPage1,
    });
    renderWithClient(<QuickBooksStatusCard />);
    const alert = await screen.findByText(/QuickBooks throttled 15.0 % of the calls/);
    await userEvent.click(
      within(alert.closest('[data-alert]') as HTMLElement).getByRole('button', {
        name: 'Show throttled calls',
      }),
    );
    const log = await screen.findByTestId('request-log');
    await within(log).findByText('1-67ab-429');
    const asked = calls.filter((c) => c.url.pathname.endsWith('/request-log'));
    expect(asked[0]!.url.searchParams.get('status')).toBe('429');
    expect(within(log).getByRole('button', { name: 'Copy intuit_tid 1-67ab-429' })).toBeTruthy();
    await userEvent.click(within(log).getByRole('button', { name: 'Load older' }));
    await within(log).findByText('1-67ab-older');
    expect(within(log).queryByRole('button', { name: 'Load older' })).toBeNull();
  });

  it('daily job overdue: the banner says what is missed and runs the CDC sync or the reconciliation for this company', async () => {
    const calls = stubApi({
      'GET /api/quickbooks/status': statusConnected,
      'GET /api/quickbooks/metrics': metrics({ overdueHours: 31.5 }),
      'POST /api/quickbooks/sync/incremental': [202, syncAccepted('incremental')],
      'POST /api/quickbooks/sync/reconcile': [202, syncAccepted('reconcile')],
    });
    renderWithClient(<QuickBooksStatusCard />);
    const title = await screen.findByText('The daily reconciliation last completed 32 h ago');
    const box = title.closest('[data-alert]') as HTMLElement;
    expect(box.getAttribute('data-alert')).toBe('daily_job_overdue');
    expect(box.textContent).toContain('Check that the service or its worker runs');
    await userEvent.click(within(box).getByRole('button', { name: 'Run CDC sync now' }));
    await within(box).findByRole('button', { name: 'Queued: see Sync' });
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.url.pathname).toBe('/api/quickbooks/sync/incremental');
    expect(post.body).toEqual({ realm_id: REALM });
    await userEvent.click(within(box).getByRole('button', { name: 'Reconcile now' }));
    await waitFor(() => {
      const posts = calls.filter((c) => c.method === 'POST');
      expect(posts[1]?.url.pathname).toBe('/api/quickbooks/sync/reconcile');
      expect(posts[1]?.body).toEqual({ realm_id: REALM });
    });
  });

  it('a reconciliation that never completed says so', async () => {
    stubApi({
      'GET /api/quickbooks/status': statusConnected,
      'GET /api/quickbooks/metrics': metrics({ overdueHours: null }),
    });
    renderWithClient(<QuickBooksStatusCard />);
    expect(
      await screen.findByText('The daily reconciliation has never completed for this company'),
    ).toBeTruthy();
  });

  it('drift found: the banner names the entities and offers a full sync of each', async () => {
    const calls = stubApi({
      'GET /api/quickbooks/status': statusConnected,
      'GET /api/quickbooks/metrics': metrics({ drift: { Customer: 1, Invoice: 2 } }),
      'POST /api/quickbooks/sync/full': [202, syncAccepted('full')],
    });
    renderWithClient(<QuickBooksStatusCard />);
    const title = await screen.findByText(
      'The last reconciliation found 3 records out of step with QuickBooks (Customer, Invoice)',
    );
    const box = title.closest('[data-alert]') as HTMLElement;
    expect(box.textContent).toContain('look at the Webhook monitor for failed or rejected events');
    expect(within(box).getByRole('button', { name: 'Full sync Customer' })).toBeTruthy();
    await userEvent.click(within(box).getByRole('button', { name: 'Full sync Invoice' }));
    await waitFor(() =>
      expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
        realm_id: REALM,
        entity: 'Invoice',
      }),
    );
    expect(calls.find((c) => c.method === 'POST')!.url.pathname).toBe('/api/quickbooks/sync/full');
  });

  it('Disconnect asks first (focus on Cancel); confirming posts /disconnect for that company', async () => {
    const calls = stubApi({
      'GET /api/quickbooks/status': statusConnected,
      'GET /api/quickbooks/metrics': metrics(),
      'POST /api/quickbooks/disconnect': {
        realm_id: REALM,
        status: 'disconnected',
        disconnected_at: '2026-02-11T12:00:00.000Z',
        kept: { mirror_rows: 3, request_log_rows: 9 },
      },
    });
    renderWithClient(<QuickBooksStatusCard />);
    await userEvent.click(await screen.findByRole('button', { name: 'Disconnect' }));
    const dialog = screen.getByRole('alertdialog');
    await waitFor(() => expect(document.activeElement?.textContent).toBe('Cancel'));
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Disconnect' }));
    await waitFor(() =>
      expect(calls.find((c) => c.method === 'POST')?.url.searchParams.get('realmId')).toBe(REALM),
    );
  });

  it('disconnected: says when, keeps the log reachable, and offers Reconnect', async () => {
    stubApi({ 'GET /api/quickbooks/status': statusDisconnected });
    renderWithClient(<QuickBooksStatusCard />);
    expect(await screen.findByRole('button', { name: 'Reconnect QuickBooks' })).toBeTruthy();
    expect(screen.getByTestId('connect-panel').textContent).toContain(
      'Demo Company was disconnected',
    );
    expect(screen.getByRole('button', { name: 'Request log' })).toBeTruthy();
  });

  it('a failed callback is explained in words, with a way to try again', async () => {
    stubApi({ 'GET /api/quickbooks/status': statusNone });
    renderWithClient(
      <QuickBooksStatusCard callback={{ kind: 'error', code: 'state_wrong_session' }} />,
    );
    const notice = await screen.findByTestId('callback-notice');
    expect(notice.textContent).toContain('started in another browser or session');
    expect(within(notice).getByRole('button', { name: 'Try again' })).toBeTruthy();
  });

  it('every callback error code the API can send has its own message', () => {
    const messages = CALLBACK_ERROR_CODES.map((c) => CALLBACK_ERROR_MESSAGES[c]);
    expect(messages.every((m) => typeof m === 'string' && m.length > 20)).toBe(true);
    expect(new Set(messages).size).toBe(CALLBACK_ERROR_CODES.length);
  });
});
