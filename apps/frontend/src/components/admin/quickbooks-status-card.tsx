// The QuickBooks card: everything about one company's connection on one page. It decides
// which state the page is in — loading, signed out, never connected or disconnected,
// connected (possibly needing a reconnect) — and composes the panels beside this file.
import { useState } from 'react';
import { isUnauthorized } from '../../api/client.ts';
import {
  useMetrics,
  useStatus,
  type Realm,
  type RequestLogFilters,
} from '../../hooks/useQuickBooks.ts';
import { ErrorNote, Loading } from '../ui/panel.tsx';
import { activeAlerts, AlertBanners } from './alert-banners.tsx';
import { ApiHealth } from './api-health.tsx';
import { CallbackNotice, type CallbackResult } from './callback-notice.tsx';
import { CompanyPicker } from './company-picker.tsx';
import { ConnectionHealth } from './connection-health.tsx';
import { ConnectPanel } from './connect-panel.tsx';
import { RequestLogViewer } from './request-log-viewer.tsx';
import { WritebackPanel } from './writeback-panel.tsx';
import { SignInForm } from './sign-in.tsx';
import { SyncStatusPanel } from './sync-status-panel.tsx';
import { WebhookMonitor } from './webhook-monitor.tsx';

export function QuickBooksStatusCard({
  initialRealm = null,
  callback = null,
}: {
  initialRealm?: Realm;
  callback?: CallbackResult;
}) {
  const [realm, setRealm] = useState<Realm>(initialRealm);
  const [logFilters, setLogFilters] = useState<RequestLogFilters>({});
  const [logOpen, setLogOpen] = useState(false);
  const status = useStatus(realm);
  const s = status.data;
  const connected = !!s && s.status !== null && s.status !== 'disconnected';
  const metrics = useMetrics(realm, { enabled: connected });

  if (status.isPending) return <Loading label="Loading the connection…" />;
  if (status.isError) {
    if (isUnauthorized(status.error)) return <SignInForm />;
    return <ErrorNote error={status.error} onRetry={() => void status.refetch()} />;
  }
  const st = status.data;
  const alerts = connected
    ? activeAlerts(st, metrics.data, {
        onShowThrottled: () => {
          setLogFilters({ status: '429' });
          setLogOpen(true);
        },
      })
    : [];

  return (
    <div
      className="card"
      data-testid="quickbooks-card"
      data-state={connected ? st.status : 'disconnected'}
    >
      <div className="card-top">
        <CompanyPicker
          connections={st.connections}
          value={st.realm_id}
          onChange={(r) => {
            setRealm(r);
            setLogFilters({});
          }}
        />
      </div>
      <CallbackNotice
        result={callback}
        companyName={callback?.kind === 'connected' ? st.company_name : null}
      />
      {!connected ? (
        <ConnectPanel status={st.connections.length ? st : null} />
      ) : (
        <>
          <AlertBanners items={alerts} />
          <ConnectionHealth status={st} />
          <SyncStatusPanel realm={st.realm_id!} />
          <ApiHealth realm={st.realm_id} />
          <WritebackPanel realm={st.realm_id!} />
        </>
      )}
      {/* Both stay reachable after a disconnect: what arrived and what was called is kept. */}
      {st.connections.length > 0 && <WebhookMonitor realm={st.realm_id} />}
      {st.connections.length > 0 && (
        <RequestLogViewer
          realm={st.realm_id}
          filters={logFilters}
          onFiltersChange={setLogFilters}
          open={logOpen}
          onOpenChange={setLogOpen}
        />
      )}
    </div>
  );
}
