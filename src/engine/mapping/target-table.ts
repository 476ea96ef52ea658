/**
 * The target table of a plan table: as the target describes it, or, with `createTables`, as it will be
 * created (its DDL planned from the source columns).
 */
import type { Column } from '../../convert/value.js';
import type { Dialect } from '../../db/dialect.js';
import { formatTableRef, type TableInfo, type TableRef } from '../../db/table.js';
import { mapColumns, TypeMapError } from '../../db/type-map.js';
import { NotYetError, SchemaError } from '../../errors.js';
import { type ColumnRenames, renamedTo } from './columns.js';
import type { TableEntry } from './entry.js';

interface TargetTable {
  info: TableInfo;
  /** The statements that create the table; null: it exists. */
  createSql: string[] | null;
}

/**
 * The target table `ref`. Missing, it is planned for creation when `createTables` is set and the command
 * creates tables (`planCreate`); otherwise a missing table is an error.
 */
export async function resolveTargetTable(
  entry: TableEntry,
  ref: TableRef,
  dialects: { source: Dialect; target: Dialect },
  kept: Column[],
  sourceKey: string[],
  planCreate: boolean,
): Promise<TargetTable> {
  const { table, index, label, options } = entry;
  const { source, target } = dialects;
  const info = await target.describeTable(ref);
  if (info) return { info, createSql: null };
  const at = ['tables', index, table.target ? 'target' : 'source'];
  if (!options.createTables || !planCreate) {
    const later = options.createTables ? ' yet (createTables: `migrate run` creates it)' : '';
    const message = `table ${label} does not exist in the target${later} (${target.display})`;
    throw new SchemaError(`tables[${index}].target: ${message}`, {
      hint: options.createTables
        ? 'run `migrate run` first: it creates the table'
        : 'create it first, or set `createTables: true` to create it from the source schema',
      problems: [{ path: at, message }],
    });
  }
  const rename = table.columns ?? {};
  const targetKey = sourceKey.filter((k) => kept.some((c) => c.name === k)).map((k) => renamedTo(rename, k));
  const planned = await plannedTable(target, source, ref, kept, rename, targetKey, at);
  return { info: planned.info, createSql: planned.sql };
}

/**
 * `createTables` for a missing target table: the table as it will be created (the kept source columns,
 * renamed, with types mapped by `db/type-map.ts`) and its DDL. A column with no exact target type is a
 * plan problem.
 */
async function plannedTable(
  target: Dialect,
  source: Dialect,
  ref: TableRef,
  kept: Column[],
  rename: ColumnRenames,
  key: string[],
  at: (string | number)[],
): Promise<{ info: TableInfo; sql: string[] }> {
  if (!target.tableCreator) throw new NotYetError(`\`createTables: true\` into a ${target.name} target`);
  const label = formatTableRef(ref);
  let columns: Column[];
  try {
    columns = mapColumns(
      kept.map((c) => ({ ...c, name: renamedTo(rename, c.name) })),
      key,
      source.name,
      target.name,
    );
  } catch (error) {
    if (!(error instanceof TypeMapError)) throw error;
    const message = `table ${label} cannot be created in the target: ${error.message}`;
    throw new SchemaError(message, {
      hint: 'create the table yourself, or drop the column with `<column>: false`',
      problems: [{ path: at, message }],
    });
  }
  return {
    info: {
      ref,
      columns,
      primaryKey: key.length > 0 ? key : null,
      uniqueKeys: [],
      requiredColumns: [],
      estimatedRows: 0,
    },
    sql: await target.tableCreator.createTableSql(ref, columns, key),
  };
}
