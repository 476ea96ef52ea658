/** The summary table every command ends with: per table rows read, written, cached, verified, ... */
import type { TableCounts } from '../../engine/events.js';

export interface SummaryRow {
  table: string;
  counts: TableCounts;
  seconds: number;
  complete: boolean;
}

const HEAD = [
  'table',
  'read',
  'written',
  'cached',
  'verified',
  'mismatches',
  'skipped',
  'not cached',
  'time',
  'rows/s',
];

export function formatSummary(rows: SummaryRow[]): string {
  const body = rows.map((r) => {
    const notCached = Object.values(r.counts.cacheSkipped).reduce((a, b) => a + b, 0);
    return [
      r.complete ? r.table : `${r.table} (unfinished)`,
      fmt(r.counts.read),
      fmt(r.counts.written),
      fmt(r.counts.cached),
      fmt(r.counts.verified),
      fmt(r.counts.mismatches),
      fmt(r.counts.skipped),
      fmt(notCached),
      `${r.seconds.toFixed(1)}s`,
      r.seconds > 0 ? fmt(Math.round(r.counts.read / r.seconds)) : '-',
    ];
  });
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(HEAD), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  const reasons = rows.flatMap((r) =>
    Object.entries(r.counts.cacheSkipped).map(([why, n]) => `  ${r.table}: ${fmt(n)} not cached: ${why}`),
  );
  const nulled = rows
    .filter((r) => r.counts.nulled > 0)
    .map((r) => `  ${r.table}: ${fmt(r.counts.nulled)} zero dates written as NULL (zeroDates: null)`);
  if (reasons.length || nulled.length) out.push('', ...reasons, ...nulled);
  return `${out.join('\n')}\n`;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
