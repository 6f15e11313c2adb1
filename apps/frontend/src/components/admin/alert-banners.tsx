// Alert banners: what needs attention now, each with what to do about it. Data: the alerts of
// GET /metrics (rules and thresholds: docs/api.md#alerts) and the connection's status.
import type { EntityType, MetricsResponse, StatusResponse, SyncKind } from '@qbo-sync/contract';
import type { ReactNode } from 'react';
import { useStartSync } from '../../hooks/useQuickBooks.ts';
import { count, dateTime, percent } from '../../lib/format.ts';
import { ConnectButton } from './connect-panel.tsx';

/** Starts a sync run from a banner; says it is queued (progress shows in the Sync panel). */
function StartSyncButton(props: {
  realm: string;
  kind: SyncKind;
  entity?: EntityType;
  label: string;
}) {
  const start = useStartSync();
  return (
    <button
      type="button"
      className="btn"
      disabled={start.isPending || start.isSuccess}
      onClick={() =>
        start.mutate({
          kind: props.kind,
          realm_id: props.realm,
          ...(props.entity ? { entity: props.entity } : {}),
        })
      }
    >
      {start.isSuccess
        ? 'Queued: see Sync'
        : start.isError
          ? `${props.label} (failed: retry)`
          : props.label}
    </button>
  );
}

export interface AlertItem {
  id: string;
  tone: 'bad' | 'warn';
  title: string;
  todo: ReactNode;
  action?: ReactNode;
}

export function activeAlerts(
  status: StatusResponse,
  metrics: MetricsResponse | undefined,
  opts: { onShowThrottled: () => void },
): AlertItem[] {
  const items: AlertItem[] = [];
  const realm = status.realm_id;
  const a = metrics?.alerts;
  if (status.needs_reauth || a?.needs_reauth.active) {
    items.push({
      id: 'needs_reauth',
      tone: 'bad',
      title: 'QuickBooks no longer accepts this connection',
      todo: (
        <>
          QuickBooks refused the refresh token
          {status.needs_reauth_since ? ` on ${dateTime(status.needs_reauth_since)}` : ''} (the grant
          was revoked, expired, or the company was disconnected in QuickBooks). Nothing syncs until
          someone with access to the company reconnects it.
        </>
      ),
      action: <ConnectButton realm={realm} label="Reconnect QuickBooks" />,
    });
  }
  if (a?.refresh_token_expiring.active && !status.needs_reauth) {
    items.push({
      id: 'refresh_token_expiring',
      tone: 'warn',
      title: `The QuickBooks grant ends in ${a.refresh_token_expiring.value ?? '?'} days`,
      todo: 'Reconnect the company before then to start a new grant; when it ends, the connection stops working.',
      action: <ConnectButton realm={realm} label="Reconnect now" primary={false} />,
    });
  }
  if (a?.throttle_rate_high.active) {
    items.push({
      id: 'throttle_rate_high',
      tone: 'warn',
      title: `QuickBooks throttled ${percent(a.throttle_rate_high.value ?? 0)} of the calls in 24 h`,
      todo: `Above ${percent(a.throttle_rate_high.threshold)} means this company's requests hit QuickBooks' limits (500 a minute, 10 a second, 10 at once). Look at which calls were refused and spread large jobs out.`,
      action: (
        <button type="button" className="btn" onClick={opts.onShowThrottled}>
          Show throttled calls
        </button>
      ),
    });
  }
  const cp = status.api_quota.coreplus;
  if (cp.alert) {
    items.push({
      id: 'coreplus_allowance',
      tone: cp.background_blocked ? 'bad' : 'warn',
      title: `${percent(cp.used / cp.allowance)} of this month's metered QuickBooks reads used`,
      todo: cp.background_blocked
        ? `The daily reconciliation stopped at ${count(cp.background_cap)} calls so the application keeps its reads; they resume on ${dateTime(cp.cycle_end)}. Past ${count(cp.allowance)} QuickBooks refuses reads until then: raise the Intuit tier or QBO_COREPLUS_MONTHLY_ALLOWANCE if you have one.`
        : `Forecast for the month: ${count(cp.forecast)} of ${count(cp.allowance)}. Past the allowance QuickBooks refuses reads (data out) until the next cycle; writes continue.`,
    });
  }
  if (a?.webhook_lag_high.active) {
    items.push({
      id: 'webhook_lag_high',
      tone: 'warn',
      title: `Webhook events are waiting (${Math.round((a.webhook_lag_high.value ?? 0) / 60)} min)`,
      todo: 'The oldest change notification from QuickBooks has not been processed for over 15 minutes. Check that the service (or its worker) is running and look at the log for failing events.',
    });
  }
  if (a?.daily_job_overdue.active && realm) {
    const hours = a.daily_job_overdue.value;
    items.push({
      id: 'daily_job_overdue',
      tone: 'warn',
      title:
        hours === null
          ? 'The daily reconciliation has never completed for this company'
          : `The daily reconciliation last completed ${Math.round(hours)} h ago`,
      todo: `Without it, changes QuickBooks did not announce by webhook are not picked up (${a.daily_job_overdue.message}). Check that the service or its worker runs — a missed run is caught up at start-up — and look at the Sync panel's last run for its error. Meanwhile, bring the changes in now (CDC), or run the reconciliation now: it reads as much as a full sync, and clears this alert when it completes.`,
      action: (
        <>
          <StartSyncButton realm={realm} kind="incremental" label="Run CDC sync now" />
          <StartSyncButton realm={realm} kind="reconcile" label="Reconcile now" />
        </>
      ),
    });
  }
  if (a?.drift_found.active && realm) {
    const drift = a.drift_found;
    items.push({
      id: 'drift_found',
      tone: 'warn',
      title: `The last reconciliation found ${count(drift.value ?? 0)} ${drift.value === 1 ? 'record' : 'records'} out of step with QuickBooks (${drift.entities.join(', ')})`,
      todo: 'It repaired them, but they had changed in QuickBooks without reaching the mirror: look at the Webhook monitor for failed or rejected events. A full sync of the entity reads it all again now and clears this alert.',
      action: (
        <>
          {drift.entities.map((e) => (
            <StartSyncButton
              key={e}
              realm={realm}
              kind="full"
              entity={e}
              label={`Full sync ${e}`}
            />
          ))}
        </>
      ),
    });
  }
  return items;
}

export function AlertBanners({ items }: { items: AlertItem[] }) {
  if (items.length === 0) return null;
  return (
    <div className="alerts" data-testid="alerts">
      {items.map((it) => (
        <div key={it.id} className={`alert alert-${it.tone}`} role="alert" data-alert={it.id}>
          <div>
            <p className="alert-title">{it.title}</p>
            <p className="alert-todo">{it.todo}</p>
          </div>
          {it.action && <div className="alert-action">{it.action}</div>}
        </div>
      ))}
    </div>
  );
}
