// @vitest-environment jsdom
// The webhook monitor against contract-parsed answers of GET /webhook-events: what each event
// says (realm, entities, operations, signature, status, lag, reason), the filters sent as the
// API reads them, "Load older", and the empty and error states. Driven by keyboard only.
import { cleanup, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lagText, WebhookMonitor } from '../src/components/admin/webhook-monitor.tsx';
import { renderWithClient, stubApi } from './api-stub.ts';
import { REALM, webhookEventsPage1, webhookEventsPage2 } from './fixtures.ts';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const PATH = 'GET /api/quickbooks/webhook-events';

/** Opens the panel from the keyboard: Tab to its heading button, Enter. */
async function openByKeyboard() {
  const toggle = await screen.findByRole('button', { name: 'Webhook monitor' });
  expect(toggle.getAttribute('aria-expanded')).toBe('false');
  await userEvent.tab();
  expect(document.activeElement).toBe(toggle);
  await userEvent.keyboard('{Enter}');
  expect(toggle.getAttribute('aria-expanded')).toBe('true');
  return screen.getByTestId('webhook-monitor');
}

const cells = (row: HTMLElement) =>
  within(row)
    .getAllByRole('cell')
    .map((c) => c.textContent);

describe('webhook monitor', () => {
  it('loads nothing until opened, then shows each event: realm, entities, signature, status, lag, reason', async () => {
    const calls = stubApi({ [PATH]: webhookEventsPage1 });
    renderWithClient(<WebhookMonitor realm={REALM} />);
    await screen.findByRole('button', { name: 'Webhook monitor' });
    expect(calls).toHaveLength(0);
    const panel = await openByKeyboard();
    const rows = await within(panel).findAllByRole('row');
    const body = rows.slice(1); // the header row
    expect(body).toHaveLength(4);
    expect(calls[0]!.url.searchParams.get('realmId')).toBe(REALM);

    const [applied, failed, rejected, waiting] = body.map(cells);
    expect(applied!.slice(1, 7)).toEqual([
      REALM,
      'Invoice, Payment',
      'Create, Update',
      'valid',
      'applied1 object',
      '1.4 s',
    ]);
    expect(failed![5]).toBe('failed5 attempts');
    expect(failed![6]).toBe('2 min');
    expect(failed![7]).toContain('failed after 5 attempts: QuickBooks answered 500');
    expect(rejected!.slice(1, 6)).toEqual(['none', '—', '—', 'invalid', 'rejected']);
    expect(rejected![7]).toContain('intuit-signature does not match the body');
    expect(waiting![5]).toBe('waiting');
    expect(waiting![6]).toMatch(/^waiting since /);
  });

  it('filters by status and entity as the API reads them, and pages to older events', async () => {
    const calls = stubApi({
      [PATH]: (url: URL) =>
        url.searchParams.get('cursor') ? webhookEventsPage2 : webhookEventsPage1,
    });
    renderWithClient(<WebhookMonitor realm={REALM} />);
    const panel = await openByKeyboard();
    await within(panel).findByText('Invoice, Payment');

    await userEvent.click(within(panel).getByRole('button', { name: 'Load older' }));
    await within(panel).findByText('Vendor');
    expect(within(panel).queryByRole('button', { name: 'Load older' })).toBeNull();
    expect(calls.at(-1)!.url.searchParams.get('cursor')).toBe(webhookEventsPage1.next_cursor);

    await userEvent.selectOptions(within(panel).getByLabelText('Status'), 'failed');
    await userEvent.type(within(panel).getByLabelText('Entity'), 'Invoice{Enter}');
    await waitFor(() => {
      const q = calls.at(-1)!.url.searchParams;
      expect([q.get('status'), q.get('entity'), q.get('cursor')]).toEqual([
        'failed',
        'Invoice',
        null,
      ]);
    });
  });

  it('says so when no event has arrived, or none matches the filters', async () => {
    stubApi({ [PATH]: { events: [], next_cursor: null } });
    renderWithClient(<WebhookMonitor realm={REALM} />);
    const panel = await openByKeyboard();
    expect((await within(panel).findByText(/No webhook has arrived yet/)).textContent).toContain(
      'webhook URL points at this service',
    );
    await userEvent.selectOptions(within(panel).getByLabelText('Status'), 'rejected');
    await userEvent.click(within(panel).getByRole('button', { name: 'Apply' }));
    await within(panel).findByText('No webhook event matches these filters.');
  });

  it('an API refusal is shown in words with its code, and Try again asks again', async () => {
    let answer: unknown = [
      400,
      {
        error: {
          code: 'invalid_request',
          message: 'entity must be an entity name such as Customer or Bill',
        },
      },
    ];
    const calls = stubApi({ [PATH]: () => answer });
    renderWithClient(<WebhookMonitor realm={REALM} />);
    const panel = await openByKeyboard();
    const note = await within(panel).findByRole('alert');
    expect(note.textContent).toContain('entity must be an entity name');
    expect(note.textContent).toContain('invalid_request');
    answer = webhookEventsPage2;
    await userEvent.click(within(note).getByRole('button', { name: 'Try again' }));
    await within(panel).findByText('Vendor');
    expect(calls).toHaveLength(2);
  });

  it('lags read as a person would say them', () => {
    expect([850, 4_200, 180_000, 7_200_000].map(lagText)).toEqual([
      '850 ms',
      '4.2 s',
      '3 min',
      '2.0 h',
    ]);
  });
});
