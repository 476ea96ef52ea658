/** Reading rows: keyset pagination on the key, or one cursor pass for a key-less source. */
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import QueryStream from 'pg-query-stream';
import type { Column, Row, Value } from '../../convert/value.js';
import type { Batch, CopyText, ReadSpec } from '../batch.js';
import { byteLimit, PageSizer } from '../batch-bytes.js';
import { encloseChecked } from '../sql-fragment.js';
import type { RowSource } from '../table.js';
import { type Decoder, decoderFor, identity, paramOf } from './codec.js';
import { parseCopyText } from './copy-text.js';
import { columnList, FRAGMENT_SYNTAX, quoteIdent, quoteTable } from './sql.js';

/** The FROM of a source and the condition its `where` adds (both enclosed: sql-fragment.ts). */
export function fromClause(from: RowSource): { sql: string; where: string | null } {
  if (from.kind === 'query')
    return { sql: `${encloseChecked(from.sql, FRAGMENT_SYNTAX, 'query')} AS "_q"`, where: null };
  return {
    sql: quoteTable(from.ref),
    where: from.where ? encloseChecked(from.where, FRAGMENT_SYNTAX, 'where') : null,
  };
}

/**
 * Decodes a row in place (the driver's array becomes the row: no copy per row); only the columns whose
 * kind needs decoding are touched.
 */
export function rowDecoder(columns: Column[]): (raw: (string | null)[]) => Row {
  const decoders: Decoder[] = columns.map((c) => decoderFor(c));
  const todo = decoders.flatMap((d, i) => (d === identity ? [] : [i]));
  const n = todo.length;
  return (raw) => {
    const row = raw as Row;
    for (let j = 0; j < n; j++) {
      const i = todo[j]!;
      row[i] = decoders[i]!(raw[i] as string | null);
    }
    return row;
  };
}

/** The SQL of one keyset page with parameters: rows after `$1..$k` (and up to the next k) in key order. */
function keysetSql(spec: ReadSpec, withAfter: boolean): string {
  const n = spec.key.length;
  const params = (from: number) => Array.from({ length: n }, (_, i) => `$${from + i}`);
  return pageSql(spec, withAfter ? params(1) : null, spec.until ? params(withAfter ? n + 1 : 1) : null);
}

/** Rows after the key values `after` and up to `until` (SQL expressions: parameters or literals). */
function pageSql(spec: ReadSpec, after: string[] | null, until: string[] | null): string {
  const { sql, where } = fromClause(spec.from);
  const keyNames = spec.key.map((i) => spec.columns[i]!.name);
  const keyCols = columnList(keyNames);
  const conditions: string[] = [];
  if (where) conditions.push(where);
  const tuple = (values: string[]) =>
    values.length === 1 ? [keyCols, values[0]!] : [`(${keyCols})`, `(${values.join(', ')})`];
  if (after) {
    const [cols, values] = tuple(after);
    conditions.push(`${cols} > ${values}`);
  }
  if (until) {
    const [cols, values] = tuple(until);
    conditions.push(`${cols} <= ${values}`);
  }
  const whereSql = conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '';
  return (
    `SELECT ${columnList(spec.columns.map((c) => c.name))} FROM ${sql}${whereSql}` +
    ` ORDER BY ${keyCols} LIMIT ${spec.batchSize}`
  );
}

/** A key value as an SQL literal (COPY takes no parameters); untyped, so it takes the key column's type. */
function literalOf(value: Value): string {
  const v = paramOf(value);
  if (v === null) return 'NULL';
  return pg.escapeLiteral(typeof v === 'string' ? v : `\\x${v.toString('hex')}`);
}

/** One COPY … TO STDOUT's output, whole. */
export async function copyOut(client: pg.Client, sql: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of client.query(copyTo(sql)) as AsyncIterable<Buffer>) chunks.push(chunk);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/**
 * One COPY … TO STDOUT's output up to the line that brings it to `maxBytes` (the first line is always
 * kept). `cut`: lines after that were dropped. They are read to the end of the output and dropped as they
 * come (a COPY cannot be stopped half-way with the connection kept), so memory stays near `maxBytes`.
 */
export async function copyOutUpTo(
  client: pg.Client,
  sql: string,
  maxBytes: number,
): Promise<{ text: Buffer; cut: boolean }> {
  const chunks: Buffer[] = [];
  let kept = 0;
  let full = false;
  let cut = false;
  for await (const chunk of client.query(copyTo(sql)) as AsyncIterable<Buffer>) {
    if (full) {
      cut ||= chunk.length > 0;
      continue;
    }
    if (kept + chunk.length >= maxBytes) {
      // The end of the line holding the limit's last byte.
      const nl = chunk.indexOf(NEWLINE, Math.max(0, maxBytes - 1 - kept));
      if (nl >= 0) {
        full = true;
        cut = nl + 1 < chunk.length;
        chunks.push(cut ? chunk.subarray(0, nl + 1) : chunk);
        kept += nl + 1;
        continue;
      }
    }
    chunks.push(chunk);
    kept += chunk.length;
  }
  return { text: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, kept), cut };
}

