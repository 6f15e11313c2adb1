// Sync status: per entity, what the mirror holds, what the last reconciliation proved against
// QBO, when each path (full sync, CDC, webhook) last brought changes, and the running run's
// progress; "Force sync" per entity, "CDC sync" (incremental), "Reconcile" (the daily
// reconciliation, now) and "Full sync all" for the company (full syncs and reconciliations
// ask first: they read everything again). Data: GET /sync/status; actions:
// POST /sync/incremental, POST /sync/reconcile, POST /sync/full.
import {
  syncRunName,
  type EntitySyncStatus,
  type EntityType,
  type RealmSyncStatus,
  type SyncAccepted,
  type SyncRun,
} from '@qbo-sync/contract';
import { useStartSync, useSyncStatus } from '../../hooks/useQuickBooks.ts';
import { count, dateTime, relative, shortDateTime } from '../../lib/format.ts';
import {
  Badge,
  ConfirmButton,
  ConfirmDialog,
  Empty,
  ErrorNote,
  Loading,
  Panel,
  useAsking,
} from '../ui/panel.tsx';

const METERED = "It counts against the API quota and the month's metered reads.";

function When({ iso }: { iso: string | null }) {
  if (!iso) return <>never</>;
  return (
    <>
      <time dateTime={iso} title={dateTime(iso)}>
        {shortDateTime(iso)}
      </time>
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

function EntityStatus({ e, queued }: { e: EntitySyncStatus; queued: boolean }) {
  if (queued && e.status !== 'running') return <Badge tone="neutral">queued</Badge>;
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
      {label}: {syncRunName(run.kind)} of {run.entities.join(', ')} — {run.status}, started{' '}
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

/** An entity's row; its Force sync asks in a row of its own beneath, then posts /sync/full. */
function EntityRow(props: {
  e: EntitySyncStatus;
  /** The company's queued or running run, if any. */
  running: SyncRun | null;
  /** A request to sync this entity is on its way. */
  requesting: boolean;
  onForce: (entity: EntityType) => void;
}) {
  const { e, running } = props;
  const { asking, setAsking, triggerRef } = useAsking();
  const covered = running?.entities.includes(e.entity_type) ?? false;
  const busy = props.requesting || e.status === 'running' || covered;
  return (
    <>
      <tr data-entity={e.entity_type}>
        <th scope="row">{e.entity_type}</th>
        <td className="num">
          {count(e.mirror_count)}
          {e.deleted_count > 0 && <span className="hint">{count(e.deleted_count)} deleted</span>}
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
          <EntityStatus e={e} queued={covered && running?.status === 'queued'} />
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
        <td>
          <button
            ref={triggerRef}
            type="button"
            className="btn btn-small"
            aria-label={`Force sync ${e.entity_type}`}
            aria-expanded={asking}
            disabled={busy}
            onClick={() => setAsking(true)}
          >
            Force sync
          </button>
        </td>
      </tr>
      {asking && (
        <tr className="confirm-row">
          <td colSpan={COLUMNS}>
            <ConfirmDialog
              question={`Run a full sync of ${e.entity_type}?`}
              consequence={`Every ${e.entity_type} is read again from QuickBooks and the mirror is brought level with it. ${METERED}`}
              confirmLabel={`Start full sync of ${e.entity_type}`}
              busy={busy}
              onCancel={() => setAsking(false)}
              onConfirm={() => {
                props.onForce(e.entity_type);
                setAsking(false);
              }}
            />
          </td>
        </tr>
      )}
    </>
  );
}

const COLUMNS = 10;

function queuedWhat(a: SyncAccepted): string {
  return a.entities.length === 1
    ? `The ${syncRunName(a.kind)} of ${a.entities[0]} is queued.`
    : `The ${syncRunName(a.kind)} is queued.`;
}

function EntityTable(props: {
  entities: EntitySyncStatus[];
  running: SyncRun | null;
  requesting: EntityType | null;
  onForce: (entity: EntityType) => void;
}) {
  if (!props.entities.length) {
    return <Empty>Nothing has been synced for this company yet.</Empty>;
  }
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
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {props.entities.map((e) => (
            <EntityRow
              key={e.entity_type}
              e={e}
              running={props.running}
              requesting={props.requesting === e.entity_type}
              onForce={props.onForce}
            />
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
  const requesting = start.isPending ? (start.variables.entity ?? null) : null;
  return (
    <Panel
      title="Sync"
      testId="sync-status"
      summary={
        running ? <Badge tone="neutral">{syncRunName(running.kind)} running</Badge> : undefined
      }
      actions={
        <>
          <button
            type="button"
            className="btn"
            disabled={busy}
            onClick={() => start.mutate({ kind: 'incremental', realm_id: realm })}
          >
            CDC sync
          </button>
          <ConfirmButton
            label="Reconcile"
            question="Reconcile every entity with QuickBooks now?"
            consequence={`What changed is brought in first (CDC); then every object is read from QuickBooks and compared with the mirror, what differs is repaired, and the result shows as "in sync, proved at …" or as drift. It reads as much as a full sync; the daily run does the same at its set time. ${METERED}`}
            confirmLabel="Start reconciliation"
            busy={busy}
            onConfirm={() => start.mutate({ kind: 'reconcile', realm_id: realm })}
          />
          <ConfirmButton
            label="Full sync all"
            question="Run a full sync of every entity?"
            consequence={`Every object is read again from QuickBooks; it takes longer than a CDC sync, which brings only what changed. ${METERED}`}
            confirmLabel="Start full sync"
            busy={busy}
            onConfirm={() => start.mutate({ kind: 'full', realm_id: realm })}
          />
        </>
      }
    >
      <div aria-live="polite" className="results">
        {/* Until the run it names has finished: then the last-run line says how it ended. */}
        {start.data && r?.last_run?.run_id !== start.data.run_id && (
          <p className="result ok">
            {start.data.deduplicated
              ? 'A sync covering this was already under way; following it.'
              : queuedWhat(start.data)}
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
        <EntityTable
          entities={r?.entities ?? []}
          running={running}
          requesting={requesting}
          onForce={(entity) => start.mutate({ kind: 'full', realm_id: realm, entity })}
        />
      )}
    </Panel>
  );
}
