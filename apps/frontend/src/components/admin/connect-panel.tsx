// Disconnected: the one thing to do is connect. The button asks the API for an auth URL with
// this browser's session (so the OAuth state is bound to it) and goes there.
import type { StatusResponse } from '@qbo-sync/contract';
import { useConnect, type Realm } from '../../hooks/useQuickBooks.ts';
import { dateTime } from '../../lib/format.ts';
import { ErrorNote, Panel } from '../ui/panel.tsx';

export function ConnectButton({
  realm = null,
  label = 'Connect QuickBooks',
  primary = true,
}: {
  realm?: Realm;
  label?: string;
  primary?: boolean;
}) {
  const connect = useConnect();
  return (
    <>
      <button
        type="button"
        className={`btn ${primary ? 'btn-primary' : ''}`}
        disabled={connect.isPending || connect.isSuccess}
        onClick={() => connect.mutate(realm)}
      >
        {connect.isPending || connect.isSuccess ? 'Opening QuickBooks…' : label}
      </button>
      {connect.error && <ErrorNote error={connect.error} />}
    </>
  );
}

export function ConnectPanel({ status }: { status: StatusResponse | null }) {
  const was = status?.status === 'disconnected' ? status : null;
  return (
    <Panel title="Connect QuickBooks" testId="connect-panel">
      <div className="connect">
        {was ? (
          <p>
            <strong>{was.company_name ?? was.realm_id}</strong> was disconnected on{' '}
            {dateTime(was.disconnected_at)}. Its mirrored records and request log are kept; connect
            it again to resume.
          </p>
        ) : (
          <p>
            No QuickBooks company is connected yet. Connecting opens QuickBooks’ consent page, where
            you choose the company and allow access; you come back here when it is done.
          </p>
        )}
        <ConnectButton
          realm={was?.realm_id ?? null}
          label={was ? 'Reconnect QuickBooks' : 'Connect QuickBooks'}
        />
      </div>
    </Panel>
  );
}
