/**
 * A table without a key is a multiset of rows: equal when every distinct row appears as often in the target
 * as in the source, so a duplicated row is a difference. Both sides are streamed (no order assumed) and a
 * per-distinct-row balance (source +1, target −1) is kept only while it is not zero: when both sides return
 * rows in similar order, memory stays small. The rows left unbalanced are then counted exactly on both sides
 * in a second pass (only when there are differences), and reported: `row {…} (2× in the target, 1× in the
 * source)`: problem `extra` when the target has more, `missing` when fewer.
 */
import type { Row } from '../convert/value.js';
import { convertSkipping } from '../engine/convert-rows.js';
import { readPaired } from './paired-read.js';
import type { TableCheck } from './table-check.js';

const MULTISET_BATCH_ROWS = 20_000;

export interface MultisetHooks {
  onSource?: (converted: Row[], read: number) => Promise<void>;
}

/** Returns whether both sides were read to the end (false: stopped). */
export async function compareMultiset(check: TableCheck, hooks: MultisetHooks = {}): Promise<boolean> {
  const balance = new Map<string, number>();
  const add = (form: string, by: number) => {
    const n = (balance.get(form) ?? 0) + by;
    if (n === 0) balance.delete(form);
    else balance.set(form, n);
  };
  let sourceRows = 0;
  const complete = await readBoth(check, {
    source: async (rows, read) => {
      sourceRows += rows.length;
      for (const row of rows) add(check.canonical(row), 1);
      await hooks.onSource?.(rows, read);
    },
    target: (rows) => {
      for (const row of rows) add(check.canonical(row), -1);
    },
  });
  if (!complete) return false;

  let unmatched = 0;
  for (const n of balance.values()) if (n > 0) unmatched += n;
  check.counts.verified += sourceRows - unmatched;
  if (balance.size === 0) return true;

  // Exact occurrences of the unbalanced rows on each side, for a report that says what is wrong.
  const occurrences = new Map<string, { source: number; target: number }>();
  for (const form of balance.keys()) occurrences.set(form, { source: 0, target: 0 });
  const counted = await readBoth(check, {
    source: (rows) => {
      for (const row of rows) {
        const o = occurrences.get(check.canonical(row));
        if (o) o.source++;
      }
    },
    target: (rows) => {
      for (const row of rows) {
        const o = occurrences.get(check.canonical(row));
        if (o) o.target++;
      }
    },
  });
  if (!counted) return false;
  const whole = await wholeTableCounts(check, occurrences);
  if (!whole) return false;
  for (const [form, o] of occurrences) {
    const problem = o.target > o.source ? 'extra' : 'missing';
    // Under a `where`: extra only beyond the copies the unfiltered source table holds (extra-rows.ts).
    const allowed = whole.get(form) ?? o.source;
    if (problem === 'extra' && o.target <= allowed) {
      check.notExtra += o.target - o.source;
      continue;
    }
    const json = form.split('\n', 1)[0]!;
    check.mismatch(
      'target',
      problem,
      `row ${json} (${times(o.target)} in the target, ${times(o.source)} in the source)`,
    );
  }
  return true;
}

/**
 * For rows the target holds more often than the source gives them: how often the source TABLE holds each,
 * unfiltered (rule `unfiltered-source`: a table with a `where`), read in one more pass; an empty map for
 * rule `all` (the source is the table) and rule `none` (a query: every one is allowed, see extra-rows.ts).
 * Null when stopped.
 */
async function wholeTableCounts(
  check: TableCheck,
  occurrences: Map<string, { source: number; target: number }>,
): Promise<Map<string, number> | null> {
  const { m } = check;
  const counts = new Map<string, number>();
  const candidates = [...occurrences].filter(([, o]) => o.target > o.source);
  if (check.extraRule === 'none') {
    for (const [form, o] of candidates) counts.set(form, o.target);
    return counts;
  }
  if (check.extraRule === 'all' || m.from.kind !== 'table' || candidates.length === 0) return counts;
  for (const [form] of candidates) counts.set(form, 0);
  const spec = {
    from: { kind: 'table' as const, ref: m.from.ref },
    columns: m.sourceColumns,
    key: [],
    batchSize: MULTISET_BATCH_ROWS,
    maxBatchBytes: m.options.maxBatchBytes,
    after: null,
  };
  for await (const raw of check.ctx.source.readBatches(spec)) {
    // Rows outside the filter may not convert (often why the filter is there): such a row equals no
    // target row, so it is left out, uncounted (the first pass counted the plan's own rows).
    for (const row of convertSkipping(m, raw)) {
      const form = check.canonical(row);
      const n = counts.get(form);
      if (n !== undefined) counts.set(form, n + 1);
    }
    if (check.ctx.shouldStop()) return null;
  }
  return counts;
}

function times(n: number): string {
  return `${n}×`;
}

async function readBoth(
  check: TableCheck,
  on: { source(rows: Row[], read: number): void | Promise<void>; target(rows: Row[]): void },
): Promise<boolean> {
  const { m } = check;
  return readPaired(
    check,
    {
      from: m.from,
      columns: m.sourceColumns,
      key: [],
      batchSize: MULTISET_BATCH_ROWS,
      maxBatchBytes: m.options.maxBatchBytes,
      after: null,
    },
    {
      from: { kind: 'table', ref: m.targetRef },
      columns: m.targetColumns,
      key: [],
      batchSize: MULTISET_BATCH_ROWS,
      maxBatchBytes: m.options.maxBatchBytes,
      after: null,
    },
    {
      source: (raw) => on.source(check.convert(raw), raw.length),
      target: (rows) => on.target(rows),
    },
  );
}
