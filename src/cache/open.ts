/** Opens the plan's cache. */
import { NotYetError } from '../errors.js';
import type { PlanCache } from '../plan/schema.js';
import type { Cache } from './cache.js';

export function openCache(cfg: PlanCache, _concurrency?: number): Cache {
  throw new NotYetError(`cache.driver: ${cfg.driver}`);
}
