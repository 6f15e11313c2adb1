// `qbo-sync push-invoices`: queues a push-all run (or joins the unfinished one) and follows it
// on GET /invoices/sync-status with one progress bar, then prints its summary and failures.
import cliProgress from 'cli-progress';
import type { InvoiceSyncStatusResponse, PushAllResponse, WritebackRun } from '@qbo-sync/contract';
import type { ServiceClient } from './service.ts';

export interface PushInvoicesOptions {
  realm?: string;
  wait: boolean;
  tty: boolean;
  pollMs?: number;
  out: (line: string) => void;
}

export async function runPushInvoices(
  service: ServiceClient,
  o: PushInvoicesOptions,
): Promise<WritebackRun> {
  const q = o.realm ? `?realmId=${encodeURIComponent(o.realm)}` : '';
  const started = await service.post<PushAllResponse>(`/api/quickbooks/invoices/push-all${q}`);
  let run = started.run;
  // A queued run has not counted its invoices yet (the job does, when it starts).
  const what = run.status === 'queued' ? 'queued' : `${run.total} pending invoice(s)`;
  o.out(
    `push-all run ${run.id} for realm ${run.realm_id}: ${what}${started.deduplicated ? ' (already running: following it)' : ''}`,
  );
  if (!o.wait) return run;
  const bar = o.tty
    ? new cliProgress.SingleBar(
        { format: ' invoices [{bar}] {value}/{total}', hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(Math.max(run.total, 1), 0);
  try {
    const path = `/api/quickbooks/invoices/sync-status?realmId=${encodeURIComponent(run.realm_id)}`;
    while (run.status === 'queued' || run.status === 'running') {
      await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
      const s = await service.get<InvoiceSyncStatusResponse>(path);
      if (s.latest_run?.id === run.id) run = s.latest_run;
      bar?.setTotal(Math.max(run.total, 1));
      bar?.update(run.pushed + run.unchanged + run.failed);
    }
  } finally {
    bar?.stop();
  }
  o.out(
    `${run.status}: ${run.pushed} pushed, ${run.unchanged} unchanged, ${run.failed} failed (of ${run.total})`,
  );
  for (const f of run.failures) o.out(`  invoice ${f.invoice_id}: ${f.message}`);
  if (run.error_message) o.out(`run error: ${run.error_message}`);
  return run;
}
