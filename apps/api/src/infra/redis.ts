// One place that opens ioredis connections, so every adapter (lock, rate limiter, BullMQ)
// gets the same options, and Lua scripts run by SHA with a fallback when Redis forgot them.
import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisConnectionOptions {
  /** Shows up in `CLIENT LIST`, which helps tell processes apart when debugging. */
  name?: string;
  /**
   * BullMQ workers block on Redis and require `maxRetriesPerRequest: null` (BullMQ docs,
   * "Connections"); for plain commands we would rather fail a call than hang forever.
   */
  purpose?: 'commands' | 'bullmq';
}

export function createRedis(url: string, options: RedisConnectionOptions = {}): Redis {
  const base: RedisOptions = {
    connectionName: options.name ?? 'qbo-sync',
    maxRetriesPerRequest: options.purpose === 'bullmq' ? null : 3,
    // Reconnect with a capped backoff instead of ioredis' unbounded default growth.
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  };
  const redis = new Redis(url, base);
  // While Redis is away ioredis reconnects by itself, and each command that cannot wait
  // fails on its own (readiness reports it); without a listener every failed reconnect
  // is printed to stderr as an "Unhandled error event".
  redis.on('error', () => {});
  return redis;
}

/** Closes politely (QUIT), falling back to a hard disconnect if the server is gone. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

/** A Lua script sent once per connection by EVALSHA, re-sent by EVAL after a SCRIPT FLUSH. */
export class RedisScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
