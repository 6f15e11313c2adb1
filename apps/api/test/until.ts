/** Polls `fn` until it returns non-null (no timing assertion: the timeout only ends a hang). */
export async function until<T>(
  what: string,
  fn: () => Promise<T | null> | T | null,
  timeoutMs = 120_000,
  everyMs = 200,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
