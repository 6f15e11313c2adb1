/**
 * Intuit's documented retry intervals after a failed delivery (docs webhooks "Best
 * practices": "10s, 20s, 30s, 5m, 20m, 2h, 4h, 6h, and then on stays at 6-hour intervals";
 * blog 2025-10-14 lists the same with the first attempt at 0 s). Intuit states no maximum;
 * the sandbox stops at `config.webhooks.maxAttempts`.
 */
export const RETRY_DELAYS_MS: readonly number[] = [
  10_000,
  20_000,
  30_000,
  5 * 60_000,
  20 * 60_000,
  2 * 3_600_000,
  4 * 3_600_000,
  6 * 3_600_000,
];

/** Delay before attempt `failedAttempts + 1`, given how many attempts already failed (≥ 1). */
export function retryDelayMs(failedAttempts: number, scale: number): number {
  const base = RETRY_DELAYS_MS[Math.min(failedAttempts, RETRY_DELAYS_MS.length) - 1]!;
  return Math.max(0, Math.round(base * scale));
}

/**
 * A small seeded PRNG (mulberry32) so duplicate and reorder chaos is repeatable in tests:
 * the same seed and the same changes give the same deliveries.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates with the given random source, in place. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
