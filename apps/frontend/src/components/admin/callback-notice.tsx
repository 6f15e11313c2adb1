// The way back from the consent page: /admin?qbo_connected=true&realmId=… or
// ?qbo_error=<code>. Read once, then removed from the address bar (a reload must not say it
// again); the notice stays until dismissed.
import { useState } from 'react';
import { callbackErrorMessage } from '../../lib/callback-errors.ts';
import { ConnectButton } from './connect-panel.tsx';

export type CallbackResult =
  { kind: 'connected'; realmId: string | null } | { kind: 'error'; code: string } | null;

/** Reads and clears the callback's parameters from the current URL. */
export function takeCallbackResult(): CallbackResult {
  const params = new URLSearchParams(window.location.search);
  const connected = params.get('qbo_connected');
  const error = params.get('qbo_error');
  if (connected === null && error === null) return null;
  window.history.replaceState(null, '', window.location.pathname);
  if (error !== null) return { kind: 'error', code: error };
  return { kind: 'connected', realmId: params.get('realmId') };
}

export function CallbackNotice({
  result,
  companyName,
}: {
  result: CallbackResult;
  companyName: string | null;
}) {
  const [open, setOpen] = useState(true);
  if (!result || !open) return null;
  if (result.kind === 'connected') {
    return (
      <div className="notice notice-ok" role="status" data-testid="callback-notice">
        <p>
          <strong>Connected{companyName ? ` to ${companyName}` : ''}.</strong> The tokens are stored
          encrypted; the panels below show the connection’s health.
        </p>
        <button type="button" className="btn btn-small" onClick={() => setOpen(false)}>
          Dismiss
        </button>
      </div>
    );
  }
  return (
    <div className="notice notice-bad" role="alert" data-testid="callback-notice">
      <p>
        <strong>QuickBooks was not connected.</strong> {callbackErrorMessage(result.code)}
      </p>
      <div className="row">
        <ConnectButton label="Try again" />
        <button type="button" className="btn btn-small" onClick={() => setOpen(false)}>
          Dismiss
        </button>
      </div>
    </div>
  );
}
