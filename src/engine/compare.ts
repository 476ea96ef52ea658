/** The per-batch check: converted source rows vs the target's rows for the same keys, in canonical form. */
import type { Row } from '../convert/value.js';
import type { Mismatch } from './events.js';
import { keyOf, keyStringer, showKey } from './key-codec.js';
import type { TableMapping } from './mapping.js';

/** `expected[i]` is `m.rowJson(rows[i])`. Returns one mismatch per missing or different row. */
export function compareRows(m: TableMapping, rows: Row[], expected: string[], readBack: Row[]): Mismatch[] {
  const keyString = keyStringer(m.key);
  const actual = new Map<string, Row>();
  for (const row of readBack) actual.set(keyString(row), row);
  const keyNames = m.key.map((i) => m.targetColumns[i]!.name);
  const out: Mismatch[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const got = actual.get(keyString(row));
    if (got && m.rowJson(got) === expected[i]) continue;
    out.push({
      table: m.label,
      key: showKey(keyNames, keyOf(row, m.key)),
      in: 'target',
      problem: got ? 'different' : 'missing',
      ...(got ? { columns: differingColumns(m, row, got) } : {}),
    });
  }
  return out;
}

export function differingColumns(m: TableMapping, a: Row, b: Row): string[] {
  const out: string[] = [];
  m.targetColumns.forEach((c, i) => {
    const one = (r: Row) => m.rowJson(r.map((v, j) => (j === i ? v : null)));
    if (one(a) !== one(b)) out.push(c.name);
  });
  return out;
}
