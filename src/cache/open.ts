/** Opens the plan's cache. */
import { NotYetError } from '../errors.js';
import type { PlanCache } from '../plan/schema.js';
import type { Cache } from './cache.js';
import { MemcachedCache } from './memcached.js';

export function openCache(cfg: PlanCache, concurrency?: number): Cache {
  if (cfg.driver === 'memory') throw new NotYetError('cache.driver: memory');
  return new MemcachedCache({
    servers: cfg.servers ?? [],
    distribution: cfg.distribution,
    ...(cfg.username !== undefined && cfg.password !== undefined
      ? { username: cfg.username, password: cfg.password }
      : {}),
    timeoutMs: cfg.timeoutMs,
    retries: cfg.retries,
    ...(concurrency !== undefined ? { concurrency } : {}),
  });
}
