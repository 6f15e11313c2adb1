// @vitest-environment jsdom
// The write-back panel against contract-parsed answers: counts, the last run's summary, the
// failures with what to do, and the Push all button (disabled while a run is unfinished).
import { InvoiceSyncStatusResponse, PushAllResponse } from '@qbo-sync/contract';
import { cleanup, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, expect, it, vi } from 'vitest';
import { WritebackPanel } from '../src/components/admin/writeback-panel.tsx';
import { renderWithClient, stubApi } from './api-stub.ts';
import { REALM } from './fixtures.ts';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const run = (status: 'queued' | 'running' | 'finished') => ({
  id: 'run-1',
  realm_id: REALM,
  status,
  total: 4,
  pushed: 3,
  unchanged: 0,
  failed: 1,
  failures: [
    { invoice_id: 'inv-4', message: 'The invoice is in EUR but the QBO company records only USD' },
  ],
  error_message: null,
  created_at: '2026-03-01T10:00:00.000Z',
  started_at: '2026-03-01T10:00:01.000Z',
  finished_at: status === 'finished' ? '2026-03-01T10:00:09.000Z' : null,
});

const syncStatus = (status: 'queued' | 'running' | 'finished') =>
  InvoiceSyncStatusResponse.parse({
    realm_id: REALM,
    counts: { pending: 2, syncing: 0, synced: 3, error: 1 },
    latest_run: run(status),
    recent_errors: [
      {
        invoice_id: 'inv-4',
        client_name: 'Delta SA',
        message: 'The invoice is in EUR but the QBO company records only USD',
        at: '2026-03-01T10:00:05.000Z',
      },
    ],
  });

it('shows the counts, the last run and the failures, and pushes all pending on a click', async () => {
  const calls = stubApi({
    'GET /api/quickbooks/invoices/sync-status': syncStatus('finished'),
    'POST /api/quickbooks/invoices/push-all': [
      202,
      PushAllResponse.parse({ run: run('queued'), deduplicated: false }),
    ],
  });
  renderWithClient(<WritebackPanel realm={REALM} />);
  const panel = await screen.findByTestId('writeback');
  expect(await within(panel).findByText(/3 pushed, 0 unchanged, 1\s+failed/)).toBeTruthy();
  expect(within(panel).getByText(/records only USD/)).toBeTruthy();
  expect(within(panel).getByText('Delta SA')).toBeTruthy();
  await userEvent.click(within(panel).getByRole('button', { name: 'Push all pending' }));
  await waitFor(() =>
    expect(calls.some((c) => c.method === 'POST' && c.url.pathname.endsWith('/push-all'))).toBe(
      true,
    ),
  );
  const post = calls.find((c) => c.method === 'POST')!;
  expect(post.url.searchParams.get('realmId')).toBe(REALM);
});

it('while a run is unfinished the button waits and says so', async () => {
  stubApi({ 'GET /api/quickbooks/invoices/sync-status': syncStatus('running') });
  renderWithClient(<WritebackPanel realm={REALM} />);
  const button = await screen.findByRole('button', { name: 'Pushing…' });
  expect((button as HTMLButtonElement).disabled).toBe(true);
});
