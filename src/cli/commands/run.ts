/** `migrate run <plan>`: load, run, print the summary, set the exit code. Ctrl-C stops after the batch. */

import { dirname, resolve } from 'node:path';
import { runPlan } from '../../engine/run.js';
import { loadPlan } from '../../plan/load.js';
import { type CommonOptions, tableFilter } from '../options.js';
import { makeSink } from '../output/make-sink.js';
import { finish, withStopSignals } from './lifecycle.js';
import { withPlanPositions } from './plan-positions.js';

export async function runCommand(planFile: string, opts: CommonOptions): Promise<void> {
  const loaded = await loadPlan(planFile);
  const { plan } = loaded;
  if (opts.dryRun) {
    const { dryRunCommand } = await import('./dry-run.js');
    return dryRunCommand(loaded, opts);
  }
  const sink = makeSink(opts);
  const started = Date.now();
  const outcome = await withStopSignals((shouldStop) =>
    withPlanPositions(loaded, opts, () =>
      runPlan(plan, {
        tables: tableFilter(opts),
        restart: opts.restart,
        batchSize: opts.batchSize,
        workers: opts.workers,
        concurrency: opts.concurrency,
        sink,
        shouldStop,
        reportDir: dirname(resolve(planFile)),
      }),
    ),
  );
  finish(outcome, opts, sink, started, { command: 'run', plan: plan.name, planFile });
}
