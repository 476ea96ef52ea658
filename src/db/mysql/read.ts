/** Reading rows: keyset pagination on the key, or one streamed pass for a key-less source. */
import type { Readable } from 'node:stream';
import type mysql from 'mysql2/promise';
import type { Column, Row } from '../../convert/value.js';
import type { ReadSpec } from '../batch.js';
import { byteLimit, PageSizer } from '../batch-bytes.js';
import { encloseChecked } from '../sql-fragment.js';
import type { RowSource } from '../table.js';
import { encoderFor, rowDecoder, selectExpr } from './codec.js';
import { FRAGMENT_SYNTAX, quoteIdent, quoteTable } from './sql.js';
import { type CoreConnection, queryWire, WireBatch } from './wire.js';

/** Every field as the server's raw bytes; codec.ts decodes them per column. */
const RAW = { rowsAsArray: true, typeCast: false } as const;

type RawRow = (Buffer | null)[];

function fromClause(from: RowSource): { sql: string; where: string | null } {
  if (from.kind === 'query')
    return {
      sql: `${encloseChecked(from.sql, FRAGMENT_SYNTAX, 'query')} AS ${quoteIdent('_q')}`,
      where: null,
    };
  return {
    sql: quoteTable(from.ref),
    where: from.where ? encloseChecked(from.where, FRAGMENT_SYNTAX, 'where') : null,
  };
}

/**
 * `(k1, k2, …) op (v1, v2, …)` in lexicographic order, spelled out with AND/OR (which MySQL and MariaDB turn
 * into index ranges, unlike a row-constructor comparison). `strict`: `<` or `>`; `last`: the operator for
 * the last key column (`>` after a key, `<=` up to one).
 */
function keyCompare(cols: string[], literals: string[], strict: string, last: string): string {
  const terms: string[] = [];
  for (let i = 0; i < cols.length; i++) {
    const eq = cols.slice(0, i).map((c, j) => `${c} = ${literals[j]}`);
    const op = i === cols.length - 1 ? last : strict;
    terms.push([...eq, `${cols[i]} ${op} ${literals[i]}`].join(' AND '));
  }
  if (terms.length === 1) return terms[0]!;
  // The leading column's bound lets the optimizer start the range scan at the right place.
  const lead = `${cols[0]} ${strict}= ${literals[0]}`;
  return `${lead} AND (${terms.map((t) => `(${t})`).join(' OR ')})`;
}

function keyLiterals(spec: ReadSpec, values: Row): string[] {
  return spec.key.map((ci, i) => encoderFor(spec.columns[ci]!)(values[i] ?? null));
}

/** The SQL of one keyset page: rows after `after` (and up to `until`) in key order. */
function keysetSql(spec: ReadSpec, after: Row | null): string {
  const { sql, where } = fromClause(spec.from);
  const keyCols = spec.key.map((i) => quoteIdent(spec.columns[i]!.name));
  const conditions: string[] = [];
  if (where) conditions.push(where);
  if (after) conditions.push(`(${keyCompare(keyCols, keyLiterals(spec, after), '>', '>')})`);
  if (spec.until) conditions.push(`(${keyCompare(keyCols, keyLiterals(spec, spec.until), '<', '<=')})`);
  const whereSql = conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '';
  return (
    `SELECT ${spec.columns.map((c) => selectExpr(c)).join(', ')} FROM ${sql}${whereSql}` +
    ` ORDER BY ${keyCols.join(', ')} LIMIT ${spec.batchSize}`
  );
}

/**
 * Keyset pages kept as the text protocol sent them (WireBatch): decoded only when asked for, or transcoded
 * for the target without being decoded (db/bridge/).
 */
export async function* readKeysetWire(conn: mysql.Connection, spec: ReadSpec): AsyncGenerator<WireBatch> {
  const decode = rowDecoder(spec.columns) as (raw: (Buffer | null)[]) => Row;
  const core = (conn as unknown as { connection: CoreConnection }).connection;
  const sizer = new PageSizer(spec);
  let after = spec.after;
  // Pages are alike: each is collected into a buffer a little larger than the last one's rows.
  let hint = 0;
  for (;;) {
    const { rows: wire, cut } = await queryWire(core, keysetSql(sizer.page(), after), hint, sizer.maxBytes);
    if (wire.count === 0) return;
    hint = Math.ceil(wire.data.length * 1.1) + 4096;
    const batch = new WireBatch(wire, spec.columns.length, decode);
    yield batch;
    if (sizer.done(wire.count, wire.data.length, cut)) return;
    after = spec.key.map((i) => batch.last[i] ?? null);
  }
}

/** readKeysetWire's batches, decoded. */
export async function* readKeyset(conn: mysql.Connection, spec: ReadSpec): AsyncGenerator<Row[]> {
  for await (const batch of readKeysetWire(conn, spec)) yield batch.rows();
}

/**
 * A key-less source: one streamed pass, batch by batch. The driver pauses the socket while the consumer
 * is busy (backpressure), so memory stays bounded by about one batch.
 */
