/** Applies a table's column converters to source rows (the row loop of the pipeline). */
import { ValueError } from '../convert/convert.js';
import type { Row } from '../convert/value.js';
import { DataError } from '../errors.js';
import type { Reject } from './context.js';
import { keyOf, showKey } from './key-codec.js';
import type { TableMapping } from './mapping.js';

/**
 * Converted rows. A value that does not fit the target is a DataError naming table, key and column — or,
 * with `invalid: skip`, its row is left out and handed to `onReject` (the caller counts and files it).
 */
export function convertRows(m: TableMapping, source: Row[], onReject: (r: Reject) => void): Row[] {
  // Same types on both sides (pg→pg): the rows are already in the target's form.
  if (m.convertsNothing) return source;
  const conv = m.converters;
  const n = conv.length;
  const rows: Row[] = [];
  for (const src of source) {
    const row: Row = new Array(n);
    let i = 0;
    try {
      for (; i < n; i++) row[i] = conv[i]!(src[i] ?? null);
      rows.push(row);
    } catch (error) {
      if (!(error instanceof ValueError)) throw error;
      const keyNames = m.key.map((k) => m.sourceColumns[k]!.name);
      const where = {
        table: m.label,
        key: m.key.length ? showKey(keyNames, keyOf(src, m.key)) : '(no key)',
        column: m.sourceColumns[i]!.name,
      };
      if (m.options.invalid === 'skip') {
        onReject({ ...where, error: error.message });
        continue;
      }
      throw new DataError(where, error.message, {
        cause: error,
        hint: 'fix the value in the source, change the target column type, or set `invalid: skip` to reject such rows to a file',
      });
    }
  }
  return rows;
}

/**
 * The rows that convert, the others left out uncounted, whatever `invalid` says: for passes over rows the
 * plan does not move (verify's look at the unfiltered table, the cache-key sample), where a value the target
 * refuses is for `run` to report.
 */
export function convertSkipping(m: TableMapping, source: Row[]): Row[] {
  if (m.convertsNothing || m.options.invalid === 'skip') return convertRows(m, source, () => undefined);
  return convertRows({ ...m, options: { ...m.options, invalid: 'skip' } }, source, () => undefined);
}
