// Request log viewer: every HTTP attempt to QBO and Intuit's OAuth server, newest first, with
// the filters of GET /request-log and keyset pages ("Load older"). intuit_tid is one click to
// copy: it is what Intuit support asks for.
import { RequestLogKind, type RequestLogEntry } from '@qbo-sync/contract';
import { useState } from 'react';
import { useRequestLog, type Realm, type RequestLogFilters } from '../../hooks/useQuickBooks.ts';
import { dateTime } from '../../lib/format.ts';
import { Badge, PagedTable, Panel } from '../ui/panel.tsx';

const STATUS_CHOICES: [string, string][] = [
  ['', 'any status'],
  ['error', 'errors (≥ 400 or none)'],
  ['429', 'throttled (429)'],
  ['5xx', '5xx'],
  ['4xx', '4xx'],
  ['network', 'no answer'],
];
const KIND_LABELS: Record<RequestLogKind, string> = {
  accounting: 'Accounting API',
  oauth_token_exchange: 'OAuth: code exchange',
  oauth_token_refresh: 'OAuth: refresh',
  oauth_revoke: 'OAuth: revoke',
};

function CopyTid({ tid }: { tid: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="tid"
      title="Copy intuit_tid for Intuit support"
      aria-label={`Copy intuit_tid ${tid}`}
      onClick={() => {
        void navigator.clipboard?.writeText(tid).then(
          () => setCopied(true),
          () => setCopied(false),
        );
        setTimeout(() => setCopied(false), 1500);
      }}
    >
      <code>{tid}</code>
      <span className="copy-state" aria-live="polite">
        {copied ? 'copied' : 'copy'}
      </span>
    </button>
  );
}

function statusTone(s: number | null): 'ok' | 'warn' | 'bad' {
  if (s === null || s >= 500) return 'bad';
  if (s === 429 || s >= 400) return 'warn';
  return 'ok';
}

function Row({ e }: { e: RequestLogEntry }) {
  return (
    <tr>
      <td className="nowrap">{dateTime(e.created_at)}</td>
      <td>{KIND_LABELS[e.kind]}</td>
      <td>
        <code>{e.method}</code>
      </td>
      <td className="path" title={e.path}>
        {e.path}
      </td>
      <td>
        <Badge tone={statusTone(e.status)}>{e.status ?? 'none'}</Badge>
        {e.attempt > 1 && <span className="hint">try {e.attempt}</span>}
      </td>
      <td className="num">{e.duration_ms} ms</td>
      <td>
        {e.qbo_error_code ?? ''}
        {e.error_message && <span className="hint">{e.error_message}</span>}
      </td>
      <td>{e.intuit_tid ? <CopyTid tid={e.intuit_tid} /> : '—'}</td>
    </tr>
  );
}

/** A datetime-local value (the reader's zone) as ISO 8601, or undefined. */
function isoOf(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function Filters({
  value,
  onApply,
}: {
  value: RequestLogFilters;
  onApply: (f: RequestLogFilters) => void;
}) {
  const [draft, setDraft] = useState({
    status: value.status ?? '',
    method: value.method ?? '',
    kind: value.kind ?? '',
    path: value.path ?? '',
    error_code: value.error_code ?? '',
    from: '',
    to: '',
  });
  const set = (k: keyof typeof draft) => (e: { target: { value: string } }) =>
    setDraft({ ...draft, [k]: e.target.value });
  return (
    <form
      className="filters"
      aria-label="Filter the request log"
      onSubmit={(e) => {
        e.preventDefault();
        onApply({
          status: draft.status || undefined,
          method: draft.method || undefined,
          kind: (draft.kind || undefined) as RequestLogKind | undefined,
          path: draft.path.trim() || undefined,
          error_code: draft.error_code.trim() || undefined,
          from: isoOf(draft.from),
          to: isoOf(draft.to),
        });
      }}
    >
      <label>
        Status
        <select value={draft.status} onChange={set('status')}>
          {STATUS_CHOICES.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      </label>
      <label>
        Method
        <select value={draft.method} onChange={set('method')}>
          <option value="">any</option>
          <option>GET</option>
          <option>POST</option>
        </select>
      </label>
      <label>
        Kind
        <select value={draft.kind} onChange={set('kind')}>
          <option value="">any</option>
          {RequestLogKind.options.map((k) => (
            <option key={k} value={k}>
              {KIND_LABELS[k]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Path starts with
        <input value={draft.path} onChange={set('path')} placeholder="/v3/company/…/query" />
      </label>
      <label>
        Error code
        <input
          value={draft.error_code}
          onChange={set('error_code')}
          placeholder="3001, invalid_grant"
        />
      </label>
      <label>
        From
        <input type="datetime-local" value={draft.from} onChange={set('from')} />
      </label>
      <label>
        To
        <input type="datetime-local" value={draft.to} onChange={set('to')} />
      </label>
      <div className="filter-buttons">
        <button type="submit" className="btn btn-primary">
          Apply
        </button>
      </div>
    </form>
  );
}

export function RequestLogViewer({
  realm,
  filters,
  onFiltersChange,
  open,
  onOpenChange,
}: {
  realm: Realm;
  filters: RequestLogFilters;
  onFiltersChange: (f: RequestLogFilters) => void;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const log = useRequestLog(realm, filters, { enabled: open });
  const rows = log.data?.pages.flatMap((p) => p.logs) ?? [];
  const filtered = Object.values(filters).some((v) => v !== undefined);
  return (
    <Panel
      title="Request log"
      testId="request-log"
      expandable
      open={open}
      onOpenChange={onOpenChange}
      summary={<span className="muted">every call to QuickBooks, newest first</span>}
    >
      {/* Re-mounted when filters change from outside (an alert's "Show throttled calls"). */}
      <Filters key={JSON.stringify(filters)} value={filters} onApply={onFiltersChange} />
      <PagedTable
        query={log}
        rows={rows}
        empty={filtered ? 'No request matches these filters.' : 'No request has been made yet.'}
        head={
          <>
            <th scope="col">Time</th>
            <th scope="col">Kind</th>
            <th scope="col">Method</th>
            <th scope="col">Path</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Duration
            </th>
            <th scope="col">Error</th>
            <th scope="col">intuit_tid</th>
          </>
        }
        row={(e) => <Row key={e.id} e={e} />}
      />
    </Panel>
  );
}
