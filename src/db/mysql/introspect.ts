/** Tables, columns, types and keys from information_schema; a query's columns from its result metadata. */
import type mysql from 'mysql2/promise';
import type { Column, ColumnKind } from '../../convert/value.js';
import { encloseChecked } from '../sql-fragment.js';
import type { TableInfo, TableRef } from '../table.js';
import { kindOfMysqlType } from './codec.js';
import type { MysqlSession } from './connect.js';
import { FRAGMENT_SYNTAX, quoteIdent, quoteTable } from './sql.js';

/** Below this many estimated rows the count is exact (InnoDB's TABLE_ROWS is a rough guess, 0 when fresh). */
const EXACT_COUNT_BELOW = 100_000;

interface ColumnRow extends mysql.RowDataPacket {
  name: string;
  data_type: string;
  column_type: string;
  nullable: string;
  required: number | string;
}

interface KeyRow extends mysql.RowDataPacket {
  index_name: string;
  column_name: string | null;
  sub_part: string | null;
}

export async function describeTable(session: MysqlSession, ref: TableRef): Promise<TableInfo | null> {
  const { conn } = session;
  const schemaSql = ref.schema === null ? 'DATABASE()' : '?';
  const args = ref.schema === null ? [ref.name] : [ref.schema, ref.name];
  const [tables] = await conn.query<mysql.RowDataPacket[]>(
    `SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${schemaSql} AND TABLE_NAME = ?`,
    ref.schema === null ? [ref.name] : [ref.schema, ref.name],
  );
  if (tables.length === 0) return null;

  const [cols] = await conn.query<ColumnRow[]>(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS data_type, COLUMN_TYPE AS column_type, IS_NULLABLE AS nullable,
       IS_NULLABLE = 'NO' AND COLUMN_DEFAULT IS NULL AND EXTRA NOT LIKE '%auto_increment%'
         AND EXTRA NOT LIKE '%GENERATED%' AND EXTRA NOT IN ('VIRTUAL', 'PERSISTENT', 'STORED') AS required
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${schemaSql} AND TABLE_NAME = ?
     ORDER BY ORDINAL_POSITION`,
    args,
  );
  const json = session.mariadb ? await jsonColumns(conn, schemaSql, args) : new Set<string>();
  const columns: Column[] = cols.map((r) => ({
    name: r.name,
    kind: kindOfMysqlType(r.data_type, r.column_type, json.has(r.name)),
    dbType: r.column_type,
    nullable: r.nullable === 'YES',
  }));

  const [keys] = await conn.query<KeyRow[]>(
    `SELECT INDEX_NAME AS index_name, COLUMN_NAME AS column_name, SUB_PART AS sub_part
     FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = ${schemaSql} AND TABLE_NAME = ? AND NON_UNIQUE = 0
     ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`,
    args,
  );
  const byIndex = new Map<string, { cols: string[]; usable: boolean }>();
  for (const k of keys) {
    const entry = byIndex.get(k.index_name) ?? { cols: [], usable: true };
    // A prefix index (`UNIQUE (name(10))`) or a functional one does not make the whole value unique.
    if (k.column_name === null || k.sub_part !== null) entry.usable = false;
    else entry.cols.push(k.column_name);
    byIndex.set(k.index_name, entry);
  }
  let primaryKey: string[] | null = null;
  const uniqueKeys: string[][] = [];
  const notNull = new Set(columns.filter((c) => !c.nullable).map((c) => c.name));
  for (const [name, { cols: names, usable }] of byIndex) {
    if (!usable) continue;
    if (name === 'PRIMARY') primaryKey = names;
    else if (names.every((n) => notNull.has(n))) uniqueKeys.push(names);
  }
  uniqueKeys.sort((a, b) => a.length - b.length);

  let estimatedRows = Number(tables[0]?.n ?? 0);
  if (!(estimatedRows >= EXACT_COUNT_BELOW)) {
    const [count] = await conn.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteTable(ref)}`);
    estimatedRows = Number(count[0]?.n ?? 0);
  }
  const requiredColumns = cols.filter((r) => Number(r.required) === 1).map((r) => r.name);
  return { ref, columns, primaryKey, uniqueKeys, requiredColumns, estimatedRows };
}

