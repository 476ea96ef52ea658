/** `migrate run <plan>`: load, run, print the summary, set the exit code. Ctrl-C stops after the batch. */
import { runPlan } from '../../engine/run.js';
import { ExitCode, MismatchError, NotYetError } from '../../errors.js';
import { loadPlan } from '../../plan/load.js';
import { type CommonOptions, tableFilter } from '../options.js';
import { makeSink } from '../output/make-sink.js';
import { formatSummary } from '../output/summary.js';

export async function runCommand(planFile: string, opts: CommonOptions): Promise<void> {
  const { plan } = await loadPlan(planFile);
  if (opts.dryRun) throw new NotYetError('`migrate run --dry-run`');
  const sink = makeSink(opts);
  const started = Date.now();

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`\n${signal} again: exiting now; the last committed batch is kept\n`);
      process.exit(ExitCode.interrupted);
    }
    stopping = true;
    process.stderr.write(
      `\n${signal}: finishing the batch in flight, then stopping (again to exit at once)\n`,
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runPlan(plan, {
      tables: tableFilter(opts),
      restart: opts.restart,
      batchSize: opts.batchSize,
      workers: opts.workers,
      concurrency: opts.concurrency,
      sink,
      shouldStop: () => stopping,
      reportDir: process.cwd(),
    });
    const seconds = (Date.now() - started) / 1000;
    sink.emit({
      event: 'summary',
      ok: result.mismatches === 0 && !result.interrupted,
      interrupted: result.interrupted,
      tables: result.tables,
      seconds,
      reportFiles: result.reportFiles,
    });
    if (!opts.json) {
      process.stdout.write(`\n${formatSummary(result.tables)}`);
      for (const f of result.reportFiles) process.stdout.write(`report: ${f}\n`);
    }
    if (result.interrupted) {
      process.stderr.write(`stopped after the last committed batch; resume with: migrate run ${planFile}\n`);
      process.exitCode = ExitCode.interrupted;
      return;
    }
    if (result.mismatches > 0) {
      throw new MismatchError(`verification found ${result.mismatches} mismatching rows or cache entries`, {
        hint: `the keys are listed above and in ${plan.name}.mismatches.ndjson; \`migrate verify\` re-checks whole tables`,
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