export async function* readAll(conn: mysql.Connection, spec: ReadSpec): AsyncGenerator<Row[]> {
  const { sql, where } = fromClause(spec.from);
  const text = `SELECT ${spec.columns.map((c) => selectExpr(c)).join(', ')} FROM ${sql}${where ? ` WHERE ${where}` : ''}`;
  const decode = rowDecoder(spec.columns);
  const core = (conn as unknown as { connection: { query(o: object): { stream(o: object): Readable } } })
    .connection;
  const stream = core.query({ sql: text, ...RAW }).stream({ highWaterMark: Math.min(spec.batchSize, 1000) });
  const maxBytes = byteLimit(spec);
  let batch: Row[] = [];
  let bytes = 0;
  for await (const raw of stream as AsyncIterable<RawRow>) {
    for (const field of raw) bytes += field === null ? 1 : field.length + 1;
    batch.push(decode(raw));
    if (batch.length >= spec.batchSize || bytes >= maxBytes) {
      yield batch;
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length) yield batch;
}

/** `WHERE key IN (…)` for a list of key values (a row constructor for a composite key). */
export function keysInSql(keyCols: Column[], keys: Row[], alias?: string): string {
  const enc = keyCols.map(encoderFor);
  const prefix = alias ? `${alias}.` : '';
  const names = keyCols.map((c) => prefix + quoteIdent(c.name));
  if (keyCols.length === 1) {
    return `${names[0]} IN (${keys.map((k) => enc[0]!(k[0] ?? null)).join(', ')})`;
  }
  const tuples = keys.map((k) => `(${enc.map((e, i) => e(k[i] ?? null)).join(', ')})`);
  return `(${names.join(', ')}) IN (${tuples.join(', ')})`;
}

const FETCH_CHUNK = 1000;

/** Rows whose key is one of `keys`, a chunk of keys per query. */
export async function fetchByKeys(
  conn: mysql.Connection,
  table: string,
  columns: Column[],
  key: number[],
  keys: Row[],
): Promise<Row[]> {
  const keyCols = key.map((i) => columns[i]!);
  const decode = rowDecoder(columns);
  const select = `SELECT ${columns.map((c) => selectExpr(c)).join(', ')} FROM ${table} WHERE `;
  const out: Row[] = [];
  for (let i = 0; i < keys.length; i += FETCH_CHUNK) {
    const chunk = keys.slice(i, i + FETCH_CHUNK);
    const [raw] = await conn.query<mysql.RowDataPacket[]>({
      sql: select + keysInSql(keyCols, chunk),
      ...RAW,
    });
    for (const r of raw as unknown as RawRow[]) out.push(decode(r));
  }
  return out;
}

/**
 * The key every `every` rows in key order (the last key of each full step), for splitting a table into
 * chunks: each step is one index range scan that skips `every - 1` entries past the previous boundary.
 */
export async function keyBoundaries(
  conn: mysql.Connection,
  spec: { from: RowSource; columns: Column[]; key: number[]; every: number },
): Promise<Row[]> {
  const keyColumns = spec.key.map((i) => spec.columns[i]!);
  const read: ReadSpec = {
    from: spec.from,
    columns: keyColumns,
    key: keyColumns.map((_, i) => i),
    batchSize: 1,
    after: null,
  };
  const decode = rowDecoder(keyColumns);
  const out: Row[] = [];
  let after: Row | null = null;
  for (;;) {
    const sql = `${keysetSql(read, after)} OFFSET ${Math.max(0, spec.every - 1)}`;
    const [raw] = await conn.query<mysql.RowDataPacket[]>({ sql, ...RAW });
    const first = (raw as unknown as RawRow[])[0];
    if (!first) return out;
    after = decode(first);
    out.push(after);
  }
}

/** See Dialect.intExtent. */
export async function intExtent(
  conn: mysql.Connection,
  spec: { from: RowSource; column: Column },
): Promise<[string, string] | null> {
  const { sql, where } = fromClause(spec.from);
  const col = quoteIdent(spec.column.name);
  const [rows] = await conn.query<mysql.RowDataPacket[]>({
    sql: `SELECT CAST(MIN(${col}) AS CHAR), CAST(MAX(${col}) AS CHAR) FROM ${sql}${where ? ` WHERE ${where}` : ''}`,
    rowsAsArray: true,
  });
  const [min, max] = (rows[0] ?? []) as (string | null)[];
  return min && max ? [min, max] : null;
}

/** See Dialect.checkRead. */
export async function checkRead(conn: mysql.Connection, from: RowSource): Promise<string | null> {
  const { sql, where } = fromClause(from);
  try {
    await conn.query(`SELECT * FROM ${sql}${where ? ` WHERE ${where}` : ''} LIMIT 0`);
    return null;
  } catch (error) {
    // A statement error leaves the connection usable (`fatal` unset) and carries the server's error number.
    const e = error as { fatal?: unknown; errno?: unknown; message?: unknown };
    if (!e.fatal && typeof e.errno === 'number' && typeof e.message === 'string') return e.message;
    throw error;
  }
}
