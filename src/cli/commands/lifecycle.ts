/** What `run` and `warm` share: Ctrl-C/SIGTERM handling, the closing summary and the exit code. */
import type { EventSink } from '../../engine/events.js';
import type { RunResult } from '../../engine/run.js';
import { ExitCode, MismatchError } from '../../errors.js';

/** Runs `work` with a stop flag that the first Ctrl-C/SIGTERM sets; a second one exits at once. */
export async function withStopSignals<T>(work: (shouldStop: () => boolean) => Promise<T>): Promise<T> {
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
    return await work(() => stopping);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Emits the summary event (the sink prints it: the table, or the `--json` line) and sets the exit code
 * (3 on mismatches, 130 when stopped). `warm` and `verify` end with the same shape of result as `run`.
 */
export function finish(
  outcome: RunResult,
  sink: EventSink,
  started: number,
  resume: { command: string; plan: string; planFile: string },
): void {
  sink.emit({
    event: 'summary',
    ok: outcome.mismatches === 0 && !outcome.interrupted,
    interrupted: outcome.interrupted,
    tables: outcome.tables,
    seconds: (Date.now() - started) / 1000,
    reportFiles: outcome.reportFiles,
  });
  if (outcome.interrupted) {
    process.stderr.write(
      `stopped after the last committed batch; resume with: migrate ${resume.command} ${resume.planFile}\n`,
    );
    process.exitCode = ExitCode.interrupted;
    return;
  }
  if (outcome.mismatches > 0) {
    throw new MismatchError(`verification found ${outcome.mismatches} mismatching rows or cache entries`, {
      hint: `the keys are listed above and in ${resume.plan}.mismatches.ndjson; \`migrate verify\` re-checks whole tables`,
    });
  }
}
