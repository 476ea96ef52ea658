/** A bounded pool: the `--workers` lanes that `run` spreads a plan's chunks over. */

/**
 * Runs `work` over `items`, at most `n` at once; no new item starts once `stop()` is true; the first
 * failure stops new work and is rethrown.
 */
export async function pool<T>(
  n: number,
  items: T[],
  stop: () => boolean,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  const runner = async () => {
    while (failed === null && next < items.length && !stop()) {
      const i = next++;
      try {
        await work(items[i]!);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, runner));
  if (failed !== null) throw failed;
}
