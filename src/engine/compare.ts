/** The per-batch check: converted source rows vs the target's rows for the same keys, in canonical form. */
import type { Row } from '../convert/value.js';
import type { Mismatch } from './events.js';
import { keyOf, keyStringer, showKey } from './key-codec.js';
import type { TableMapping } from './mapping.js';

/**
 * One mismatch per source row whose target row is missing or different; `differing` (when given) collects
 * those rows' indexes.
 */
export function compareRows(
  m: TableMapping,
  rows: Row[],
  readBack: Row[],
  differing?: Set<number>,
): Mismatch[] {
  const keyString = keyStringer(m.key);
  const actual = new Map<string, Row>();
  for (const row of readBack) actual.set(keyString(row), row);
  const keyNames = m.key.map((i) => m.targetColumns[i]!.name);
  const out: Mismatch[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const got = actual.get(keyString(row));
    if (got && m.rowEquality.equals(row, got)) continue;
    differing?.add(i);
    out.push({
      table: m.label,
      key: showKey(keyNames, keyOf(row, m.key)),
      in: 'target',
      problem: got ? 'different' : 'missing',
      ...(got ? { columns: m.rowEquality.differing(row, got) } : {}),
    });
  }
  return out;
}
