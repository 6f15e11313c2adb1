import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { takeTurn } from './turns.ts';

/** Holds the event loop, as parsing a large page does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

it('large answers are parsed one per event-loop turn, in order, with I/O handled between them', async () => {
  const order: string[] = [];
  const io: Promise<void>[] = [];
  // Three pages whose bodies completed together.
  await Promise.all(
    ['page 1', 'page 2', 'page 3'].map(async (page) => {
      await takeTurn();
      order.push(page);
      // The first page's parse starts an I/O (a database answer, say) that completes while
      // it runs: it is handled before the next page is parsed, not after all of them.
      if (io.length === 0)
        io.push(stat(fileURLToPath(import.meta.url)).then(() => void order.push('I/O answer')));
      busy(30);
    }),
  );
  await Promise.all(io);
  expect(order).toEqual(['page 1', 'I/O answer', 'page 2', 'page 3']);
});
