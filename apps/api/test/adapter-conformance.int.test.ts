// Runs the shared suites against every adapter set this machine can provide: the
// in-process ones always, the Redis ones whenever REDIS_URL is set (as in CI). Redis gets
// two connections so "two processes" really are two clients of the server.
import { afterAll } from 'vitest';
import type { Redis } from 'ioredis';
import { MemoryLock, RedisLock } from '../src/infra/lock.ts';
import { MemoryRateLimiter, RedisRateLimiter } from '../src/infra/rate-limit.ts';
import { closeRedis, createRedis } from '../src/infra/redis.ts';
import { lockConformance } from './adapter-conformance-lock.ts';
import { rateLimiterConformance } from './adapter-conformance-rate-limit.ts';

// One process: both handles are the same instance; a second `make` is a restarted process.
lockConformance('in-process mutex', () => {
  const lock = new MemoryLock();
  return { a: lock, b: lock };
});

rateLimiterConformance('memory', (policy) => {
  const limiter = new MemoryRateLimiter(policy);
  return { a: limiter, b: limiter };
});

const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  const connections: Redis[] = [
    createRedis(redisUrl, { name: 'conformance-a' }),
    createRedis(redisUrl, { name: 'conformance-b' }),
  ];
  const [one, two] = connections as [Redis, Redis];
  // Only the prefixes this file used are cleaned up: other runs may share the server.
  const prefixes = new Set<string>();
  afterAll(async () => {
    for (const prefix of prefixes) {
      const keys = await one.keys(`${prefix}*`);
      if (keys.length > 0) await one.del(...keys);
    }
    await Promise.all(connections.map(closeRedis));
  });

  lockConformance('Redis (two connections)', (prefix) => {
    prefixes.add(prefix);
    return { a: new RedisLock(one, { prefix }), b: new RedisLock(two, { prefix }) };
  });

  rateLimiterConformance('Redis (two connections)', (policy, prefix) => {
    prefixes.add(prefix);
    return {
      a: new RedisRateLimiter(one, { policy, prefix }),
      b: new RedisRateLimiter(two, { policy, prefix }),
    };
  });
}
