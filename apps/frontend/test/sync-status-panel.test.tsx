// @vitest-environment jsdom
// The sync panel against contract-parsed answers of GET /sync/status: counts and the three
// drift states, the company's three buttons and each entity's Force sync (full syncs ask
// first), and a running run's progress in its entity's row.
import { cleanup, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { QuickBooksStatusCard } from '../src/components/admin/quickbooks-status-card.tsx';
import { SyncStatusPanel } from '../src/components/admin/sync-status-panel.tsx';
import { SYNC_IDLE_POLL_MS, SYNC_RUNNING_POLL_MS, qboKeys } from '../src/hooks/useQuickBooks.ts';
import { SyncStatusResponse } from '@qbo-sync/contract';
import { renderWithClient, stubApi } from './api-stub.ts';
import {
  REALM,
  metrics,
  statusConnected,
  syncAccepted,
  syncStatusIdle,
  syncStatusQueued,
  syncStatusRunning,
} from './fixtures.ts';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const row = (entity: string) =>
  screen.getByRole('rowheader', { name: entity }).closest('tr') as HTMLElement;

describe('sync status panel', () => {
  it('the connected card shows it, asking the sync status of that company', async () => {
    const calls = stubApi({
      'GET /api/quickbooks/status': statusConnected,
      'GET /api/quickbooks/metrics': metrics(),
      'GET /api/quickbooks/sync/status': syncStatusIdle,
    });
    renderWithClient(<QuickBooksStatusCard />);
    const panel = await screen.findByTestId('sync-status');
    await within(panel).findByRole('table');
    const asked = calls.find((c) => c.url.pathname === '/api/quickbooks/sync/status');
    expect(asked?.url.searchParams.get('realmId')).toBe(REALM);
  });

  it('per entity: mirror and QuickBooks counts, and drift proved, found or not yet known', async () => {
    stubApi({ 'GET /api/quickbooks/sync/status': syncStatusIdle });
    renderWithClient(<SyncStatusPanel realm={REALM} />);
    await screen.findByRole('table');
    expect(screen.getByRole('columnheader', { name: 'Mirror' })).toBeTruthy();
    expect(screen.getByRole('columnheader', { name: 'Drift' })).toBeTruthy();

    const customer = row('Customer');
    expect(customer.textContent).toMatch(/in sync, proved at/);

    const invoice = row('Invoice');
    expect(within(invoice).getByText('253')).toBeTruthy();
    expect(within(invoice).getByText('255')).toBeTruthy();
    expect(within(invoice).getByText('4 deleted')).toBeTruthy();
    expect(within(invoice).getByText('2 records differ')).toBeTruthy();
    expect(invoice.textContent).not.toMatch(/in sync/);

    const payment = row('Payment');
    expect(within(payment).getByText('not yet reconciled')).toBeTruthy();
    expect(within(payment).getByText('failed')).toBeTruthy();
    expect(payment.textContent).toContain('QuickBooks refused the query');
    expect(within(payment).getByText('4000')).toBeTruthy();

    expect(screen.getByTestId('sync-run').textContent).toMatch(/Last run: incremental sync/);
  });

  it('CDC sync posts /sync/incremental for this company and reloads the status', async () => {
    const calls = stubApi({
      'GET /api/quickbooks/sync/status': syncStatusIdle,
      'POST /api/quickbooks/sync/incremental': [202, syncAccepted('incremental')],
    });
    renderWithClient(<SyncStatusPanel realm={REALM} />);
    await screen.findByRole('table');
    await userEvent.click(screen.getByRole('button', { name: 'CDC sync' }));
    await screen.findByText('The incremental sync is queued.');
    const post = calls.find((c) => c.method === 'POST');
    expect(post?.url.pathname).toBe('/api/quickbooks/sync/incremental');
    expect(post?.body).toEqual({ realm_id: REALM });
    await waitFor(() =>
      expect(calls.filter((c) => c.url.pathname.endsWith('/sync/status')).length).toBe(2),
    );
  });

  it('Full sync all asks first; only confirming posts /sync/full', async () => {
    const calls = stubApi({
      'GET /api/quickbooks/sync/status': syncStatusIdle,
      'POST /api/quickbooks/sync/full': [202, syncAccepted('full')],
    });
    renderWithClient(<SyncStatusPanel realm={REALM} />);
    await screen.findByRole('table');
    await userEvent.click(screen.getByRole('button', { name: 'Full sync all' }));
    const dialog = screen.getByRole('alertdialog');
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Full sync all' }));

    await userEvent.click(screen.getByRole('button', { name: 'Full sync all' }));
    await userEvent.click(
      within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Start full sync' }),
    );
    await waitFor(() => {
      const post = calls.find((c) => c.method === 'POST');
      expect(post?.url.pathname).toBe('/api/quickbooks/sync/full');
      expect(post?.body).toEqual({ realm_id: REALM });
    });
  });

  it('Reconcile asks first, then posts /sync/reconcile; "queued" goes once that run ended; a running one is named so', async () => {
    const calls = stubApi({
      'GET /api/quickbooks/sync/status': syncStatusIdle,
      'POST /api/quickbooks/sync/reconcile': [202, syncAccepted('reconcile')],
    });
    renderWithClient(<SyncStatusPanel realm={REALM} />);
    await screen.findByRole('table');
    await userEvent.click(screen.getByRole('button', { name: 'Reconcile' }));
    const dialog = screen.getByRole('alertdialog');
    expect(dialog.textContent).toContain('Reconcile every entity with QuickBooks now?');
    expect(dialog.textContent).toContain('It reads as much as a full sync');
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Start reconciliation' }));
    await screen.findByText('The reconciliation is queued.');
    const post = calls.find((c) => c.method === 'POST');
    expect(post?.url.pathname).toBe('/api/quickbooks/sync/reconcile');
    expect(post?.body).toEqual({ realm_id: REALM });
    cleanup();

    // Once the run it started has finished, "queued" gives way to how it ended.
    const again = stubApi({
      'GET /api/quickbooks/sync/status': syncStatusIdle,
      'POST /api/quickbooks/sync/reconcile': [
        202,
        { ...syncAccepted('reconcile'), run_id: syncStatusIdle.realms[0]!.last_run!.run_id },
      ],
    });
    renderWithClient(<SyncStatusPanel realm={REALM} />);
    await screen.findByRole('table');
    await userEvent.click(screen.getByRole('button', { name: 'Reconcile' }));
    await userEvent.click(screen.getByRole('button', { name: 'Start reconciliation' }));
    // Answered, and the status read again after it (the mutation has settled).
    await waitFor(() =>
      expect(again.filter((c) => c.url.pathname.endsWith('/sync/status')).length).toBe(2),
    );
    expect(again.some((c) => c.method === 'POST')).toBe(true);
    expect(screen.queryByText('The reconciliation is queued.')).toBeNull();
    expect(screen.getByTestId('sync-run').textContent).toMatch(/^Last run: /);
    cleanup();

    stubApi({
      'GET /api/quickbooks/sync/status': SyncStatusResponse.parse({
        realms: [
          {
            ...syncStatusRunning.realms[0]!,
            running: { ...syncStatusRunning.realms[0]!.running!, kind: 'reconcile' },
          },
        ],
      }),
    });
    renderWithClient(<SyncStatusPanel realm={REALM} />);
    await screen.findByRole('table');
    expect(screen.getByTestId('sync-run').textContent).toMatch(
      /Running: reconciliation of Invoice/,
    );
    expect(screen.getByText('reconciliation running')).toBeTruthy();
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Reconcile' }).disabled).toBe(
      true,
    );
  });

  it('a running run shows its progress and holds the buttons until it ends', async () => {
    stubApi({ 'GET /api/quickbooks/sync/status': syncStatusRunning });
    renderWithClient(<SyncStatusPanel realm={REALM} />);
    const bar = await screen.findByRole('progressbar', { name: 'Invoice sync progress' });
    expect(bar.getAttribute('value')).toBe('120');
    expect(bar.getAttribute('max')).toBe('255');
    expect(bar.getAttribute('aria-valuetext')).toBe('120 of 255');
    expect(screen.getByTestId('sync-run').textContent).toMatch(/Running: full sync of Invoice/);
    expect(screen.getByText('full sync running')).toBeTruthy();
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'CDC sync' }).disabled).toBe(true);
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Full sync all' }).disabled).toBe(
      true,
    );
  });

  it('Force sync of one entity asks first, posts /sync/full for that entity, and its row follows the run', async () => {
    let forced = false;
    let answer = syncStatusQueued;
    const calls = stubApi({
      'GET /api/quickbooks/sync/status': () => (forced ? answer : syncStatusIdle),
      'POST /api/quickbooks/sync/full': () => {
        forced = true;
        return [202, syncAccepted('full', ['Invoice'])];
      },
    });
    const { client } = renderWithClient(<SyncStatusPanel realm={REALM} />);
    await screen.findByRole('table');
    const force = (entity: string) =>
      screen.getByRole<HTMLButtonElement>('button', { name: `Force sync ${entity}` });
    expect(['Customer', 'Invoice', 'Payment'].map((e) => force(e).disabled)).toEqual([
      false,
      false,
      false,
    ]);

    await userEvent.click(force('Invoice'));
    const dialog = screen.getByRole('alertdialog');
    expect(dialog.textContent).toContain('Run a full sync of Invoice?');
    expect(row('Invoice').nextElementSibling?.contains(dialog)).toBe(true);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    expect(document.activeElement).toBe(force('Invoice'));

    await userEvent.click(force('Invoice'));
    await userEvent.click(
      within(screen.getByRole('alertdialog')).getByRole('button', {
        name: 'Start full sync of Invoice',
      }),
    );
    await screen.findByText('The full sync of Invoice is queued.');
    const post = calls.find((c) => c.method === 'POST');
    expect(post?.url.pathname).toBe('/api/quickbooks/sync/full');
    expect(post?.body).toEqual({ realm_id: REALM, entity: 'Invoice' });

    // The status read again after the request: the Invoice row waits, and only it is held.
    await waitFor(() => expect(within(row('Invoice')).getByText('queued')).toBeTruthy());
    expect(within(row('Customer')).queryByText('queued')).toBeNull();
    expect(force('Invoice').disabled).toBe(true);
    expect(force('Customer').disabled).toBe(false);

    // The next poll: the worker has started, the row shows how far it is.
    answer = syncStatusRunning;
    await client.refetchQueries({ queryKey: qboKeys.syncStatus(REALM) });
    const bar = await within(row('Invoice')).findByRole('progressbar', {
      name: 'Invoice sync progress',
    });
    expect(bar.getAttribute('aria-valuetext')).toBe('120 of 255');
    expect(within(row('Customer')).queryByRole('progressbar')).toBeNull();
    expect(force('Invoice').disabled).toBe(true);

    // It ends: the row says synced and its button is back.
    answer = syncStatusIdle;
    await client.refetchQueries({ queryKey: qboKeys.syncStatus(REALM) });
    await waitFor(() => expect(force('Invoice').disabled).toBe(false));
    expect(within(row('Invoice')).queryByRole('progressbar')).toBeNull();
  });

  it('polls every 2 s while a run is running, every 30 s otherwise', async () => {
    for (const [answer, every] of [
      [syncStatusRunning, SYNC_RUNNING_POLL_MS],
      [syncStatusIdle, SYNC_IDLE_POLL_MS],
    ] as const) {
      stubApi({ 'GET /api/quickbooks/sync/status': answer });
      const { client } = renderWithClient(<SyncStatusPanel realm={REALM} />);
      await screen.findByRole('table');
      const query = client.getQueryCache().find({ queryKey: qboKeys.syncStatus(REALM) })!;
      const interval = query.observers[0]!.options.refetchInterval;
      expect(typeof interval === 'function' ? interval(query) : interval).toBe(every);
      cleanup();
    }
    expect([SYNC_RUNNING_POLL_MS, SYNC_IDLE_POLL_MS]).toEqual([2_000, 30_000]);
  });
});
