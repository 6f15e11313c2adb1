// The write-back routes against the real service, qbo-sandbox and a real database:
// creating campaign invoices with the push's own checks, pushing one, pushing all as a job.
import {
  CampaignInvoice,
  InvoiceSyncStatusResponse,
  PushAllResponse,
  PushInvoiceResponse,
} from '@qbo-sync/contract';
import { seedCompany } from 'qbo-sandbox';
import { beforeAll, expect, it, vi } from 'vitest';
import { addCompany, connectRealm, forEachService } from './service-harness.ts';

const line = (amount: string) => ({
  description: 'Campaign work',
  quantity: '1',
  unit_price: amount,
  amount,
});
const invoice = (client: string, amount = '100.00') => ({
  client_name: client,
  client_email: 'ap@example.com',
  line_items: [line(amount)],
  subtotal: amount,
  total: amount,
  issue_date: '2026-03-01',
  due_date: '2026-03-31',
});

forEachService((env) => {
  let realmId: string;
  beforeAll(async () => {
    const company = addCompany(env.sandbox, 'Write-back Co');
    seedCompany(company, { seed: 3, preset: 'small' });
    realmId = company.realmId;
    await connectRealm(env.svc, realmId);
  });

  it('refuses invalid campaign invoices with a message naming the problem', async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...invoice('A\u0000B') }, /client_name must not contain control characters/],
      [{ ...invoice('Big'), subtotal: '1'.repeat(40) }, /subtotal must be a decimal string/],
      [{ ...invoice('Leap'), issue_date: '2025-02-29' }, /issue_date is not a calendar day/],
      [{ ...invoice('Zero'), issue_date: '0000-01-01' }, /issue_date is not a calendar day/],
      [{ ...invoice('Tax'), tax: '5.00', total: '105.00' }, /tax is not 0/],
      [{ ...invoice('Sum'), subtotal: '99.00', total: '99.00' }, /not the sum of the lines/],
      [
        { ...invoice('Neg'), line_items: [line('-1.00')], subtotal: '-1.00', total: '-1.00' },
        /non-negative/,
      ],
      [{ ...invoice('Cur'), currency: 'usd' }, /ISO 4217/],
      [{ ...invoice('Long'), invoice_number: 'X'.repeat(22) }, /at most 21 characters/],
      [{ ...invoice('Extra'), surprise: 1 }, /surprise/],
    ];
    for (const [body, message] of bad) {
      const r = await env.svc.admin('POST', '/api/quickbooks/campaign-invoices', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
      expect(r.body.error.message).toMatch(message);
    }
  });

  it('an invoice created through the API is pushed once and an edit is an update', async () => {
    const created = await env.svc.admin(
      'POST',
      '/api/quickbooks/campaign-invoices',
      invoice("O'Brien & Sons Routes"),
    );
    expect(created.status).toBe(201);
    const inv = CampaignInvoice.parse(created.body);
    expect(inv.qbo.sync_status).toBe('pending');

    const pushed = await env.svc.admin('POST', '/api/quickbooks/invoices/push', {
      invoice_id: inv.id,
    });
    expect(pushed.status).toBe(200);
    const p = PushInvoiceResponse.parse(pushed.body);
    expect(p.outcome, p.message ?? '').toBe('created');
    expect(p.invoice.qbo).toMatchObject({
      sync_status: 'synced',
      total: '100.00',
      balance: '100.00',
    });

    const edited = await env.svc.admin('PATCH', `/api/quickbooks/campaign-invoices/${inv.id}`, {
      line_items: [line('250.00')],
      subtotal: '250.00',
      total: '250.00',
    });
    expect(edited.status).toBe(200);
    expect(CampaignInvoice.parse(edited.body).qbo).toMatchObject({
      sync_status: 'pending',
      version: 2,
    });
    const again = PushInvoiceResponse.parse(
      (await env.svc.admin('POST', '/api/quickbooks/invoices/push', { invoice_id: inv.id })).body,
    );
    expect(again.outcome, again.message ?? '').toBe('updated');
    expect(again.invoice.qbo).toMatchObject({
      sync_status: 'synced',
      invoice_id: p.invoice.qbo.invoice_id,
      total: '250.00',
      pushed_version: 2,
    });
  });

  it('push-all pushes every pending invoice, and one bad invoice does not stop the others', async () => {
    for (const name of ['Alpha Media', 'Beta Foods', 'Gamma Outdoor'])
      expect(
        (await env.svc.admin('POST', '/api/quickbooks/campaign-invoices', invoice(name))).status,
      ).toBe(201);
    // Written by the host application directly: EUR in a USD-only company.
    const bad = CampaignInvoice.parse(
      (
        await env.svc.admin('POST', '/api/quickbooks/campaign-invoices', {
          ...invoice('Delta SA'),
          currency: 'EUR',
        })
      ).body,
    );
    const started = await env.svc.admin('POST', '/api/quickbooks/invoices/push-all');
    expect(started.status).toBe(202);
    const { run } = PushAllResponse.parse(started.body);

    const status = await vi.waitFor(
      async () => {
        const r = await env.svc.admin('GET', '/api/quickbooks/invoices/sync-status');
        const s = InvoiceSyncStatusResponse.parse(r.body);
        if (s.latest_run?.id !== run.id || s.latest_run.status !== 'finished')
          throw new Error('running');
        return s;
      },
      { timeout: 60_000, interval: 200 },
    );
    expect(status.latest_run).toMatchObject({ pushed: 3, failed: 1, total: 4 });
    expect(status.latest_run!.failures).toEqual([
      { invoice_id: bad.id, message: expect.stringMatching(/EUR.*only USD/) },
    ]);
    expect(status.counts.error).toBe(1);
    expect(status.counts.pending + status.counts.syncing).toBe(0);
    expect(status.recent_errors[0]).toMatchObject({ invoice_id: bad.id, client_name: 'Delta SA' });
  });

  it('answers 404 for an unknown invoice and 401 without admin credentials', async () => {
    const missing = await env.svc.admin('POST', '/api/quickbooks/invoices/push', {
      invoice_id: '00000000-0000-4000-8000-000000000000',
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    const anon = await env.svc.fetch('/api/quickbooks/invoices/sync-status');
    expect(anon.status).toBe(401);
  });
});
