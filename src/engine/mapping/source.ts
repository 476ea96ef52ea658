/** The source side of a plan table: the table or query read, its columns, its key and its unique keys. */
import type { Column } from '../../convert/value.js';
import type { Dialect } from '../../db/dialect.js';
import { parseTableRef, type RowSource } from '../../db/table.js';
import { SchemaError } from '../../errors.js';
import type { PlanTable } from '../../plan/schema.js';

export interface SourceSide {
  from: RowSource;
  columns: Column[];
  /** The key's column names: the plan's `key`, else the primary key, else the first unique key; or none. */
  key: string[];
  /** Column sets the source says are unique: its primary key and NOT NULL unique keys. */
  uniques: string[][];
  estimatedRows: number;
}

/** The table (with its `where`) or the query a plan table reads, checked against the source. */
export async function resolveSource(table: PlanTable, index: number, source: Dialect): Promise<SourceSide> {
  if (typeof table.source !== 'string') {
    const from: RowSource = { kind: 'query', sql: table.source.query };
    await checkSourceSql(source, from, index, ['source', 'query']);
    const columns = await source.describeQuery(table.source.query);
    return { from, columns, key: table.key ?? [], uniques: [], estimatedRows: 0 };
  }
  const ref = parseTableRef(table.source);
  const info = await source.describeTable(ref);
  if (!info) {
    throw new SchemaError(
      `tables[${index}].source: table ${table.source} does not exist in the source (${source.display})`,
      {
        hint: 'check the table name (schema.table is allowed) and the source URL',
      },
    );
  }
  const from: RowSource = table.where ? { kind: 'table', ref, where: table.where } : { kind: 'table', ref };
  if (table.where) await checkSourceSql(source, from, index, ['where']);
  return {
    from,
    columns: info.columns,
    key: table.key ?? info.primaryKey ?? info.uniqueKeys[0] ?? [],
    uniques: [...(info.primaryKey ? [info.primaryKey] : []), ...info.uniqueKeys],
    estimatedRows: info.estimatedRows,
  };
}

/**
 * The plan's own SQL for a table (its `where`, its query), run by the source without reading a row: a
 * statement the server refuses is a plan problem at that line, not a failure half-way through a run.
 */
async function checkSourceSql(
  source: Dialect,
  from: RowSource,
  index: number,
  at: (string | number)[],
): Promise<void> {
  const refused = await source.checkRead(from);
  if (refused === null) return;
  const what = from.kind === 'query' ? 'query' : '`where`';
  const message = `the source refused the table's ${what}: ${refused}`;
  throw new SchemaError(`tables[${index}].${at.join('.')}: ${message}`, {
    hint: `fix the ${what} (\`migrate validate\` runs it on the source without reading a row)`,
    problems: [{ path: ['tables', index, ...at], message }],
  });
}
