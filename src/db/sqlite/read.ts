/** Reading rows: keyset pagination on the key, one pass for a key-less source, and look-ups by key. */
import type { Column, Row } from '../../convert/value.js';
import { DataError } from '../../errors.js';
import type { ReadSpec } from '../batch.js';
import { byteLimit } from '../batch-bytes.js';
import { encloseChecked } from '../sql-fragment.js';
import { formatTableRef, type RowSource } from '../table.js';
import { type Decoder, decoderFor, encoderFor, type Param, type Raw, StorageMismatch } from './codec.js';
import type { Db, Statement } from './connection.js';
import { columnList, FRAGMENT_SYNTAX, MAX_PARAMS, placeholders, quoteIdent, quoteTable } from './sql.js';

function sourceLabel(from: RowSource): string {
  return from.kind === 'table' ? formatTableRef(from.ref) : '(query)';
}

function fromClause(from: RowSource): { sql: string; where: string | null } {
  if (from.kind === 'query')
    return { sql: `${encloseChecked(from.sql, FRAGMENT_SYNTAX, 'query')} AS "_q"`, where: null };
  return {
    sql: quoteTable(from.ref),
    where: from.where ? encloseChecked(from.where, FRAGMENT_SYNTAX, 'where') : null,
  };
}

function keyText(columns: Column[], key: number[], raw: Raw[]): string | undefined {
  if (key.length === 0) return undefined;
  return key
    .map((i) => {
      const v = raw[i];
      const text = Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : String(v ?? null);
      return `${columns[i]!.name}=${text}`;
    })
    .join(',');
}

/** Raw cells -> a row of engine values; a cell that does not fit its column's kind is a DataError. */
export function rowDecoder(columns: Column[], key: number[], label: string): (raw: Raw[]) => Row {
  const decoders: Decoder[] = columns.map((c) => decoderFor(c.kind));
  const n = decoders.length;
  return (raw) => {
    const row: Row = new Array(n);
    let i = 0;
    try {
      for (; i < n; i++) row[i] = decoders[i]!(raw[i] ?? null);
    } catch (error) {
      if (!(error instanceof StorageMismatch)) throw error;
      const column = columns[i]!;
      const shown = keyText(columns, key, raw);
      throw new DataError(
        { table: label, ...(shown ? { key: shown } : {}), column: column.name },
        `the SQLite column (declared ${column.dbType}) ${error.message}`,
        {
          cause: error,
          hint:
            'SQLite does not enforce declared types: correct the value in the source, or read the table ' +
            'through `source: { query }` with a CAST of the column',
        },
      );
    }
    return row;
  };
}

/** Engine values of the key columns -> parameters comparable with the stored cells. */
export function keyEncoder(
  columns: Column[],
  key: number[],
): (values: readonly (Row[number] | null)[]) => Param[] {
  const encoders = key.map((i) => encoderFor(columns[i]!.kind));
  return (values) => encoders.map((encode, k) => encode(values[k] ?? null));
}

/** The SQL of one keyset page: rows after `?..` in key order (and up to `until`, inclusive). */
function keysetSql(spec: ReadSpec, withAfter: boolean): string {
  const { sql, where } = fromClause(spec.from);
  const keyNames = spec.key.map((i) => spec.columns[i]!.name);
  const keyCols = columnList(keyNames);
  const tuple = keyNames.length === 1 ? keyCols : `(${keyCols})`;
  const params = keyNames.length === 1 ? '?' : `(${placeholders(keyNames.length)})`;
  const conditions: string[] = [];
  if (where) conditions.push(where);
  if (withAfter) conditions.push(`${tuple} > ${params}`);
  if (spec.until) conditions.push(`${tuple} <= ${params}`);
  const whereSql = conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '';
  return (
    `SELECT ${columnList(spec.columns.map((c) => c.name))} FROM ${sql}${whereSql}` +
    ` ORDER BY ${keyCols} LIMIT ${spec.batchSize}`
  );
}

/**
 * Keyset pages, each one synchronous query. After the first page the next one starts after the last row's
 * key cells exactly as stored (same storage class), so the comparison is SQLite's own ordering.
 */
export async function* readKeyset(db: Db, spec: ReadSpec): AsyncGenerator<Row[]> {
  const label = sourceLabel(spec.from);
  const first = db.prepare(keysetSql(spec, false)).raw(true);
  const next = db.prepare(keysetSql(spec, true)).raw(true);
  const decode = rowDecoder(spec.columns, spec.key, label);
  const encodeKey = keyEncoder(spec.columns, spec.key);
  const until = spec.until ? encodeKey(spec.until) : [];
  const maxBytes = byteLimit(spec);
  let after: Param[] | null = spec.after ? encodeKey(spec.after) : null;
  for (;;) {
    const page = (after ? next.iterate(...after, ...until) : first.iterate(...until)) as IterableIterator<
      Raw[]
    >;
    const raw = takeUpTo(page, maxBytes);
    if (raw.length === 0) return;
    checkKeys(raw, spec, label);
    yield raw.map(decode);
    if (raw.length < spec.batchSize && !raw.cut) return;
    const last = raw[raw.length - 1]!;
    after = spec.key.map((i) => (last[i] ?? null) as Param);
  }
}

