// Runs the shared suites against every adapter set this machine can provide: the
// in-process ones always, the Redis ones whenever REDIS_URL is set (as in CI). Redis gets
// two connections so "two processes" really are two clients of the server.
import { afterAll } from 'vitest';
import type { Redis } from 'ioredis';
import { BullJobs } from '../src/infra/jobs-bullmq.ts';
import { MemoryJobs } from '../src/infra/jobs-memory.ts';
import { MemoryLock, RedisLock } from '../src/infra/lock.ts';
import { MemoryRateLimiter, RedisRateLimiter } from '../src/infra/rate-limit.ts';
import { closeRedis, createRedis } from '../src/infra/redis.ts';
import { jobsConformance, type TestJobs } from './adapter-conformance-jobs.ts';
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

// A clock that runs at real speed from 2030-01-01T12:00Z and can jump ahead, so schedules
// can be walked to 03:00 UTC without waiting while retries and delays still come due.
jobsConformance('in-process', () => {
  let offset = Date.parse('2030-01-01T12:00:00Z') - Date.now();
  const clock = { now: () => Date.now() + offset };
  const jobs = new MemoryJobs<TestJobs>({ clock, tickMs: 20 });
  return {
    a: jobs,
    b: jobs,
    advanceTo: (ms) => {
      offset = ms - Date.now();
      jobs.tick();
    },
  };
});

const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  const connections: Redis[] = [
    createRedis(redisUrl, { name: 'conformance-a' }),
    createRedis(redisUrl, { name: 'conformance-b' }),
    createRedis(redisUrl, { name: 'conformance-bullmq-a', purpose: 'bullmq' }),
    createRedis(redisUrl, { name: 'conformance-bullmq-b', purpose: 'bullmq' }),
  ];
  const [one, two, bullA, bullB] = connections as [Redis, Redis, Redis, Redis];
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

  jobsConformance('BullMQ (two workers)', (prefix) => {
    prefixes.add(prefix);
    const runner = (connection: Redis, lockConnection: Redis) =>
      new BullJobs<TestJobs>({
        connection,
        prefix,
        lock: new RedisLock(lockConnection, { prefix: `${prefix}:lock:` }),
        groupRetryMs: 50,
        lockDurationMs: 5_000,
      });
    return { a: runner(bullA, one), b: runner(bullB, two) };
  });
}