/**
 * MariaDB's JSON is LONGTEXT with `CHECK (json_valid(col))`: the columns of the table carrying exactly
 * that check (column-level, or a table-level check of the same text).
 */
async function jsonColumns(conn: mysql.Connection, schemaSql: string, args: string[]): Promise<Set<string>> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(
    `SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS
     WHERE CONSTRAINT_SCHEMA = ${schemaSql} AND TABLE_NAME = ?`,
    args,
  );
  const out = new Set<string>();
  for (const r of rows) {
    const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(r.clause).trim());
    if (m) out.add(m[1]!.replaceAll('``', '`'));
  }
  return out;
}

// Protocol column types (include/mysql_com.h enum_field_types).
const TYPE_NAMES: Record<number, string> = {
  0: 'decimal',
  1: 'tinyint',
  2: 'smallint',
  3: 'int',
  4: 'float',
  5: 'double',
  7: 'timestamp',
  8: 'bigint',
  9: 'mediumint',
  10: 'date',
  11: 'time',
  12: 'datetime',
  13: 'year',
  14: 'date',
  15: 'varchar',
  16: 'bit',
  245: 'json',
  246: 'decimal',
  247: 'enum',
  248: 'set',
  249: 'tinyblob',
  250: 'mediumblob',
  251: 'longblob',
  252: 'blob',
  253: 'varchar',
  254: 'char',
  255: 'geometry',
};
const UNSIGNED_FLAG = 32;
const ENUM_FLAG = 256;
const SET_FLAG = 2048;
const BINARY_CHARSET = 63;
const TEXTUAL = new Set(['varchar', 'char', 'tinyblob', 'mediumblob', 'longblob', 'blob']);

/** Columns of a query's result, learned without reading rows (LIMIT 0 over the query). */
export async function describeQuery(session: MysqlSession, sql: string): Promise<Column[]> {
  const [, fields] = await session.conn.query(
    `SELECT * FROM ${encloseChecked(sql, FRAGMENT_SYNTAX, 'query')} AS ${quoteIdent('_q')} LIMIT 0`,
  );
  return (fields ?? []).map((f) => {
    const flags = typeof f.flags === 'number' ? f.flags : 0;
    let type = TYPE_NAMES[f.columnType ?? -1] ?? 'unknown';
    if (flags & ENUM_FLAG) type = 'enum';
    else if (flags & SET_FLAG) type = 'set';
    const binary = f.characterSet === BINARY_CHARSET;
    if (TEXTUAL.has(type)) {
      if (binary) type = type === 'varchar' ? 'varbinary' : type === 'char' ? 'binary' : type;
      else type = type.endsWith('blob') ? type.replace('blob', 'text') : type;
    }
    if (f.extendedTypeName) type = f.extendedTypeName.toLowerCase();
    let columnType = type;
    if (type === 'tinyint' && f.columnLength === 1) columnType = 'tinyint(1)';
    else if (type === 'bit') columnType = `bit(${f.columnLength ?? 1})`;
    else if (type === 'decimal') {
      const scale = f.decimals ?? 0;
      // columnLength counts the sign and the point.
      const precision = (f.columnLength ?? 11) - (scale > 0 ? 1 : 0) - (flags & UNSIGNED_FLAG ? 0 : 1);
      columnType = `decimal(${precision},${scale})`;
    } else if (type === 'datetime' || type === 'timestamp' || type === 'time') {
      const fsp = f.decimals ?? 0;
      if (fsp > 0 && fsp <= 6) columnType = `${type}(${fsp})`;
    }
    if (flags & UNSIGNED_FLAG && /int|decimal|float|double/.test(type)) columnType += ' unsigned';
    const kind: ColumnKind = kindOfMysqlType(type, columnType, f.extendedFormat === 'json');
    return { name: f.name, kind, dbType: columnType, nullable: true };
  });
}
