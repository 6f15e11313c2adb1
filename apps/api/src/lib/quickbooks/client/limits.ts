// QBO's documented per-realm limits (docs "limits-and-throttles"; blog 2016-08-08): 500
// requests per minute per realm, 10 per second per realm+app, and (older docs) 10 concurrent
// requests. The client's RateLimiter enforces them; /status reports them.
import { MINUTE_MS, SECOND_MS, type RateLimitPolicy } from '../ports.ts';

export const QBO_REQUESTS_PER_SECOND = 10;
export const QBO_REQUESTS_PER_MINUTE = 500;
export const QBO_MAX_IN_FLIGHT = 10;
/**
 * An in-flight slot whose holder never released it (a crashed process) is reclaimed after
 * this long. QBO cuts requests off after 120 s, so a live call never holds it longer.
 */
export const QBO_IN_FLIGHT_LEASE_MS = 180 * SECOND_MS;

export const QBO_RATE_LIMITS: RateLimitPolicy = Object.freeze({
  windows: Object.freeze([
    Object.freeze({ limit: QBO_REQUESTS_PER_SECOND, windowMs: SECOND_MS }),
    Object.freeze({ limit: QBO_REQUESTS_PER_MINUTE, windowMs: MINUTE_MS }),
  ]),
  maxInFlight: QBO_MAX_IN_FLIGHT,
  inFlightLeaseMs: QBO_IN_FLIGHT_LEASE_MS,
});
