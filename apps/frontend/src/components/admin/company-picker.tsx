// Several companies connected (or once connected): choose which one the panels show.
import type { ConnectionSummary } from '@qbo-sync/contract';

export function CompanyPicker({
  connections,
  value,
  onChange,
}: {
  connections: ConnectionSummary[];
  value: string | null;
  onChange: (realm: string) => void;
}) {
  if (connections.length < 2) return null;
  return (
    <label className="picker">
      <span>Company</span>
      <select value={value ?? ''} onChange={(e) => onChange(e.target.value)}>
        {connections.map((c) => (
          <option key={c.realm_id} value={c.realm_id}>
            {c.company_name ?? c.realm_id}
            {c.status !== 'connected'
              ? ` (${c.status === 'needs_reauth' ? 'needs reconnect' : 'disconnected'})`
              : ''}
          </option>
        ))}
      </select>
    </label>
  );
}