/**
 * One COPY … TO STDOUT's output compared with `expected` as it arrives: null when it is exactly
 * `expected` (no copy of it is made), else the whole output.
 */
export async function copyOutDiffers(
  client: pg.Client,
  sql: string,
  expected: Buffer,
): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let at = 0;
  let same = true;
  for await (const chunk of client.query(copyTo(sql)) as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    if (same) {
      same =
        at + chunk.length <= expected.length &&
        expected.compare(chunk, 0, chunk.length, at, at + chunk.length) === 0;
      if (same) chunks.length = 0;
    }
    at += chunk.length;
  }
  if (same && at === expected.length) return null;
  // A difference: the whole output, from the start (what was dropped matched `expected`).
  const matched = at - chunks.reduce((n, c) => n + c.length, 0);
  return Buffer.concat([expected.subarray(0, matched), ...chunks]);
}

/**
 * Keyset pages read with `COPY (SELECT … ORDER BY key LIMIT n) TO STDOUT`: the server sends one message
 * per row instead of one field per value, and a batch is decoded from one string, only when its rows are
 * asked for (CopyBatch): a batch that goes to a PostgreSQL target of the same column types is sent on as
 * the text it was read as, and never decoded.
 */
export async function* readKeysetText(client: pg.Client, spec: ReadSpec): AsyncGenerator<CopyBatch> {
  const decode = rowDecoder(spec.columns);
  const width = spec.columns.length;
  const types = typeSignature(spec.columns);
  const until = spec.until ? spec.until.map(literalOf) : null;
  const sizer = new PageSizer(spec);
  let after = spec.after;
  for (;;) {
    const sql = pageSql(sizer.page(), after ? after.map(literalOf) : null, until);
    const { text, cut } = await copyOutUpTo(client, `COPY (${sql}) TO STDOUT`, sizer.maxBytes);
    if (text.length === 0) return;
    const batch = new CopyBatch(text, types, width, decode);
    yield batch;
    if (sizer.done(batch.count, text.length, cut)) return;
    after = spec.key.map((i) => batch.last[i] ?? null);
  }
}

/** readKeysetText's batches, decoded. */
export async function* readKeyset(client: pg.Client, spec: ReadSpec): AsyncGenerator<Row[]> {
  for await (const batch of readKeysetText(client, spec)) yield batch.rows();
}

/** A batch of COPY text lines (not empty): counted, its first and last rows decoded, the rest on demand. */
export class CopyBatch implements Batch {
  readonly copyText: CopyText;
  readonly count: number;
  readonly first: Row;
  readonly last: Row;

  constructor(
    text: Buffer,
    types: string,
    private readonly width: number,
    private readonly decode: (raw: (string | null)[]) => Row,
  ) {
    this.copyText = { text, types };
    let count = 0;
    for (let nl = text.indexOf(NEWLINE); nl >= 0; nl = text.indexOf(NEWLINE, nl + 1)) count++;
    this.count = count;
    const firstEnd = text.indexOf(NEWLINE) + 1;
    const lastStart = text.lastIndexOf(NEWLINE, text.length - 2) + 1;
    this.first = decodeCopyText(text.subarray(0, firstEnd), width, decode)[0]!;
    this.last = lastStart === 0 ? this.first : decodeCopyText(text.subarray(lastStart), width, decode)[0]!;
  }

  rows(): Row[] {
    return decodeCopyText(this.copyText.text, this.width, this.decode);
  }
}

const NEWLINE = 10;

/**
 * `COPY (SELECT … WHERE key BETWEEN first AND last ORDER BY key) TO STDOUT` of a table: the rows of a key
 * range as the server prints them, in key order (a batch's read-back, compared as text with what was sent).
 */
export function rangeCopySql(table: string, columns: Column[], key: number[], first: Row, last: Row): string {
  const keyNames = key.map((i) => columns[i]!.name);
  const keyCols = columnList(keyNames);
  const tuple = (values: Row) => {
    const literals = key.map((i) => literalOf(values[i] ?? null));
    return literals.length === 1 ? literals[0]! : `(${literals.join(', ')})`;
  };
  const cols = keyNames.length === 1 ? keyCols : `(${keyCols})`;
  return (
    `COPY (SELECT ${columnList(columns.map((c) => c.name))} FROM ${table}` +
    ` WHERE ${cols} >= ${tuple(first)} AND ${cols} <= ${tuple(last)} ORDER BY ${keyCols}) TO STDOUT`
  );
}

/** Rows of COPY text, decoded in place by `decode` (a rowDecoder of the columns). */
export function decodeCopyText(text: Buffer, width: number, decode: (raw: (string | null)[]) => Row): Row[] {
  const rows = parseCopyText(text.toString('utf8'), width) as Row[];
  for (const raw of rows) decode(raw as (string | null)[]);
  return rows;
}

