/**
 * The portable comparison of a keyed table (any pair of databases): both sides are streamed over a key range
 * in large keyset batches and every row is compared in canonical form (converted source row vs target row)
 * by key. Used for a whole table when the databases cannot hash inside (different dialects or column types,
 * text keys), and for the small ranges a differing chunk is narrowed down to.
 */
import type { Row } from '../convert/value.js';
import { encodeKey, keyOf } from '../engine/key-codec.js';
import { KeyedMatcher } from './keyed-match.js';
import { readPaired } from './paired-read.js';
import type { KeyRange, TableCheck } from './table-check.js';

/**
 * Rows per batch of the streamed comparison. Each side holds a batch of decoded rows and reads one ahead, so
 * peak memory grows with this while the time does not (bench case 6b, MySQL → PostgreSQL).
 */
export const STREAM_BATCH_ROWS = 5_000;

export interface StreamHooks {
  /** Each batch of converted source rows (counting, progress, the cache check). */
  onSource?: (converted: Row[], read: number, lastKey: string) => Promise<void>;
}

/** Returns whether the range was compared to its end (false: stopped). */
export async function compareKeyedRange(
  check: TableCheck,
  range: KeyRange,
  batchSize: number,
  hooks: StreamHooks = {},
): Promise<boolean> {
  const { m } = check;
  const matcher = new KeyedMatcher(check);
  const complete = await readPaired(
    check,
    {
      from: m.from,
      columns: m.sourceColumns,
      key: m.key,
      batchSize,
      maxBatchBytes: m.options.maxBatchBytes,
      after: range.after,
      until: range.until,
    },
    {
      from: { kind: 'table', ref: m.targetRef },
      columns: m.targetColumns,
      key: m.key,
      batchSize,
      maxBatchBytes: m.options.maxBatchBytes,
      after: range.after,
      until: range.until,
    },
    {
      source: async (raw) => {
        const rows = check.convert(raw);
        matcher.source(rows);
        const last = raw[raw.length - 1];
        await hooks.onSource?.(rows, raw.length, last ? encodeKey(keyOf(last, m.key)) : '');
      },
      target: (rows) => matcher.target(rows),
    },
  );
  // Stopped half-way, the rows still waiting may have partners not read yet: nothing can be said of them.
  if (complete) await matcher.finish();
  return complete;
}
