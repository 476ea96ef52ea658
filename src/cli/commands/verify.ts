/** `migrate verify <plan>`: re-check whole tables source vs target (and cache); exit 0 equal, 3 differences. */

import { dirname, resolve } from 'node:path';
import { loadCheckedPlan } from '../../db/plan-checks.js';
import { verifyPlan } from '../../verify/verify-plan.js';
import { type CommonOptions, tableFilter } from '../options.js';
import { makeSink } from '../output/make-sink.js';
import { finish, withStopSignals } from './lifecycle.js';
import { withPlanPositions } from './plan-positions.js';

export async function verifyCommand(planFile: string, opts: CommonOptions): Promise<void> {
  const loaded = await loadCheckedPlan(planFile);
  const { plan } = loaded;
  const sink = makeSink(opts);
  const started = Date.now();
  const outcome = await withStopSignals((shouldStop) =>
    withPlanPositions(loaded, opts, () =>
      verifyPlan(plan, {
        tables: tableFilter(opts),
        cache: opts.cache !== false,
        concurrency: opts.concurrency,
        sink,
        shouldStop,
        reportDir: dirname(resolve(planFile)),
      }),
    ),
  );
  finish(outcome, sink, started, { command: 'verify', plan: plan.name, planFile });
}
