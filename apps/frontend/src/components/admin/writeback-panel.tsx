// Invoice write-back: how many campaign invoices are pending, synced or failed, the latest
// push-all run (its progress while it runs, its summary after), the failures with what to
// do, the button that pushes every pending invoice, and the newest invoices with what QBO
// holds of each (status, number, payment) and a Push button each. Data: GET
// /invoices/sync-status, GET /campaign-invoices; actions: POST /invoices/push-all,
// POST /invoices/push.
import type { CampaignInvoice, PushInvoiceResponse } from '@qbo-sync/contract';
import {
  useCampaignInvoices,
  useInvoiceSyncStatus,
  usePushAll,
  usePushInvoice,
} from '../../hooks/useQuickBooks.ts';
import { count, dateTime } from '../../lib/format.ts';
import { Badge, Empty, ErrorNote, Loading, Panel } from '../ui/panel.tsx';
import { Tile } from './api-health.tsx';

const SYNC_TONES = { pending: 'neutral', syncing: 'neutral', synced: 'ok', error: 'bad' } as const;
const PAID_LABELS = { unpaid: 'unpaid', partially_paid: 'partly paid', paid: 'paid' } as const;

function outcomeText(r: PushInvoiceResponse): string {
  const doc = r.invoice.qbo.doc_number ? ` as #${r.invoice.qbo.doc_number}` : '';
  if (r.outcome === 'created') return `Created in QuickBooks${doc}.`;
  if (r.outcome === 'updated') return `Updated in QuickBooks${doc}.`;
  if (r.outcome === 'unchanged') return 'QuickBooks already holds this version.';
  return r.message ?? 'QuickBooks refused it.';
}

function InvoiceRow({ inv, realm }: { inv: CampaignInvoice; realm: string }) {
  const push = usePushInvoice();
  const q = inv.qbo;
  return (
    <tr data-invoice={inv.id}>
      <th scope="row">{inv.client_name}</th>
      <td>{inv.invoice_number ?? '—'}</td>
      <td className="num nowrap">
        {inv.total} {inv.currency}
      </td>
      <td data-testid="qbo-status">
        <Badge tone={SYNC_TONES[q.sync_status]}>{q.sync_status}</Badge>
        {q.doc_number && <span className="hint">#{q.doc_number}</span>}
        {q.voided && <span className="hint">voided</span>}
        {q.deleted && <span className="hint">deleted in QuickBooks</span>}
        {q.last_synced_at && <span className="hint">{dateTime(q.last_synced_at)}</span>}
      </td>
      <td>
        {q.paid_status ? PAID_LABELS[q.paid_status] : '—'}
        {q.balance !== null && q.paid_status !== 'paid' && (
          <span className="hint">balance {q.balance}</span>
        )}
      </td>
      <td>{q.error_message ?? ''}</td>
      <td>
        <button
          type="button"
          className="btn btn-small"
          aria-label={`Push the invoice for ${inv.client_name}`}
          disabled={push.isPending || q.sync_status === 'syncing'}
          onClick={() => push.mutate({ realm, invoiceId: inv.id })}
        >
          {push.isPending ? 'Pushing…' : 'Push'}
        </button>
        <span className="hint" aria-live="polite">
          {push.data ? outcomeText(push.data) : push.error ? push.error.message : ''}
        </span>
      </td>
    </tr>
  );
}

function InvoiceTable({ realm, polling }: { realm: string; polling: boolean }) {
  const list = useCampaignInvoices({ polling });
  if (list.isPending) return <Loading label="Loading the invoices…" />;
  if (list.isError) return <ErrorNote error={list.error} onRetry={() => void list.refetch()} />;
  if (list.data.invoices.length === 0) {
    return (
      <Empty>
        No campaign invoice yet: the application adds them to campaign_invoices (or POST
        /campaign-invoices).
      </Empty>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table" data-testid="campaign-invoices">
        <caption className="muted">The newest invoices and what QuickBooks holds of each</caption>
        <thead>
          <tr>
            <th scope="col">Client</th>
            <th scope="col">Number</th>
            <th scope="col" className="num">
              Total
            </th>
            <th scope="col">QuickBooks</th>
            <th scope="col">Payment</th>
            <th scope="col">Error</th>
            <th scope="col">Push</th>
          </tr>
        </thead>
        <tbody>
          {list.data.invoices.map((inv) => (
            <InvoiceRow key={inv.id} inv={inv} realm={realm} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function WritebackPanel({ realm }: { realm: string }) {
  const status = useInvoiceSyncStatus(realm);
  const pushAll = usePushAll();
  const s = status.data;
  const run = s?.latest_run ?? null;
  const busy = run?.status === 'queued' || run?.status === 'running';
  return (
    <Panel
      title="Invoice write-back"
      testId="writeback"
      summary={
        s ? (
          <span className="muted">
            {count(s.counts.pending)} pending · {count(s.counts.synced)} synced ·{' '}
            {count(s.counts.error)} failed
          </span>
        ) : null
      }
      actions={
        <button
          type="button"
          className="btn"
          disabled={busy || pushAll.isPending}
          onClick={() => pushAll.mutate(realm)}
        >
          {busy ? 'Pushing…' : 'Push all pending'}
        </button>
      }
    >
      {status.isPending && <Loading />}
      {status.isError && <ErrorNote error={status.error} onRetry={() => void status.refetch()} />}
      {pushAll.isError && <ErrorNote error={pushAll.error} />}
      {s && (
        <>
          <div className="tiles">
            <Tile label="pending" value={count(s.counts.pending)} />
            <Tile label="syncing" value={count(s.counts.syncing)} />
            <Tile label="synced" value={count(s.counts.synced)} />
            <Tile
              label="failed"
              value={count(s.counts.error)}
              {...(s.counts.error > 0 ? { tone: 'bad' as const } : {})}
            />
          </div>
          {run ? (
            <p data-testid="writeback-run">
              Last push-all{' '}
              <Badge tone={run.status === 'failed' ? 'bad' : busy ? 'neutral' : 'ok'}>
                {run.status}
              </Badge>{' '}
              {count(run.pushed + run.unchanged + run.failed)} of {count(run.total)} done:{' '}
              {count(run.pushed)} pushed, {count(run.unchanged)} unchanged, {count(run.failed)}{' '}
              failed
              {run.finished_at ? ` · finished ${dateTime(run.finished_at)}` : ''}
              {run.error_message ? ` · ${run.error_message}` : ''}
            </p>
          ) : (
            <Empty>No push-all run yet.</Empty>
          )}
          {s.recent_errors.length > 0 && (
            <ul className="writeback-errors" aria-label="Invoices that failed">
              {s.recent_errors.map((e) => (
                <li key={e.invoice_id}>
                  <strong>{e.client_name}</strong>: {e.message}
                </li>
              ))}
            </ul>
          )}
          <InvoiceTable realm={realm} polling={busy || s.counts.syncing > 0} />
        </>
      )}
    </Panel>
  );
}
