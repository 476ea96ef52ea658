/** How `run --dry-run` reads for people: the banner, each table's trial, and its mismatching rows. */
import type { Mismatch, TrialResult } from '../../engine/events.js';

export function trialBanner(plan: string): string {
  return `dry run of plan ${plan}: nothing was written (trial transactions rolled back), no cache touched, no state table created\n`;
}

export function trialMismatch(m: Mismatch): string {
  const cols = m.columns?.length ? ` (columns: ${m.columns.join(', ')})` : '';
  return `mismatch: ${m.table} ${m.key}: the target would hold a ${m.problem} row${cols}`;
}

export function formatTrial(r: TrialResult): string {
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
