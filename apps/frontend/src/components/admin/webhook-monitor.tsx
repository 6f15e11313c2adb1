// Webhook monitor: Intuit's change notifications as the service stored them, newest first —
// which realm and entities each named, whether its signature held, what became of it and how
// long it took (received -> applied), with the reason when it was skipped, failed or rejected.
// Filters of GET /webhook-events (status, entity) and keyset pages ("Load older").
import { EntityType, WebhookEventStatus, type WebhookEvent } from '@qbo-sync/contract';
import { useId, useState } from 'react';
import {
  useWebhookEvents,
  type Realm,
  type WebhookEventFilters,
} from '../../hooks/useQuickBooks.ts';
import { dateTime, relative } from '../../lib/format.ts';
import { Badge, PagedTable, Panel } from '../ui/panel.tsx';

const STATUS_LABELS: Record<WebhookEventStatus, string> = {
  pending: 'waiting',
  processing: 'processing',
  processed: 'applied',
  skipped: 'skipped',
  failed: 'failed',
  rejected: 'rejected',
};

const STATUS_TONES: Record<WebhookEventStatus, 'ok' | 'warn' | 'bad' | 'neutral'> = {
  pending: 'neutral',
  processing: 'neutral',
  processed: 'ok',
  skipped: 'neutral',
  failed: 'bad',
  rejected: 'bad',
};

/** A lag as a person reads it: 850 ms, 4.2 s, 3 min, 2 h. */
export function lagText(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function Lag({ e }: { e: WebhookEvent }) {
  if (e.lag_ms !== null) return <>{lagText(e.lag_ms)}</>;
  if (e.status === 'pending' || e.status === 'processing') {
    return <span className="muted">waiting since {relative(e.received_at)}</span>;
  }
  return <span className="muted">—</span>;
}

function Row({ e }: { e: WebhookEvent }) {
  // What went wrong, in the order an operator acts on it; `reason` says what was applied.
  const why = e.status === 'processed' ? null : (e.reason ?? e.last_error);
  return (
    <tr data-status={e.status}>
      <td className="nowrap">{dateTime(e.received_at)}</td>
      <td>
        {e.realm_ids.length ? (
          <code>{e.realm_ids.join(', ')}</code>
        ) : (
          <span className="muted">none</span>
        )}
      </td>
      <td>{e.entities.join(', ') || '—'}</td>
      <td>{e.operations.join(', ') || '—'}</td>
      <td>
        {e.signature_valid ? <Badge tone="ok">valid</Badge> : <Badge tone="bad">invalid</Badge>}
      </td>
      <td>
        <Badge tone={STATUS_TONES[e.status]}>{STATUS_LABELS[e.status]}</Badge>
        {e.status === 'processed' && (
          <span className="hint">
            {e.objects_applied} {e.objects_applied === 1 ? 'object' : 'objects'}
          </span>
        )}
        {e.deliveries > 1 && <span className="hint">{e.deliveries} deliveries</span>}
        {e.attempts > 1 && <span className="hint">{e.attempts} attempts</span>}
      </td>
      <td className="num">
        <Lag e={e} />
      </td>
      <td>
        {why ?? ''}
        {e.next_attempt_at && e.status !== 'processed' && (
          <span className="hint">next try {dateTime(e.next_attempt_at)}</span>
        )}
      </td>
    </tr>
  );
}

function Filters({
  value,
  onApply,
}: {
  value: WebhookEventFilters;
  onApply: (f: WebhookEventFilters) => void;
}) {
  const [status, setStatus] = useState(value.status ?? '');
  const [entity, setEntity] = useState(value.entity ?? '');
  const listId = useId();
  return (
    <form
      className="filters"
      aria-label="Filter webhook events"
      onSubmit={(ev) => {
        ev.preventDefault();
        onApply({
          status: (status || undefined) as WebhookEventStatus | undefined,
          entity: entity.trim() || undefined,
        });
      }}
    >
      <label>
        Status
        <select value={status} onChange={(ev) => setStatus(ev.target.value)}>
          <option value="">any status</option>
          {WebhookEventStatus.options.map((s) => (
            <option key={s} value={s}>
              {STATUS_LABELS[s]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Entity
        <input
          value={entity}
          onChange={(ev) => setEntity(ev.target.value)}
          list={listId}
          placeholder="Customer, Invoice, Bill…"
        />
        <datalist id={listId}>
          {EntityType.options.map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
      </label>
      <div className="filter-buttons">
        <button type="submit" className="btn btn-primary">
          Apply
        </button>
      </div>
    </form>
  );
}

export function WebhookMonitor({ realm }: { realm: Realm }) {
  const [open, setOpen] = useState(false);
  const [filters, setFilters] = useState<WebhookEventFilters>({});
  const events = useWebhookEvents(realm, filters, { enabled: open });
  const rows = events.data?.pages.flatMap((p) => p.events) ?? [];
  const filtered = Object.values(filters).some((v) => v !== undefined);
  return (
    <Panel
      title="Webhook monitor"
      testId="webhook-monitor"
      expandable
      open={open}
      onOpenChange={setOpen}
      summary={<span className="muted">change notifications from QuickBooks, newest first</span>}
      actions={
        <button
          type="button"
          className="btn btn-small"
          disabled={events.isFetching}
          onClick={() => void events.refetch()}
        >
          {events.isFetching && !events.isPending ? 'Refreshing…' : 'Refresh'}
        </button>
      }
    >
      <Filters value={filters} onApply={setFilters} />
      <PagedTable
        query={events}
        rows={rows}
        empty={
          filtered
            ? 'No webhook event matches these filters.'
            : 'No webhook has arrived yet. QuickBooks sends one within seconds of a change when the app’s webhook URL points at this service (docs/webhooks.md).'
        }
        head={
          <>
            <th scope="col">Received</th>
            <th scope="col">Realm</th>
            <th scope="col">Entities</th>
            <th scope="col">Operations</th>
            <th scope="col">Signature</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Lag
            </th>
            <th scope="col">Reason</th>
          </>
        }
        row={(e) => <Row key={e.id} e={e} />}
      />
    </Panel>
  );
}
