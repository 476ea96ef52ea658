/**
 * The online checks shared by `validate` and `run --dry-run`: every server reachable (each failure named,
 * password masked), every table resolved against the real source and target (exists, columns, key, types,
 * cache key template), with estimated rows; `validate` also checks the cache keys of a sample of rows
 * (`--dry-run` does so on its own sample). Writes nothing anywhere.
 */

import { openCache } from '../cache/open.js';
import type { Dialect } from '../db/dialect.js';
import { openDialect, pingAll } from '../db/open.js';
import { ConnectionError } from '../errors.js';
import type { Plan, PlanCache } from '../plan/schema.js';
import { checkKeySample } from './key-sample.js';
import type { TableMapping } from './mapping.js';
import { resolveAll, selectTables } from './run.js';

export interface Preflight {
  source: Dialect;
  target: Dialect;
  mappings: TableMapping[];
  close(): Promise<void>;
}

const PING_KEY = 'cache-migrate:ping';

/** Asks each cache server on its own, so that a failure names the server. */
export async function pingCacheServers(cfg: PlanCache): Promise<void> {
  if (cfg.driver !== 'memcached') return;
  const failures: string[] = [];
  await Promise.all(
    (cfg.servers ?? []).map(async (server) => {
      const one = await openCache({ ...cfg, servers: [server], retries: 0 });
      try {
        const got = await one.get([PING_KEY]);
        if (got.failed.length > 0) failures.push(server);
      } finally {
        await one.close();
      }
    }),
  );
  if (failures.length > 0) {
    throw new ConnectionError(
      `memcached ${failures.join(', ')}`,
      `${failures.length === 1 ? 'the server does not' : 'these servers do not'} answer`,
      { hint: 'check that memcached runs there (and the SASL username/password if the server needs them)' },
    );
  }
}

/** `sampleKeys`: also read a sample of each cached table and check that its cache keys differ (validate). */
export async function preflight(
  plan: Plan,
  tables: string[] | undefined,
  opts: { sampleKeys?: boolean } = {},
): Promise<Preflight> {
  const indexes = selectTables(plan, tables);
  const source = await openDialect(plan.source.url);
  const target = await openDialect(plan.target.url);
  const close = async () => {
    await Promise.all([source.close(), target.close()]);
  };
  try {
    await pingAll([source, target]);
    if (plan.cache && plan.cache.warm !== 'off') await pingCacheServers(plan.cache);
    const mappings = await resolveAll(plan, indexes, source, target, { planCreate: true });
    if (opts.sampleKeys) for (const m of mappings) await checkKeySample(source, m);
    return { source, target, mappings, close };
  } catch (error) {
    await close();
    throw error;
  }
}
