/** `migrate run <plan>`: load, run, print the summary, set the exit code. Ctrl-C stops after the batch. */
import { dirname, resolve } from 'node:path';
import { loadCheckedPlan } from '../../db/plan-checks.js';
import { runPlan } from '../../engine/run.js';
import { ExitCode, MigrateError, NotYetError } from '../../errors.js';
import { type CommonOptions, tableFilter } from '../options.js';
import { makeSink } from '../output/make-sink.js';
import { finish, withStopSignals } from './lifecycle.js';
import { withPlanPositions } from './plan-positions.js';

export async function runCommand(planFile: string, opts: CommonOptions): Promise<void> {
  const loaded = await loadCheckedPlan(planFile);
  const { plan } = loaded;
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
  ).catch((error: unknown) => {
    throw withResumeHint(error, planFile);
  });
  finish(outcome, sink, started, { command: 'run', plan: plan.name, planFile });
  const unfinished = outcome.tables.filter((t) => !t.complete).map((t) => t.table);
  if (!outcome.interrupted && unfinished.length > 0 && !opts.json && !opts.quiet) {
    // Exit 0 stays: nothing failed here, and running again would only find the same live leases. Not with
    // --quiet: the summary table marks these tables "(unfinished)" already.
    process.stdout.write(
      `not finished by this run: ${unfinished.join(', ')} (another live run of plan ${plan.name} holds the ` +
        `rest and finishes it); \`migrate status ${planFile}\` shows when every table is done\n`,
    );
  }
}

/**
 * A run that fails at run time (exit 1: a server lost beyond its retries, a value that does not fit, a
 * required cache down) keeps every batch it committed: its hint says so and how to go on, once.
 */
function withResumeHint(error: unknown, planFile: string): unknown {
  if (!(error instanceof MigrateError) || error.exitCode !== ExitCode.runtime) return error;
  if (error instanceof NotYetError || /\bresume/.test(error.hint ?? '')) return error;
  const resume = `then \`migrate run ${planFile}\` resumes after the last committed batch`;
  // The error is the one that was thrown, class and cause kept; only the advice grows.
  (error as { hint: string | undefined }).hint = error.hint ? `${error.hint}; ${resume}` : resume;
  return error;
}
