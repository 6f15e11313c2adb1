// Connection health grid: who is connected, how long the tokens last, how much of QBO's quota
// is used, and the three things an operator does with a connection (test, refresh,
// disconnect). Data: GET /status (passed in); actions: /test-connection, /refresh,
// /disconnect.
import type { StatusResponse } from '@qbo-sync/contract';
import type { ReactNode } from 'react';
import { ApiError } from '../../api/client.ts';
import { useDisconnect, useRefreshToken, useTestConnection } from '../../hooks/useQuickBooks.ts';
import { count, dateTime, relative } from '../../lib/format.ts';
import { Badge, ConfirmButton, ErrorNote, Panel } from '../ui/panel.tsx';

function Field({
  label,
  children,
  hint,
}: {
  label: string;
  children: ReactNode;
  hint?: ReactNode;
}) {
  return (
    <div className="field">
      <dt>{label}</dt>
      <dd>
        {children}
        {hint && <span className="hint">{hint}</span>}
      </dd>
    </div>
  );
}

function Expiry({ iso }: { iso: string | null }) {
  return (
    <>
      {dateTime(iso)}
      <span className="hint">{relative(iso)}</span>
    </>
  );
}

export function statusBadge(status: StatusResponse['status']) {
  if (status === 'connected') return <Badge tone="ok">Connected</Badge>;
  if (status === 'needs_reauth') return <Badge tone="bad">Needs reconnect</Badge>;
  if (status === 'disconnected') return <Badge tone="neutral">Disconnected</Badge>;
  return <Badge tone="neutral">Not connected</Badge>;
}

export function ConnectionHealth({ status }: { status: StatusResponse }) {
  const realm = status.realm_id!;
  const test = useTestConnection();
  const refresh = useRefreshToken();
  const disconnect = useDisconnect();
  const q = status.api_quota;
  const minuteShare = q.last_minute.limit ? q.last_minute.used / q.last_minute.limit : 0;
  const t = status.tokens;
  const probe = test.data;
  return (
    <Panel
      title="Connection"
      testId="connection-health"
      summary={statusBadge(status.status)}
      actions={
        <>
          <button
            type="button"
            className="btn"
            disabled={test.isPending || !status.connected}
            onClick={() => test.mutate(realm)}
          >
            {test.isPending ? 'Testing…' : 'Test connection'}
          </button>
          <button
            type="button"
            className="btn"
            disabled={refresh.isPending || !status.connected}
            onClick={() => refresh.mutate(realm)}
          >
            {refresh.isPending ? 'Refreshing…' : 'Refresh token'}
          </button>
          <ConfirmButton
            label="Disconnect"
            question={`Disconnect ${status.company_name ?? realm}?`}
            consequence="The grant is revoked at QuickBooks and the tokens are deleted. The mirrored records and the request log are kept; reconnecting takes a new consent."
            confirmLabel="Disconnect"
            busy={disconnect.isPending}
            onConfirm={() => disconnect.mutate(realm)}
          />
        </>
      }
    >
      <div aria-live="polite" className="results">
        {probe && probe.ok && (
          <p className="result ok" data-testid="test-result">
            Connection works: {probe.company_name ?? 'QuickBooks'} answered in{' '}
            <strong>{probe.latency_ms} ms</strong>.
          </p>
        )}
        {probe && !probe.ok && (
          <p className="result bad" data-testid="test-result">
            The test failed after {probe.latency_ms} ms: {probe.error?.message ?? 'no answer'}
          </p>
        )}
        {test.error && <ErrorNote error={test.error} />}
        {refresh.data && (
          <p className="result ok">
            {refresh.data.result === 'refreshed'
              ? 'Tokens refreshed.'
              : 'The access token was still fresh; nothing to do.'}
          </p>
        )}
        {refresh.error && (
          <ErrorNote
            error={
              refresh.error instanceof ApiError && refresh.error.code === 'needs_reauth'
                ? new ApiError(
                    409,
                    'needs_reauth',
                    'QuickBooks refused the refresh token. Reconnect the company (the banner above has the button).',
                  )
                : refresh.error
            }
          />
        )}
        {disconnect.error && <ErrorNote error={disconnect.error} />}
      </div>
      <dl className="grid">
        <Field label="Company">{status.company_name ?? '—'}</Field>
        <Field label="Realm ID">
          <code>{realm}</code>
        </Field>
        <Field label="Environment">
          {status.environment === 'production' ? 'Production' : 'Sandbox'}
        </Field>
        <Field label="Connected since">{dateTime(status.connected_at)}</Field>
        <Field label="Access token expires">
          <Expiry iso={t?.access_token_expires_at ?? null} />
        </Field>
        <Field label="Refresh token expires">
          <Expiry iso={t?.refresh_token_expires_at ?? null} />
          <span className="hint">rolling: each refresh extends it</span>
        </Field>
        <Field label="Grant ends">
          <Expiry iso={t?.refresh_token_hard_expires_at ?? null} />
          <span className="hint">fixed at consent</span>
        </Field>
        <Field label="Last refresh">
          {status.last_refresh.at ? (
            <>
              {dateTime(status.last_refresh.at)}{' '}
              {status.last_refresh.status === 'success' ? (
                <Badge tone="ok">ok</Badge>
              ) : (
                <Badge tone="bad">{status.last_refresh.status}</Badge>
              )}
              {status.last_refresh.error && (
                <span className="hint">{status.last_refresh.error}</span>
              )}
            </>
          ) : (
            'never (the first access token is still in use)'
          )}
        </Field>
        <Field label="API calls, last minute">
          <span>
            {count(q.last_minute.used)} / {count(q.last_minute.limit)}
          </span>
          <meter
            className="quota"
            min={0}
            max={q.last_minute.limit}
            low={q.last_minute.limit * 0.6}
            high={q.last_minute.limit * 0.85}
            optimum={0}
            value={q.last_minute.used}
            aria-label={`${Math.round(minuteShare * 100)} % of the per-minute quota`}
          />
        </Field>
        <Field
          label="API calls, 24 h"
          hint={`limits: ${q.per_second_limit}/s, ${q.max_in_flight} at once`}
        >
          {count(q.last_24h.used)}
        </Field>
        <Field
          label="Metered reads this month"
          hint={
            q.coreplus.metered
              ? `Intuit's CorePlus allowance; forecast ${count(q.coreplus.forecast)}`
              : 'a sandbox: counted, not billed'
          }
        >
          {count(q.coreplus.used)} / {count(q.coreplus.allowance)}
        </Field>
      </dl>
    </Panel>
  );
}
