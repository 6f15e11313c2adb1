// Invoice write-back: how many campaign invoices are pending, synced or failed, the latest
// push-all run (its progress while it runs, its summary after), the failures with what to
// do, and the button that pushes every pending invoice. Data: GET /invoices/sync-status;
// action: POST /invoices/push-all.
import { useInvoiceSyncStatus, usePushAll } from '../../hooks/useQuickBooks.ts';
import { count, dateTime } from '../../lib/format.ts';
import { Badge, Empty, ErrorNote, Loading, Panel } from '../ui/panel.tsx';
import { Tile } from './api-health.tsx';

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
        </>
      )}
    </Panel>
  );
}
