/** `createTables`: CREATE TABLE for SQLite from mapped columns (types from `db/type-map.ts`). */
import type { Column } from '../../convert/value.js';
import type { TableRef } from '../table.js';
import { columnList, quoteIdent, quoteTable } from './sql.js';

/**
 * One statement; IF NOT EXISTS, so concurrent first runs agree. Key columns are declared NOT NULL: in a
 * rowid table SQLite's PRIMARY KEY alone would admit NULLs.
 */
export function createTableSql(ref: TableRef, columns: Column[], key: string[]): string[] {
  const lines = columns.map((c) => {
    const type = c.dbType ? ` ${c.dbType}` : '';
    return `${quoteIdent(c.name)}${type}${c.nullable && !key.includes(c.name) ? '' : ' NOT NULL'}`;
  });
  if (key.length > 0) lines.push(`PRIMARY KEY (${columnList(key)})`);
  return [`CREATE TABLE IF NOT EXISTS ${quoteTable(ref)} (\n  ${lines.join(',\n  ')}\n)`];
}
