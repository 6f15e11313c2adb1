// One large answer parsed per turn of the event loop. Parsing, mapping and serialising a
// 1,000-invoice page (1.5 MB) holds the loop for ~30 ms, and a sync's pages come back in
// bursts of up to ten. Parsed back to back as their bodies completed, they held every other
// callback — the database's answers, and with them the writers' next statements — for up
// to ~0.1 s while the database sat idle. A caller with a large answer waits here for a turn
// of its own: one per loop iteration, with I/O polled in between.
import { setImmediate as nextIteration } from 'node:timers/promises';

/** Answers at least this long (characters) wait for a turn; small ones parse at once. */
export const LARGE_ANSWER_CHARS = 64 * 1024;

const waiting: (() => void)[] = [];
let running = false;

/**
 * Resolves in a loop iteration of its own (FIFO): the caller's synchronous work right after
 * the `await` runs before any other caller's, and I/O callbacks run between two callers.
 */
export function takeTurn(): Promise<void> {
  const turn = new Promise<void>((resolve) => waiting.push(resolve));
  if (!running) void serveTurns();
  return turn;
}

async function serveTurns(): Promise<void> {
  running = true;
  try {
    while (waiting.length > 0) {
      await nextIteration();
      waiting.shift()?.();
    }
  } finally {
    running = false;
  }
}
