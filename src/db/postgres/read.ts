/** Reading rows: keyset pagination on the key, or one cursor pass for a key-less source. */
import type pg from 'pg';
import QueryStream from 'pg-query-stream';
import type { Column, Row } from '../../convert/value.js';
import type { ReadSpec, RowSource } from '../dialect.js';
import { type Decoder, decoderFor, identity, paramOf } from './codec.js';
import { columnList, quoteIdent, quoteTable } from './sql.js';

function fromClause(from: RowSource): { sql: string; where: string | null } {
  if (from.kind === 'query') return { sql: `(${from.sql}) AS "_q"`, where: null };
  return { sql: quoteTable(from.ref), where: from.where ? `(${from.where})` : null };
}

/**
 * Decodes a row in place (the driver's array becomes the row: no copy per row); only the columns whose
 * kind needs decoding are touched.
 */
export function rowDecoder(columns: Column[]): (raw: (string | null)[]) => Row {
  const decoders: Decoder[] = columns.map((c) => decoderFor(c.kind));
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

/** The SQL of one keyset page: rows after `$1..$k` in key order. */
export function keysetSql(spec: ReadSpec, withAfter: boolean): string {
  const { sql, where } = fromClause(spec.from);
  const keyNames = spec.key.map((i) => spec.columns[i]!.name);
  const keyCols = columnList(keyNames);
  const conditions: string[] = [];
  if (where) conditions.push(where);
  const n = keyNames.length;
  const tuple = (from: number) => {
    const params = keyNames.map((_, i) => `$${from + i}`).join(', ');
    return n === 1 ? [keyCols, params] : [`(${keyCols})`, `(${params})`];
  };
  if (withAfter) {
    const [cols, params] = tuple(1);
    conditions.push(`${cols} > ${params}`);
  }
  if (spec.until) {
    const [cols, params] = tuple(withAfter ? n + 1 : 1);
    conditions.push(`${cols} <= ${params}`);
  }
  const whereSql = conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '';
  return (
    `SELECT ${columnList(spec.columns.map((c) => c.name))} FROM ${sql}${whereSql}` +
    ` ORDER BY ${keyCols} LIMIT ${spec.batchSize}`
  );
}

export async function* readKeyset(client: pg.Client, spec: ReadSpec): AsyncGenerator<Row[]> {
  const decode = rowDecoder(spec.columns);
  const first = keysetSql(spec, false);
  const next = keysetSql(spec, true);
  let after = spec.after;
  for (;;) {
    const result = await client.query<(string | null)[]>({
      text: after ? next : first,
      values: [...(after ?? []), ...(spec.until ?? [])].map(paramOf),
      rowMode: 'array',
    });
    if (result.rows.length === 0) return;
    const rows = result.rows.map(decode);
    yield rows;
    if (rows.length < spec.batchSize) return;
    const last = rows[rows.length - 1]!;
    after = spec.key.map((i) => last[i] ?? null);
  }
}

/** A key-less source: one pass with a server-side cursor, batch by batch (memory bounded by the batch). */
export async function* readAll(client: pg.Client, spec: ReadSpec): AsyncGenerator<Row[]> {
  const { sql, where } = fromClause(spec.from);
  const text = `SELECT ${columnList(spec.columns.map((c) => c.name))} FROM ${sql}${where ? ` WHERE ${where}` : ''}`;
  const decode = rowDecoder(spec.columns);
  const stream = client.query(new QueryStream(text, [], { batchSize: spec.batchSize, rowMode: 'array' }));
  let batch: Row[] = [];
  try {
    for await (const raw of stream as AsyncIterable<(string | null)[]>) {
      batch.push(decode(raw));
      if (batch.length >= spec.batchSize) {
        yield batch;
        batch = [];
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