/** Column types in order, to tell whether a COPY text fits a target's columns as it is. */
export function typeSignature(columns: readonly Column[]): string {
  return columns.map((c) => `${c.kind}:${c.dbType.toLowerCase()}`).join('\n');
}

/** Rows a key-less read's cursor fetches at a time. */
const KEYLESS_FETCH_ROWS = 500;

/** About the bytes of a row as the driver gave it (its text fields' lengths). */
function textBytes(raw: (string | null)[]): number {
  let n = raw.length;
  for (const v of raw) if (v !== null) n += v.length;
  return n;
}

/** A key-less source: one pass with a server-side cursor, batch by batch (memory bounded by the batch). */
export async function* readAll(client: pg.Client, spec: ReadSpec): AsyncGenerator<Row[]> {
  const { sql, where } = fromClause(spec.from);
  const text = `SELECT ${columnList(spec.columns.map((c) => c.name))} FROM ${sql}${where ? ` WHERE ${where}` : ''}`;
  const decode = rowDecoder(spec.columns);
  const maxBytes = byteLimit(spec);
  // The cursor's fetches are kept small: a fetch is held whole, whatever its rows' width.
  const fetch = Math.min(spec.batchSize, KEYLESS_FETCH_ROWS);
  const stream = client.query(new QueryStream(text, [], { batchSize: fetch, rowMode: 'array' }));
  let batch: Row[] = [];
  let bytes = 0;
  try {
    for await (const raw of stream as AsyncIterable<(string | null)[]>) {
      bytes += textBytes(raw);
      batch.push(decode(raw));
      if (batch.length >= spec.batchSize || bytes >= maxBytes) {
        yield batch;
        batch = [];
        bytes = 0;
      }
    }
    if (batch.length) yield batch;
  } finally {
    stream.destroy();
  }
}

/** Rows whose key is one of `keys`, joined against arrays of the key values (one round-trip). */
export async function fetchByKeys(
  client: pg.Client,
  table: string,
  columns: Column[],
  key: number[],
  keys: Row[],
): Promise<Row[]> {
  if (keys.length === 0) return [];
  const keyCols = key.map((i) => columns[i]!);
  const arrays = keyCols.map((_, k) => keys.map((row) => paramOf(row[k] ?? null)));
  const unnest = keyCols.map((c, k) => `$${k + 1}::${c.dbType}[]`).join(', ');
  const alias = keyCols.map((c) => quoteIdent(c.name)).join(', ');
  const on = keyCols.map((c) => `t.${quoteIdent(c.name)} = k.${quoteIdent(c.name)}`).join(' AND ');
  const text = `SELECT ${columnList(
    columns.map((c) => c.name),
    't',
  )} FROM ${table} AS t JOIN unnest(${unnest}) AS k(${alias}) ON ${on}`;
  const result = await client.query<(string | null)[]>({ text, values: arrays, rowMode: 'array' });
  return result.rows.map(rowDecoder(columns));
}

/** The key every `every` rows in key order: each step skips `every - 1` index entries past the last. */
export async function keyBoundaries(
  client: pg.Client,
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
  const first = keysetSql(read, false).replace(/ LIMIT 1$/, ` OFFSET ${spec.every - 1} LIMIT 1`);
  const next = keysetSql(read, true).replace(/ LIMIT 1$/, ` OFFSET ${spec.every - 1} LIMIT 1`);
  const out: Row[] = [];
  let after: Row | null = null;
  for (;;) {
    const result = await client.query<(string | null)[]>({
      text: after ? next : first,
      values: (after ?? []).map(paramOf),
      rowMode: 'array',
    });
    const raw = result.rows[0];
    if (!raw) return out;
    after = decode(raw);
    out.push(after);
  }
}

/** See Dialect.intExtent. */
export async function intExtent(
  client: pg.Client,
  spec: { from: RowSource; column: Column },
): Promise<[string, string] | null> {
  const { sql, where } = fromClause(spec.from);
  const col = quoteIdent(spec.column.name);
  const result = await client.query<(string | null)[]>({
    text: `SELECT min(${col})::text, max(${col})::text FROM ${sql}${where ? ` WHERE ${where}` : ''}`,
    rowMode: 'array',
  });
  const [min, max] = result.rows[0] ?? [];
  return min && max ? [min, max] : null;
}

/** See Dialect.checkRead. */
export async function checkRead(client: pg.Client, from: RowSource): Promise<string | null> {
  const { sql, where } = fromClause(from);
  try {
    await client.query(`SELECT * FROM ${sql}${where ? ` WHERE ${where}` : ''} LIMIT 0`);
    return null;
  } catch (error) {
    // Classes 08 (connection), 53 (resources) and 57 (operator intervention) say nothing of the SQL.
    if (error instanceof pg.DatabaseError && !/^(08|53|57)/.test(error.code ?? '')) return error.message;
    throw error;
  }
}
