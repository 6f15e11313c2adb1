// Storing deliveries with group commit: the first delivery is written at once; those that
// arrive while a write is in flight wait for it and go together in the next statement.
//
// Why: the acknowledgement waits for the row (the database is the record), and one insert
// and commit per delivery is what bounds how many deliveries per second the service can
// acknowledge — PGlite is one connection, so each commit also queues behind the processor's
// work. Batching costs nothing when traffic is light (a lone delivery is written at once)
// and divides the per-statement cost by the batch when it is heavy (bench/webhooks.md).
//
// A batch that fails is written again one delivery at a time, so one bad row fails only its
// own request.
import type { Kysely } from 'kysely';
import type { Database } from '../../../db/schema.ts';
import { insertDeliveries, type NewDelivery, type StoredDelivery } from './webhook-events.repo.ts';

interface Waiting {
  delivery: NewDelivery;
  resolve: (r: StoredDelivery) => void;
  reject: (err: unknown) => void;
}

/** At most this many deliveries, and about this many bytes of body, per statement. */
const MAX_BATCH = 200;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

export class DeliveryWriter {
  private readonly queue: Waiting[] = [];
  private writing = false;

  constructor(private readonly db: Kysely<Database>) {}

  write(delivery: NewDelivery): Promise<StoredDelivery> {
    return new Promise((resolve, reject) => {
      this.queue.push({ delivery, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length) await this.writeBatch(this.takeBatch());
    } finally {
      this.writing = false;
    }
  }

  private takeBatch(): Waiting[] {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < MAX_BATCH && (n === 0 || bytes < MAX_BATCH_BYTES)) {
      bytes += this.queue[n]!.delivery.rawBody.length;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async writeBatch(batch: Waiting[]): Promise<void> {
    try {
      const stored = await insertDeliveries(
        this.db,
        batch.map((w) => w.delivery),
      );
      batch.forEach((w, i) => w.resolve(stored[i]!));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      for (const w of batch) await this.writeBatch([w]);
    }
  }
}
