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
  const targetOf = pairing(m.key, rows, readBack);
  const keyNames = m.key.map((i) => m.targetColumns[i]!.name);
  const out: Mismatch[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const got = targetOf(row, i);
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

/**
 * The target row for each source row: by position when the read-back came in the batch's order (the usual
 * case: no map, no key strings), else by key.
 */
function pairing(
  key: readonly number[],
  rows: Row[],
  readBack: Row[],
): (row: Row, i: number) => Row | undefined {
  if (readBack.length === rows.length && rows.every((row, i) => sameKey(key, row, readBack[i]!))) {
    return (_, i) => readBack[i];
  }
  const keyString = keyStringer(key);
  const actual = new Map<string, Row>();
  for (const row of readBack) actual.set(keyString(row), row);
  return (row) => actual.get(keyString(row));
}

function sameKey(key: readonly number[], a: Row, b: Row): boolean {
  for (const k of key) {
    const x = a[k] ?? null;
    const y = b[k] ?? null;
    if (x === y) continue;
    if (!(Buffer.isBuffer(x) && Buffer.isBuffer(y) && x.equals(y))) return false;
  }
  return true;
}
