/**
 * The online checks shared by `validate` and `run --dry-run`: every server reachable (each failure named,
 * password masked), every table resolved against the real source and target (exists, columns, key, types,
 * cache key template), with estimated rows; `validate` also checks the cache keys of a sample of rows
 * (`--dry-run` does so on its own sample). Writes nothing anywhere.
 */

import type { Plan } from '../plan/schema.js';
import { checkKeySample } from './key-sample.js';
import { openSession, type Session } from './session.js';

/**
 * The open session the checks passed on; the caller closes it. `sampleKeys`: also read a sample of each
 * cached table and check that its cache keys differ (validate).
 */
export async function preflight(
  plan: Plan,
  tables: string[] | undefined,
  opts: { sampleKeys?: boolean } = {},
): Promise<Session> {
  const pingCache = plan.cache && plan.cache.warm !== 'off' ? plan.cache : null;
  const session = await openSession(plan, { tables, planCreate: true, pingCache });
  try {
    if (opts.sampleKeys) for (const m of session.mappings) await checkKeySample(session.source, m);
    return session;
  } catch (error) {
    await session.close();
    throw error;
  }
}
