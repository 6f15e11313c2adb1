import type { WritebackJobs } from './writeback/push-all.ts';

// The catalogue of QuickBooks background jobs: each name and its payload. Payloads only name
// work recorded in the database (a sync run, a realm), so a lost or repeated job costs time,
// never data (lib/jobs.ts).
export interface SyncJobData {
  /** The qbo_sync_runs row this job carries out. */
  runId: string;
  realmId: string;
}

export interface DailyReconcileJobData {
  /** One realm, or every connected realm when absent (the daily schedule). */
  realmId?: string;
}

/** The daily pass that refreshes connections near their refresh token's expiry. */
export type KeepAliveJobData = Record<string, never>;
/** What woke the webhook processor; it always takes every due event from the database. */
export interface WebhookProcessJobData {
  reason: 'delivery' | 'sweep' | 'retry' | 'replay';
}

export interface QboJobs extends WritebackJobs {
  'qbo.keep-alive': KeepAliveJobData;
  'qbo.sync': SyncJobData;
  'qbo.daily-reconcile': DailyReconcileJobData;
  'qbo.webhook-process': WebhookProcessJobData;
}
