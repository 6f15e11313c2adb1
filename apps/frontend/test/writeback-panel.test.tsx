// @vitest-environment jsdom
// The write-back panel against contract-parsed answers: counts, the last run's summary, the
// failures with what to do, and the Push all button (disabled while a run is unfinished).
import {
  CampaignInvoice,
  CampaignInvoiceList,
  InvoiceSyncStatusResponse,
  PushAllResponse,
  PushInvoiceResponse,
} from '@qbo-sync/contract';
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

const INVOICE_ID = '6f1c2a8e-3b7d-4c52-9e0a-1d2f3a4b5c6d';
const invoice = (qbo: Partial<CampaignInvoice['qbo']> = {}) =>
  CampaignInvoice.parse({
    id: INVOICE_ID,
    client_name: 'Northwind',
    client_email: null,
    line_items: [
      { description: 'Retainer', quantity: '1', unit_price: '950.00', amount: '950.00' },
    ],
    subtotal: '950.00',
    tax: '0.00',
    total: '950.00',
    currency: 'USD',
    issue_date: '2026-03-01',
    due_date: null,
    invoice_number: 'CMP-7',
    status: 'issued',
    created_at: '2026-03-01T09:00:00.000Z',
    updated_at: '2026-03-01T09:00:00.000Z',
    qbo: {
      sync_status: 'pending',
      invoice_id: null,
      realm_id: null,
      doc_number: null,
      last_synced_at: null,
      error_message: null,
      version: 1,
      pushed_version: null,
      total: null,
      balance: null,
      paid_status: null,
      paid_at: null,
      voided: false,
      deleted: false,
      ...qbo,
    },
  });

it('lists the invoices with their QuickBooks status; Push sends that one and shows what QuickBooks made of it', async () => {
  const pushed = invoice({
    sync_status: 'synced',
    invoice_id: '146',
    realm_id: REALM,
    doc_number: 'CMP-7',
    last_synced_at: '2026-03-01T10:00:00.000Z',
    pushed_version: 1,
    total: '950.00',
    balance: '950.00',
    paid_status: 'unpaid',
  });
  let list = CampaignInvoiceList.parse({ invoices: [invoice()] });
  const calls = stubApi({
    'GET /api/quickbooks/invoices/sync-status': syncStatus('finished'),
    'GET /api/quickbooks/campaign-invoices': () => list,
    'POST /api/quickbooks/invoices/push': () => {
      list = { invoices: [pushed] };
      return PushInvoiceResponse.parse({
        realm_id: REALM,
        outcome: 'created',
        message: null,
        invoice: pushed,
      });
    },
  });
  renderWithClient(<WritebackPanel realm={REALM} />);
  const table = await screen.findByTestId('campaign-invoices');
  const row = within(table).getByRole('row', { name: /Northwind/ });
  expect(within(row).getByTestId('qbo-status').textContent).toBe('pending');
  await userEvent.click(
    within(row).getByRole('button', { name: 'Push the invoice for Northwind' }),
  );
  await within(row).findByText('Created in QuickBooks as #CMP-7.');
  const post = calls.find((c) => c.method === 'POST')!;
  expect(post.url.searchParams.get('realmId')).toBe(REALM);
  expect(post.body).toEqual({ invoice_id: INVOICE_ID });
  // The list is read again: QuickBooks' number, and the payment state it reports.
  await waitFor(() =>
    expect(within(row).getByTestId('qbo-status').textContent).toMatch(/^synced#CMP-7/),
  );
  expect(row.textContent).toContain('unpaidbalance 950.00');
});

it('shows the counts, the last run and the failures, and pushes all pending on a click', async () => {
  const calls = stubApi({
    'GET /api/quickbooks/campaign-invoices': { invoices: [] },
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
  stubApi({
    'GET /api/quickbooks/invoices/sync-status': syncStatus('running'),
    'GET /api/quickbooks/campaign-invoices': { invoices: [] },
  });
  renderWithClient(<WritebackPanel realm={REALM} />);
  const button = await screen.findByRole('button', { name: 'Pushing…' });
  expect((button as HTMLButtonElement).disabled).toBe(true);
});
