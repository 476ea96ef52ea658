/** `migrate run <plan> --dry-run`: show what a real run would do; exit 0 only if it could start. */
import { loadCheckedPlan } from '../../db/plan-checks.js';
import { dryRun } from '../../engine/dry-run.js';
import { MismatchError } from '../../errors.js';
import { type CommonOptions, tableFilter } from '../options.js';
import { makeSink } from '../output/make-sink.js';
import { withPlanPositions } from './plan-positions.js';

export async function dryRunCommand(planFile: string, opts: CommonOptions): Promise<void> {
  const loaded = await loadCheckedPlan(planFile);
  const sink = makeSink(opts);
  const results = await withPlanPositions(loaded, opts, () =>
    dryRun(loaded.plan, { tables: tableFilter(opts), batchSize: opts.batchSize, sink }),
  );
  const mismatches = results.reduce((a, r) => a + r.mismatches.length, 0);
  sink.emit({ event: 'summary', dryRun: true, ok: mismatches === 0, tables: results.length });
  if (mismatches > 0) {
    throw new MismatchError(
      `in the trial, ${mismatches} rows would not arrive in the target as they are in the source`,
      { hint: 'check the column types of the target (or onConflict: skip over existing rows)' },
    );
  }
}
