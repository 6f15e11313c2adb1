/**
 * An exact sliding-window log: the instants of the events accepted in the last `spanMs`.
 * QBO's limits are stated as "N per second / per minute" without saying how windows are
 * aligned; a sliding log is the strictest reading (no burst of 2N across a boundary).
 */
export class SlidingWindow {
  private times: number[] = [];
  private head = 0;

  constructor(readonly spanMs: number) {}

  /** Events still inside the window ending at `now`. */
  count(now: number): number {
    this.prune(now);
    return this.times.length - this.head;
  }

  add(now: number): number {
    this.prune(now);
    this.times.push(now);
    return this.times.length - this.head;
  }

  private prune(now: number): void {
    // The sandbox clock can be set backwards (POST /_sandbox/clock); entries "from the
    // future" would then block the window for as long as the clock was moved, so drop them.
    const last = this.times[this.times.length - 1];
    if (last !== undefined && last > now) {
      this.times = [];
      this.head = 0;
      return;
    }
    const cutoff = now - this.spanMs;
    while (this.head < this.times.length && this.times[this.head]! <= cutoff) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}
