/**
 * The column mapping of a plan table (`columns:` drops and renames): which source column is written to which
 * target column, and the converter between them.
 */
import { type Converter, converterFor } from '../../convert/convert.js';
import type { Column } from '../../convert/value.js';
import type { Dialect } from '../../db/dialect.js';
import type { TableInfo } from '../../db/table.js';
import type { PlanTable } from '../../plan/schema.js';
import { names, type Problems, type TableEntry } from './entry.js';

/** The plan's `columns:`: a source column's target name, or `false` to drop it. */
export type ColumnRenames = NonNullable<PlanTable['columns']>;

/** The rename rule: the target column a source column is written to (its own name unless renamed). */
export function renamedTo(rename: ColumnRenames, name: string): string {
  const mapped = rename[name];
  return typeof mapped === 'string' ? mapped : name;
}

/** The source columns not dropped; a rename or drop of a column the source lacks is a problem. */
export function keptColumns(rename: ColumnRenames, sourceCols: Column[], problems: Problems): Column[] {
  for (const name of Object.keys(rename)) {
    if (!sourceCols.some((c) => c.name === name)) {
      problems.add(['columns', name], `the source has no column ${name} (it has: ${names(sourceCols)})`);
    }
  }
  return sourceCols.filter((c) => rename[c.name] !== false);
}

/** Source and target columns in one shared order, with the converter of each pair. */
export interface ColumnPairs {
  sourceColumns: Column[];
  /** Same length and order as sourceColumns. */
  targetColumns: Column[];
  converters: Converter[];
}

/**
 * Pairs each kept source column with its target column and a converter between them. A column the target
 * lacks or cannot store is a problem, and so is a required target column nothing writes.
 */
export function pairColumns(
  entry: TableEntry,
  kept: Column[],
  targetInfo: TableInfo,
  target: Dialect,
  onZeroDateNull: () => void,
): ColumnPairs {
  const { table, label, problems } = entry;
  const rename = table.columns ?? {};
  const targetCols: Column[] = [];
  const converters: Converter[] = [];
  for (const col of kept) {
    const targetColName = renamedTo(rename, col.name);
    const tcol = targetInfo.columns.find((c) => c.name === targetColName);
    if (!tcol) {
      problems.add(
        ['columns'],
        `target table ${label} has no column ${targetColName} for source column ${col.name}; ` +
          `drop it with \`${col.name}: false\` or rename it with \`${col.name}: <target column>\``,
      );
      continue;
    }
    const convert = converterFor(col, tcol, {
      zeroDates: entry.options.zeroDates,
      target: target.name,
      onZeroDateNull,
    });
    if (!convert) {
      problems.add(
        ['columns'],
        `source column ${col.name} (${col.dbType}) cannot be stored in target column ${tcol.name} (${tcol.dbType})`,
      );
      continue;
    }
    targetCols.push(tcol);
    converters.push(convert);
  }
  unwrittenRequired(targetInfo, targetCols, label, problems, columnsPath(table));
  const sourceColumns = kept.filter((c) => {
    const n = renamedTo(rename, c.name);
    return targetCols.some((t) => t.name === n);
  });
  return { sourceColumns, targetColumns: targetCols, converters };
}

/** Where a problem with the table's columns is written: `columns`, else `target`, else `source`. */
function columnsPath(table: PlanTable): (string | number)[] {
  return [table.columns ? 'columns' : table.target ? 'target' : 'source'];
}

/**
 * Target columns that every INSERT must fill (NOT NULL, no default) but no source column is mapped to: every
 * row would be refused, so it is a plan problem before any row is read.
 */
function unwrittenRequired(
  info: TableInfo,
  written: Column[],
  label: string,
  problems: Problems,
  at: (string | number)[],
): void {
  for (const name of info.requiredColumns) {
    if (written.some((c) => c.name === name)) continue;
    problems.add(
      at,
      `target column ${name} of table ${label} is NOT NULL with no default, and no source column is written ` +
        `to it, so every row would be refused: map a source column to it (\`columns: { <source column>: ${name} }\`), ` +
        'give it a default in the target, or make it nullable',
    );
  }
}
