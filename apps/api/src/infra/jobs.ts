// Picks the jobs adapter: BullMQ when Redis is configured (scaled mode: API processes
// enqueue, `npm run worker` consumes), otherwise the in-process runner (embedded default).
import type { Redis } from 'ioredis';
import type { JobMap, JobWorker } from '../lib/jobs.ts';
import type { Clock, Lock } from '../lib/quickbooks/ports.ts';
import { BullJobs } from './jobs-bullmq.ts';
import { MemoryJobs } from './jobs-memory.ts';

export interface JobsOptions {
  /** A BullMQ-ready connection (`createRedis(url, { purpose: 'bullmq' })`), or null. */
  bullmqConnection: Redis | null;
  lock: Lock;
  clock?: Clock;
  prefix?: string;
  /** BullMQ only: how long a running job's lock lasts without renewal. */
  lockDurationMs?: number;
  onError?: (err: unknown, job: { id: string; name: string }) => void;
}

export function createJobs<M extends JobMap>(o: JobsOptions): JobWorker<M> {
  if (o.bullmqConnection) {
    return new BullJobs<M>({
      connection: o.bullmqConnection,
      lock: o.lock,
      ...(o.prefix ? { prefix: o.prefix } : {}),
      ...(o.lockDurationMs ? { lockDurationMs: o.lockDurationMs } : {}),
      ...(o.onError ? { onError: o.onError } : {}),
    });
  }
  return new MemoryJobs<M>({
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.onError ? { onError: o.onError } : {}),
  });
}
