/**
 * The online half of the cache key check: the cache keys of a sample of rows, rendered as a run renders them,
 * must all differ. The plan's shape (templateProblem) and the key coverage (mapping/cache.ts) catch the usual
 * mistakes; this catches what only data shows, e.g. `{a}:{b}` where values of `a` hold a `:`, or a `key:`
 * that is not unique in the source. `validate` (online) and `run --dry-run` run it.
 */
import { isSkip } from '../cache/key-template.js';
import type { Row } from '../convert/value.js';
import type { Dialect } from '../db/dialect.js';
import { SchemaError } from '../errors.js';
import { convertSkipping } from './convert-rows.js';
import { keyOf, showKey } from './key-codec.js';
import type { TableMapping } from './mapping.js';

/** Rows read for the check: the first ones in key order. */
const KEY_SAMPLE_ROWS = 5000;

/** Reads a sample of the table's rows and checks their cache keys (a table without a cache: nothing). */
export async function checkKeySample(source: Dialect, m: TableMapping): Promise<void> {
  if (!m.cache) return;
  let sample: Row[] = [];
  for await (const batch of source.readBatches({
    from: m.from,
    columns: m.sourceColumns,
    key: m.key,
    batchSize: Math.min(KEY_SAMPLE_ROWS, m.options.batchSize),
    maxBatchBytes: m.options.maxBatchBytes,
    after: null,
  })) {
    sample = batch;
    break;
  }
  const nulled = m.totals.nulled;
  checkCacheKeys(m, convertSkipping(m, sample));
  m.totals.nulled = nulled;
}

/**
 * Throws a SchemaError (at the template, exit 2) when two of the converted rows render one cache key with
 * different values.
 */
export function checkCacheKeys(m: TableMapping, rows: readonly Row[]): void {
  if (!m.cache) return;
  const seen = new Map<string, number>();
  for (let i = 0; i < rows.length; i++) {
    const key = m.cache.render(rows[i]!);
    if (isSkip(key)) continue;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, i);
      continue;
    }
    if (sameValue(m.cache.value(rows[first]!), m.cache.value(rows[i]!))) continue;
    const message =
      `two rows with different values render the same cache key ${JSON.stringify(key)} (${rowName(m, rows, first)} and ` +
      `${rowName(m, rows, i)}, in a sample of ${rows.length}): one entry would hold either row; ` +
      'reference columns that identify a row, with separators their values cannot contain';
    throw new SchemaError(`table ${m.label}: tables[${m.index}].cache.key: ${message}`, {
      hint: 'fix the cache key template and run `migrate validate` again',
      problems: [{ path: ['tables', m.index, 'cache', 'key'], message }],
    });
  }
}

/** Two rows with one key and one value store the same entry: harmless. */
function sameValue(a: Buffer | null, b: Buffer | null): boolean {
  return a !== null && b !== null && a.equals(b);
}

function rowName(m: TableMapping, rows: readonly Row[], i: number): string {
  if (m.key.length === 0) return `row ${i + 1}`;
  const names = m.key.map((k) => m.targetColumns[k]!.name);
  return showKey(names, keyOf(rows[i]!, m.key));
}