/**
 * A page's rows up to the one that brings them to `maxBytes` (the first always); `cut` when the page was
 * left there (leaving the loop resets the statement: the rest is read by the next page, never stepped to
 * twice).
 */
function takeUpTo(page: IterableIterator<Raw[]>, maxBytes: number): Raw[][] & { cut?: boolean } {
  const rows: Raw[][] & { cut?: boolean } = [];
  let bytes = 0;
  for (const row of page) {
    rows.push(row);
    bytes += cellBytes(row);
    if (bytes >= maxBytes) {
      rows.cut = true;
      break;
    }
  }
  return rows;
}

/** About the bytes of a row's cells (text length, blob length, 8 for a number). */
function cellBytes(row: Raw[]): number {
  let n = 0;
  for (const v of row) n += typeof v === 'string' || Buffer.isBuffer(v) ? v.length + 1 : 9;
  return n;
}

/** SQLite allows NULL in a rowid table's PRIMARY KEY columns; such a row cannot be paged past. */
function checkKeys(raw: Raw[][], spec: ReadSpec, label: string): void {
  for (const row of raw) {
    for (const i of spec.key) {
      if (row[i] === null) {
        throw new DataError(
          { table: label, column: spec.columns[i]!.name },
          'a key column holds NULL (SQLite allows NULL in PRIMARY KEY columns of rowid tables)',
          { hint: 'fill the key in the source, or name a NOT NULL unique column as the table’s `key:`' },
        );
      }
    }
  }
}

/** A key-less source: one pass over its own connection's cursor, batch by batch. */
export async function* readAll(db: Db, spec: ReadSpec): AsyncGenerator<Row[]> {
  const { sql, where } = fromClause(spec.from);
  const text = `SELECT ${columnList(spec.columns.map((c) => c.name))} FROM ${sql}${where ? ` WHERE ${where}` : ''}`;
  const decode = rowDecoder(spec.columns, [], sourceLabel(spec.from));
  const maxBytes = byteLimit(spec);
  let batch: Row[] = [];
  let bytes = 0;
  for (const raw of db.prepare(text).raw(true).iterate() as IterableIterator<Raw[]>) {
    bytes += cellBytes(raw);
    batch.push(decode(raw));
    if (batch.length >= spec.batchSize || bytes >= maxBytes) {
      yield batch;
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length) yield batch;
}

/**
 * Rows of `columns` whose key (indexes into `columns`) is one of the given key parameters, in statements of
 * at most {@link MAX_PARAMS} parameters. Statements are kept per size, so a writer's read-back after each
 * batch prepares nothing new.
 */
const MAX_CACHED = 8;

export class KeyLookup {
  private readonly statements = new Map<number, Statement>();
  private readonly perStatement: number;
  private readonly head: string;
  private readonly keyCount: number;

  constructor(
    private readonly db: Db,
    table: string,
    columns: Column[],
    key: number[],
  ) {
    this.keyCount = key.length;
    this.perStatement = Math.max(1, Math.floor(MAX_PARAMS / key.length));
    const keyCols = key.map((i) => quoteIdent(columns[i]!.name));
    const lhs = key.length === 1 ? keyCols[0]! : `(${keyCols.join(', ')})`;
    this.head = `SELECT ${columnList(columns.map((c) => c.name))} FROM ${table} WHERE ${lhs} IN `;
  }

  private statement(n: number): Statement {
    let stmt = this.statements.get(n);
    if (!stmt) {
      const list =
        this.keyCount === 1
          ? `(${placeholders(n)})`
          : `(VALUES ${Array.from({ length: n }, () => `(${placeholders(this.keyCount)})`).join(', ')})`;
      stmt = this.db.prepare(this.head + list).raw(true);
      if (this.statements.size >= MAX_CACHED) this.statements.clear();
      this.statements.set(n, stmt);
    }
    return stmt;
  }

  find(keys: Param[][]): Raw[][] {
    const out: Raw[][] = [];
    for (let start = 0; start < keys.length; start += this.perStatement) {
      const part = keys.slice(start, start + this.perStatement);
      const rows = this.statement(part.length).all(...part.flat()) as Raw[][];
      for (const row of rows) out.push(row);
    }
    return out;
  }
}

/** See Dialect.checkRead: SQLite resolves every name when it prepares the statement. */
export function checkRead(db: Db, from: RowSource): string | null {
  const { sql, where } = fromClause(from);
  try {
    db.prepare(`SELECT * FROM ${sql}${where ? ` WHERE ${where}` : ''} LIMIT 0`);
    return null;
  } catch (error) {
    if (error instanceof Error && error.name === 'SqliteError') return error.message;
    throw error;
  }
}
