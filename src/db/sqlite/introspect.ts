/**
 * Tables, columns, declared types and keys from SQLite's pragmas.
 *
 * Keys: the declared PRIMARY KEY, and UNIQUE indexes (not partial, no expressions) whose columns are all
 * NOT NULL. A rowid table with neither is key-less: its hidden rowid is not a column the target has, so the
 * table is copied in one transaction into an empty target (as for any key-less table); give it a `key:` in
 * the plan to make it resumable batch by batch.
 */
import type { Column } from '../../convert/value.js';
import { encloseChecked } from '../sql-fragment.js';
import type { TableInfo, TableRef } from '../table.js';
import { kindOfDeclaredType } from './codec.js';
import type { Db } from './connection.js';
import { FRAGMENT_SYNTAX, quoteIdent, quoteTable } from './sql.js';

interface ColumnRow {
  name: string;
  type: string;
  notnull: bigint;
  dflt_value: string | null;
  pk: bigint;
}

interface IndexRow {
  name: string;
  unique: bigint;
  origin: string;
  partial: bigint;
}

interface IndexColumnRow {
  cid: bigint;
  name: string | null;
}

export function describeTable(db: Db, ref: TableRef): TableInfo | null {
  const schema = ref.schema ?? 'main';
  const attached = db
    .prepare('SELECT name FROM pragma_database_list WHERE name = ? COLLATE NOCASE')
    .get(schema);
  if (!attached) return null;
  const s = quoteIdent(schema);
  const listed = db
    .prepare(
      'SELECT type, wr FROM pragma_table_list WHERE schema = ? COLLATE NOCASE AND name = ? COLLATE NOCASE',
    )
    .get(schema, ref.name) as { type: string; wr: bigint } | undefined;
  if (!listed || (listed.type !== 'table' && listed.type !== 'view')) return null;
  const withoutRowid = listed.wr === 1n;

  const rows = db.prepare(`PRAGMA ${s}.table_info(${quoteIdent(ref.name)})`).all() as ColumnRow[];
  const pkRows = rows.filter((r) => r.pk > 0n).sort((a, b) => Number(a.pk - b.pk));
  const primaryKey = pkRows.length > 0 ? pkRows.map((r) => r.name) : null;
  // INTEGER PRIMARY KEY is the rowid, and WITHOUT ROWID tables enforce NOT NULL on their key; other rowid
  // tables allow NULL in PRIMARY KEY columns (a legacy quirk of SQLite).
  const rowidAlias =
    pkRows.length === 1 && !withoutRowid && pkRows[0]!.type.trim().toUpperCase() === 'INTEGER';
  const notNull = (r: ColumnRow) => r.notnull === 1n || (r.pk > 0n && (withoutRowid || rowidAlias));
  const columns: Column[] = rows.map((r) => ({
    name: r.name,
    kind: kindOfDeclaredType(r.type),
    dbType: r.type.trim() || 'ANY',
    nullable: !notNull(r),
  }));
  const byName = new Map(rows.map((r) => [r.name, r]));

  const uniqueKeys: string[][] = [];
  const indexes = db.prepare(`PRAGMA ${s}.index_list(${quoteIdent(ref.name)})`).all() as IndexRow[];
  for (const index of indexes) {
    if (index.unique !== 1n || index.partial === 1n || index.origin === 'pk') continue;
    const cols = db.prepare(`PRAGMA ${s}.index_info(${quoteIdent(index.name)})`).all() as IndexColumnRow[];
    if (cols.some((c) => c.cid < 0n || c.name === null)) continue; // rowid or expression
    const names = cols.map((c) => c.name!);
    if (names.every((n) => notNullColumn(byName.get(n)))) uniqueKeys.push(names);
  }
  uniqueKeys.sort((a, b) => a.length - b.length);

  // The rowid alias is filled by SQLite when left out.
  const requiredColumns = rows
    .filter((r) => r.notnull === 1n && r.dflt_value === null && !(rowidAlias && r.pk > 0n))
    .map((r) => r.name);
  return {
    ref,
    columns,
    primaryKey,
    uniqueKeys,
    requiredColumns,
    estimatedRows: estimateRows(db, ref, schema),
  };

  function notNullColumn(r: ColumnRow | undefined): boolean {
    return r !== undefined && notNull(r);
  }
}

/** ANALYZE's row count when there is one; else an exact count (SQLite keeps no cheaper estimate). */
function estimateRows(db: Db, ref: TableRef, schema: string): number {
  const s = quoteIdent(schema);
  const hasStat = db.prepare(`SELECT 1 FROM ${s}.sqlite_schema WHERE name = 'sqlite_stat1'`).get();
  if (hasStat) {
    const stat = db
      .prepare(`SELECT stat FROM ${s}.sqlite_stat1 WHERE tbl = ? COLLATE NOCASE ORDER BY idx IS NULL LIMIT 1`)
      .get(ref.name) as { stat: string } | undefined;
    const n = stat ? Number.parseInt(stat.stat, 10) : Number.NaN;
    if (Number.isFinite(n)) return n;
  }
  const count = db
    .prepare(`SELECT count(*) FROM ${quoteTable(ref)}`)
    .pluck()
    .get() as bigint;
  return Number(count);
}

/**
 * Columns of a query's result, without running it. A result column read straight from a table has that
 * column's declared type; an expression has none, and is read as text (each cell in its text form).
 */
export function describeQuery(db: Db, sql: string): Column[] {
  encloseChecked(sql, FRAGMENT_SYNTAX, 'query');
  return db
    .prepare(sql)
    .columns()
    .map((c) => ({
      name: c.name,
      kind: kindOfDeclaredType(c.type),
      dbType: c.type?.trim() || 'ANY',
      nullable: true,
    }));
}
