/**
 * `createTables`: CREATE TABLE for MySQL/MariaDB from mapped columns (types from `db/type-map.ts`).
 *
 * - utf8mb4, InnoDB.
 * - Text key columns get a binary NO PAD collation (MariaDB `utf8mb4_nopad_bin`, MySQL 8
 *   `utf8mb4_0900_bin`): keys that differ only in case, accents or trailing spaces (`abc`/`ABC`/`abc `)
 *   stay distinct, as they are in PostgreSQL and SQLite.
 * - TIMESTAMP columns get an explicit NULL/DEFAULT, so that no server setting
 *   (`explicit_defaults_for_timestamp`) adds `ON UPDATE CURRENT_TIMESTAMP`, which would change values the
 *   tool writes.
 */
import type { Column } from '../../convert/value.js';
import type { TableRef } from '../table.js';
import { columnList, quoteIdent, quoteTable } from './sql.js';

const TEXTUAL = /^(var)?char\b|text$|^(enum|set)\b/i;

export function createTableSql(
  ref: TableRef,
  columns: Column[],
  key: string[],
  server: { mariadb: boolean },
): string[] {
  const binary = server.mariadb ? 'utf8mb4_nopad_bin' : 'utf8mb4_0900_bin';
  const lines = columns.map((c) => {
    const type = c.dbType.trim();
    let line = `${quoteIdent(c.name)} ${type}`;
    if (key.includes(c.name) && TEXTUAL.test(type)) line += ` CHARACTER SET utf8mb4 COLLATE ${binary}`;
    if (/^timestamp\b/i.test(type)) {
      const fsp = /\((\d)\)/.exec(type)?.[1];
      line += c.nullable
        ? ' NULL DEFAULT NULL'
        : ` NOT NULL DEFAULT CURRENT_TIMESTAMP${fsp ? `(${fsp})` : ''}`;
    } else line += c.nullable ? ' NULL' : ' NOT NULL';
    return line;
  });
  if (key.length > 0) lines.push(`PRIMARY KEY (${columnList(key)})`);
  return [
    `CREATE TABLE IF NOT EXISTS ${quoteTable(ref)} (\n  ${lines.join(',\n  ')}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ];
}
