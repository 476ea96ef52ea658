/** `createTables`: CREATE TABLE for PostgreSQL from mapped columns (types from `db/type-map.ts`). */
import type { Column } from '../../convert/value.js';
import type { TableRef } from '../table.js';
import { columnList, quoteIdent, quoteTable } from './sql.js';

/**
 * One statement; IF NOT EXISTS, so two runs of the plan starting at once both go on with the one table.
 * The schema must exist (it is never created).
 */
export function createTableSql(ref: TableRef, columns: Column[], key: string[]): string[] {
  const lines = columns.map((c) => `${quoteIdent(c.name)} ${c.dbType}${c.nullable ? '' : ' NOT NULL'}`);
  if (key.length > 0) lines.push(`PRIMARY KEY (${columnList(key)})`);
  return [`CREATE TABLE IF NOT EXISTS ${quoteTable(ref)} (\n  ${lines.join(',\n  ')}\n)`];
}
