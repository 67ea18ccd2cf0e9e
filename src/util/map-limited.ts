/**
 * Maps items through an async function with at most `limit` calls under way, answering the results in
 * the items' order; rejects with the first failure, after which no new call starts (those under way
 * still finish). Thousands of calls started at once keep all their buffers and promises alive until V8
 * moves them to the old space, which then stays committed; a few at a time over one libvirt connection
 * are no slower, since libvirt answers them in turn anyway.
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (err) {
        next = items.length;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
