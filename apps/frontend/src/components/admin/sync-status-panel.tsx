// Sync status: per entity, what the mirror holds, what the last reconciliation proved against
// QBO, when each path (full sync, CDC, webhook) last brought changes, and the running run's
// progress; "Sync now" (incremental) and "Full sync" (asks first). Data: GET /sync/status;
// actions: POST /sync/incremental, POST /sync/full.
import type { EntitySyncStatus, RealmSyncStatus, SyncRun } from '@qbo-sync/contract';
import { useStartSync, useSyncStatus } from '../../hooks/useQuickBooks.ts';
import { count, dateTime, relative } from '../../lib/format.ts';
import { Badge, ConfirmButton, Empty, ErrorNote, Loading, Panel } from '../ui/panel.tsx';

function When({ iso }: { iso: string | null }) {
  if (!iso) return <>never</>;
  return (
    <>
      {dateTime(iso)}
      <span className="hint">{relative(iso)}</span>
    </>
  );
}

function Drift({ e }: { e: EntitySyncStatus }) {
  if (e.drift === null || e.last_reconciled_at === null) {
    return <span className="muted">not yet reconciled</span>;
  }
  if (e.drift === 0) {
    return <Badge tone="ok">in sync, proved at {dateTime(e.last_reconciled_at)}</Badge>;
  }
  return (
    <>
      <Badge tone="warn">
        {count(e.drift)} {e.drift === 1 ? 'record differs' : 'records differ'}
      </Badge>
      <span className="hint">
        found {dateTime(e.last_reconciled_at)}
        {e.repaired !== null && `, ${count(e.repaired)} repaired`}
      </span>
    </>
  );
}

function EntityStatus({ e }: { e: EntitySyncStatus }) {
  if (e.status === 'running') {
    const done = e.progress?.done ?? 0;
    const total = e.progress?.total ?? null;
    const label = `${e.entity_type} sync progress`;
    return (
      <>
        <Badge tone="neutral">running</Badge>
        <progress
          className="sync-progress"
          max={total ?? undefined}
          value={total === null ? undefined : done}
          aria-label={label}
          aria-valuetext={
            total === null ? `${count(done)} done` : `${count(done)} of ${count(total)}`
          }
        />
        <span className="hint">
          {count(done)}
          {total !== null && ` / ${count(total)}`}
        </span>
      </>
    );
  }
  if (e.status === 'success') return <Badge tone="ok">synced</Badge>;
  if (e.status === 'error') return <Badge tone="bad">failed</Badge>;
  if (e.status === 'idle') return <Badge tone="neutral">idle</Badge>;
  return <Badge tone="neutral">never synced</Badge>;
}

function RunLine({ label, run }: { label: string; run: SyncRun }) {
  return (
    <p className={`result ${run.status === 'error' ? 'bad' : 'ok'}`} data-testid="sync-run">
      {label}: {run.kind} sync of {run.entities.join(', ')} — {run.status}, started{' '}
      {dateTime(run.started_at)}
      {run.finished_at && `, finished ${dateTime(run.finished_at)}`}
      {run.error && (
        <>
          {' '}
          ({run.error}
          {run.error_code && <code> {run.error_code}</code>})
        </>
      )}
    </p>
  );
}

function EntityTable({ entities }: { entities: EntitySyncStatus[] }) {
  if (!entities.length) return <Empty>Nothing has been synced for this company yet.</Empty>;
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="muted">
          Per entity: the mirror, QuickBooks, and the last changes
        </caption>
        <thead>
          <tr>
            <th scope="col">Entity</th>
            <th scope="col" className="num">
              Mirror
            </th>
            <th scope="col" className="num">
              QuickBooks
            </th>
            <th scope="col">Drift</th>
            <th scope="col">Last full sync</th>
            <th scope="col">Last CDC</th>
            <th scope="col">Last webhook</th>
            <th scope="col">Status</th>
            <th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {entities.map((e) => (
            <tr key={e.entity_type} data-entity={e.entity_type}>
              <th scope="row">{e.entity_type}</th>
              <td className="num">
                {count(e.mirror_count)}
                {e.deleted_count > 0 && (
                  <span className="hint">{count(e.deleted_count)} deleted</span>
                )}
              </td>
              <td className="num">{e.qbo_count === null ? '—' : count(e.qbo_count)}</td>
              <td>
                <Drift e={e} />
              </td>
              <td>
                <When iso={e.last_full_sync_at} />
              </td>
              <td>
                <When iso={e.last_cdc_at} />
              </td>
              <td>
                <When iso={e.last_webhook_at} />
              </td>
              <td>
                <EntityStatus e={e} />
              </td>
              <td>
                {e.last_error ? (
                  <>
                    {e.last_error}
                    {e.last_error_code && (
                      <>
                        {' '}
                        <code>{e.last_error_code}</code>
                      </>
                    )}
                  </>
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function SyncStatusPanel({ realm }: { realm: string }) {
  const status = useSyncStatus(realm);
  const start = useStartSync();
  const r: RealmSyncStatus | undefined = status.data?.realms.find((x) => x.realm_id === realm);
  const running = r?.running ?? null;
  const busy = start.isPending || running !== null;
  return (
    <Panel
      title="Sync"
      testId="sync-status"
      summary={running ? <Badge tone="neutral">{running.kind} sync running</Badge> : undefined}
      actions={
        <>
          <button
            type="button"
            className="btn"
            disabled={busy}
            onClick={() => start.mutate({ kind: 'incremental', realm_id: realm })}
          >
            Sync now
          </button>
          <ConfirmButton
            label="Full sync"
            question="Run a full sync of every entity?"
            consequence="Every object is read again from QuickBooks. It takes longer than Sync now and counts against the API quota and the month's metered reads."
            confirmLabel="Start full sync"
            busy={busy}
            onConfirm={() => start.mutate({ kind: 'full', realm_id: realm })}
          />
        </>
      }
    >
      <div aria-live="polite" className="results">
        {start.data && (
          <p className="result ok">
            {start.data.deduplicated
              ? 'A sync covering this was already under way; following it.'
              : `The ${start.data.kind} sync is queued.`}
          </p>
        )}
        {start.error && <ErrorNote error={start.error} />}
        {running && <RunLine label="Running" run={running} />}
        {!running && r?.last_run && <RunLine label="Last run" run={r.last_run} />}
      </div>
      {status.isPending ? (
        <Loading label="Loading the sync status…" />
      ) : status.isError ? (
        <ErrorNote error={status.error} onRetry={() => void status.refetch()} />
      ) : (
        <EntityTable entities={r?.entities ?? []} />
      )}
    </Panel>
  );
}
