/**
 * Target rows of a keyed table that no source row paired with: which of them are extra.
 *
 * - The source is a whole table: every one is extra.
 * - The source is a table with a `where`: the target may rightly hold rows outside the filter (migrated
 *   before the filter changed, or put there by something else), so a row is extra only when the source
 *   table itself, unfiltered, has no row with its key: its source row was deleted. A row whose source row
 *   is merely outside the filter is not a mismatch; how many there were is told in a warning.
 * - The source is a `{ query }`: there is no table to look a key up in, and a query may filter, join or
 *   compute its key, so a target row missing from its result cannot be told apart from one it never
 *   selected. None is called extra; how many there were is told in a warning.
 */
import type { Row } from '../convert/value.js';
import type { Dialect } from '../db/dialect.js';
import type { TableMapping } from '../engine/mapping.js';
import { canonicalKeyString } from './key-string.js';

/** How target rows without a source row are judged (see the top). */
export type ExtraRule = 'all' | 'unfiltered-source' | 'none';

/** Keys looked up in the source per query. */
const LOOKUP_KEYS = 5_000;

export function extraRule(m: TableMapping): ExtraRule {
  if (m.from.kind === 'query') return 'none';
  if (!m.from.where) return 'all';
  // A target key is looked up as a source key: both must be values of one kind.
  const sameKinds = m.key.every((i) => m.sourceColumns[i]!.kind === m.targetColumns[i]!.kind);
  return sameKinds ? 'unfiltered-source' : 'none';
}

/**
 * Of `rows` (target rows no source row paired with), those whose key the unfiltered source table does not
 * hold (rule `unfiltered-source`): looked up by key, {@link LOOKUP_KEYS} at a time.
 */
export async function withoutSourceRow(
  m: TableMapping,
  source: Dialect,
  rows: readonly Row[],
): Promise<Row[]> {
  if (m.from.kind !== 'table') return [];
  const ref = m.from.ref;
  const keyColumns = m.key.map((i) => m.sourceColumns[i]!);
  const keyAt = m.key.map((_, k) => k);
  const targetKey = canonicalKeyString(m);
  const sourceKey = canonicalKeyString(m, keyAt);
  const out: Row[] = [];
  for (let start = 0; start < rows.length; start += LOOKUP_KEYS) {
    const part = rows.slice(start, start + LOOKUP_KEYS);
    const keys = part.map((row) => m.key.map((i) => row[i] ?? null));
    const found = new Set((await source.fetchByKeys(ref, keyColumns, keyAt, keys)).map(sourceKey));
    for (const row of part) if (!found.has(targetKey(row))) out.push(row);
  }
  return out;
}
