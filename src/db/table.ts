/** Tables as every part of db/ names and describes them, and where a read takes its rows from. */
import type { Column } from '../convert/value.js';

export interface TableRef {
  schema: string | null;
  name: string;
}

export interface TableInfo {
  ref: TableRef;
  columns: Column[];
  primaryKey: string[] | null;
  /** Unique keys whose columns are all NOT NULL, usable for keyset pagination. */
  uniqueKeys: string[][];
  /**
   * Columns an INSERT must give a value: NOT NULL with no default, not generated and not filled by the
   * database (identity, serial, auto_increment, SQLite's rowid).
   */
  requiredColumns: string[];
  estimatedRows: number;
}

/** Where rows come from: a table (with an optional raw SQL filter) or a query. */
export type RowSource = { kind: 'table'; ref: TableRef; where?: string } | { kind: 'query'; sql: string };

export function parseTableRef(name: string): TableRef {
  const dot = name.indexOf('.');
  if (dot > 0 && dot < name.length - 1 && name.indexOf('.', dot + 1) < 0) {
    return { schema: name.slice(0, dot), name: name.slice(dot + 1) };
  }
  return { schema: null, name };
}

export function formatTableRef(ref: TableRef): string {
  return ref.schema ? `${ref.schema}.${ref.name}` : ref.name;
}
