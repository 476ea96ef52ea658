/** The key of a plan table: its columns' positions in the shared column order, checked against the target. */
import type { TableInfo } from '../../db/table.js';
import type { ColumnPairs } from './columns.js';
import { names, type TableEntry } from './entry.js';

/**
 * The positions of the key columns, valid in both column lists. A key column not migrated is a problem, and
 * so is a target with no primary or unique key on it when `onConflict` needs one.
 */
export function keyPositions(
  entry: TableEntry,
  sourceKey: string[],
  pairs: ColumnPairs,
  targetInfo: TableInfo,
): number[] {
  const { label, options, problems } = entry;
  const { sourceColumns, targetColumns } = pairs;
  const key: number[] = [];
  for (const k of sourceKey) {
    const i = sourceColumns.findIndex((c) => c.name === k);
    if (i < 0)
      problems.add(['key'], `key column ${k} is not among the migrated columns (${names(sourceColumns)})`);
    else key.push(i);
  }
  if (key.length > 0 && options.onConflict !== 'error') {
    const targetKey = key.map((i) => targetColumns[i]!.name).sort();
    const uniques = [targetInfo.primaryKey, ...targetInfo.uniqueKeys].filter(
      (u): u is string[] => u !== null,
    );
    if (!uniques.some((u) => sameSet(u, targetKey))) {
      problems.add(
        ['key'],
        `target table ${label} has no primary or unique key on (${targetKey.join(', ')}), needed for onConflict: ${options.onConflict}`,
      );
    }
  }
  return key;
}

function sameSet(a: string[], sortedB: string[]): boolean {
  if (a.length !== sortedB.length) return false;
  const sa = [...a].sort();
  return sa.every((v, i) => v === sortedB[i]);
}
