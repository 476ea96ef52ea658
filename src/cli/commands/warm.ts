/** `migrate warm <plan>`: warm the cache from the target tables; no data moved. */

import { dirname, resolve } from 'node:path';
import { loadCheckedPlan } from '../../db/plan-checks.js';
import { warmPlan } from '../../engine/warm.js';
import { type CommonOptions, tableFilter } from '../options.js';
import { makeSink } from '../output/make-sink.js';
import { finish, withStopSignals } from './lifecycle.js';

export async function warmCommand(planFile: string, opts: CommonOptions): Promise<void> {
  const { plan } = await loadCheckedPlan(planFile);
  const sink = makeSink(opts);
  const started = Date.now();
  const outcome = await withStopSignals((shouldStop) =>
    warmPlan(plan, {
      tables: tableFilter(opts),
      batchSize: opts.batchSize,
      concurrency: opts.concurrency,
      sink,
      shouldStop,
      reportDir: dirname(resolve(planFile)),
    }),
  );
  finish(outcome, sink, started, { command: 'warm', plan: plan.name, planFile });
}
