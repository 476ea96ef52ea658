/** The string a row's key is paired and looked up by, on both sides of a comparison. */
import { canonicalizer } from '../convert/canonical.js';
import type { Row } from '../convert/value.js';
import type { TableMapping } from '../engine/mapping.js';

/**
 * A Map key for a row's key values in canonical form, so that the same key read from two databases pairs up
 * even where their text forms differ (a decimal `1.50` read as `1.5`, a timestamp with or without a zero fraction).
 * `at`: where the key's values are in the row (default: the table's key columns).
 */
export function canonicalKeyString(m: TableMapping, at: readonly number[] = m.key): (row: Row) => string {
  const parts = m.key.map((i, k) => ({ i: at[k]!, canon: canonicalizer(m.targetColumns[i]!.kind) }));
  if (parts.length === 1) {
    const { i, canon } = parts[0]!;
    return (row) => canon(row[i] ?? null) ?? '\u0000';
  }
  return (row) => {
    let s = '';
    for (const p of parts) s += `${p.canon(row[p.i] ?? null) ?? '\u0000'}\u0001`;
    return s;
  };
}
