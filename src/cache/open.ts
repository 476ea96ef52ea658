/** Opens the plan's cache. memjs is loaded only for a memcached cache kept on this thread. */
import type { PlanCache } from '../plan/schema.js';
import type { Cache } from './cache.js';
import type { MemcachedCacheOptions } from './memcached/memcached-cache.js';
import { ITEM_OVERHEAD_BYTES, MAX_KEY_BYTES, MEMORY_DEFAULT_ITEM_BYTES, MemoryCache } from './memory.js';
import { ThreadedCache, workerScript } from './threaded.js';

/** `onLog` receives the cache's messages (a server failing, keys refused); without it they are kept quietly. */
export async function openCache(
  cfg: PlanCache,
  concurrency?: number,
  onLog?: (message: string) => void,
): Promise<Cache> {
  if (cfg.driver === 'memory') {
    // Sized like a memcached started with the item size the plan allows (`-I`), never below its 1 MiB.
    const maxItemBytes = Math.max(
      MEMORY_DEFAULT_ITEM_BYTES,
      cfg.maxValueBytes + MAX_KEY_BYTES + ITEM_OVERHEAD_BYTES,
    );
    return new MemoryCache({ maxItemBytes });
  }
  const options: MemcachedCacheOptions = {
    servers: cfg.servers ?? [],
    distribution: cfg.distribution,
    ketamaFlavour: cfg.ketama,
    ...(cfg.username !== undefined && cfg.password !== undefined
      ? { username: cfg.username, password: cfg.password }
      : {}),
    timeoutMs: cfg.timeoutMs,
    retries: cfg.retries,
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(onLog !== undefined ? { onLog } : {}),
  };
  // On this thread unless MIGRATE_CACHE_THREAD=1 asks for a worker thread (threaded.ts): where the databases
  // and memcached share the cores, the thread costs more than it saves (its messages, its own heap and
  // collector, the cores it competes for).
  const script = workerScript();
  if (script && process.env.MIGRATE_CACHE_THREAD === '1') return new ThreadedCache(options, script);
  return new (await import('./memcached/memcached-cache.js')).MemcachedCache({
    ...options,
    recyclePacks: true,
  });
}
