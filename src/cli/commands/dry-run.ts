/** `migrate run <plan> --dry-run`: print what a real run would do; exit 0 only if it could start. */
import { dryRun, type TrialResult } from '../../engine/dry-run.js';
import { ExitCode } from '../../errors.js';
import type { LoadedPlan } from '../../plan/load.js';
import { type CommonOptions, tableFilter } from '../options.js';
import { withPlanPositions } from './plan-positions.js';

export async function dryRunCommand(loaded: LoadedPlan, opts: CommonOptions): Promise<void> {
  const { plan } = loaded;
  const results = await withPlanPositions(loaded, opts, () =>
    dryRun(plan, { tables: tableFilter(opts), batchSize: opts.batchSize, sink: { emit: () => undefined } }),
  );
  const mismatches = results.reduce((a, r) => a + r.mismatches.length, 0);
  if (opts.json) {
    for (const r of results) process.stdout.write(`${JSON.stringify({ event: 'dry-run-table', ...r })}\n`);
    process.stdout.write(
      `${JSON.stringify({ event: 'summary', dryRun: true, ok: mismatches === 0, tables: results.length })}\n`,
    );
  } else {
    process.stdout.write(
      `dry run of plan ${plan.name}: nothing was written (trial transactions rolled back), no cache touched, no state table created\n`,
    );
    for (const r of results) process.stdout.write(describe(r));
    for (const m of results.flatMap((r) => r.mismatches).slice(0, 20)) {
      const cols = m.columns?.length ? ` (columns: ${m.columns.join(', ')})` : '';
      process.stderr.write(
        `mismatch: ${m.table} ${m.key}: the target would hold a ${m.problem} row${cols}\n`,
      );
    }
    process.stdout.write(mismatches === 0 ? 'a real run can start.\n' : '');
  }
  if (mismatches > 0) {
    process.stderr.write(
      `error: in the trial, ${mismatches} rows would not arrive in the target as they are in the source\n  → check the column types of the target (or onConflict: skip over existing rows)\n`,
    );
    process.exitCode = ExitCode.mismatch;
  }
}

function describe(r: TrialResult): string {
  const lines = [
    `  ${r.table}: ~${r.estimatedRows.toLocaleString('en-US')} rows, key ${r.key.length ? r.key.join(', ') : '(none: copied in one transaction)'}`,
    `    sample of ${r.sampled} rows: ${r.converted} converted, ${r.rejected} rejected, ` +
      (r.createSql ? 'no trial write (the table does not exist yet)' : `${r.wouldWrite} would be written`),
  ];
  if (r.createSql) {
    lines.push(
      '    the target table does not exist: a real run creates it first (createTables), with:',
      ...r.createSql.flatMap((sql) => `${sql};`.split('\n').map((l) => `      ${l}`)),
      '    (not created now: the dry run changes nothing, and MySQL would commit DDL at once)',
    );
  }
  if (r.nulled > 0) lines.push(`    ${r.nulled} zero dates would be written as NULL (zeroDates: null)`);
  if (r.sampleKey !== null || Object.keys(r.cacheSkipped).length > 0) {
    const skipped = Object.entries(r.cacheSkipped).map(([why, n]) => `${n} ${why}`);
    lines.push(
      `    cache: ${r.cacheKeys} entries, e.g. ${JSON.stringify(r.sampleKey)}; keys up to ${r.maxKeyBytes} B, values up to ${r.maxValueBytes} B` +
        (skipped.length ? `; not cached: ${skipped.join(', ')}` : ''),
    );
  }
  return `${lines.join('\n')}\n`;
}
