/**
 * Chunk digests computed inside PostgreSQL (`Dialect.chunkDigest`), so `migrate verify` compares equal ranges
 * without downloading a row. Per row, a 64-bit hash `h` of one of two forms:
 *
 * - `values` (PostgreSQL 14 and later): `hash_record_extended` of `ROW(columns)`, each column hashed by its
 *   type's own hash function, without printing it. Used only for types whose equality is exactly the equality
 *   of their canonical forms (convert/canonical.ts: numbers by value, so numeric 1.5 = 1.50 and jsonb
 *   `{"a": 1.0}` = `{"a": 1}`; timestamps as instants): integers, numeric, floats, boolean, bytea, date,
 *   time, timestamp(tz), uuid and jsonb. Every other column is hashed as its text under the "C" collation,
 *   byte for byte: text under a case-insensitive collation, interval ('1 day' = '24 hours'), timetz and json
 *   have an equality looser than their text, or (json, point) none. Cheaper than `text`: nothing is printed.
 * - `text`: `hashtextextended` of the text form of `ROW(columns)`, which is unambiguous (NULL is an empty
 *   field, "" a quoted one; quotes, commas and backslashes escaped) and exact under the session's fixed text
 *   settings (UTC, ISO dates, extra_float_digits; connect.ts). For servers before 14.
 *
 * Per chunk: the count and two sums (numeric, no overflow) of `h` hashed again, each through a 32-bit half
 * of it: `hashint8extended(h, 0)`, whose input is h's halves XORed together, and `hashint8extended(h >> 32,
 * seed)`, whose input is h's high half. The two halves together determine `h`, so a row whose `h` changes
 * changes at least one sum (bar a 64-bit hash collision). Sums are order-independent, so each database may
 * visit rows in any order, and unlike XOR a duplicated row is not cancelled out. The hashing again is needed:
 * hash_record_extended combines its columns' hashes linearly (h = 31·h + column hash), so plain sums of `h`
 * would not change when two rows swap a column's values; hashing the integer is cheaper than hashing
 * `h::text` (the earlier form). The subquery is fenced (`OFFSET 0`) so that `h` is
 * computed once per row, not once per sum. Both sides use the same form, the best both servers have
 * (`digestForms`).
 *
 * Why not md5: slower than `text` when measured (md5, then hex text to bit(64) to bigint, per row), and
 * md5() fails on FIPS-mode servers. These hashes are not cryptographic, which a digest that only decides which
 * ranges to download does not need; a digest that differs between two servers for equal rows (a different
 * byte order, say) costs time, never a wrong answer, since differing ranges are compared row by row.
 *
 * `limit` is served by a cheap key-only query first (`ORDER BY key OFFSET limit-1 LIMIT 1`, an index-only
 * scan on the key's index) that finds the chunk's last key; the digest then covers (after, lastKey].
 */
import type pg from 'pg';
import type { Column, ColumnKind, Row } from '../../convert/value.js';
import type { ChunkDigest, DigestSpec } from '../dialect.js';
import type { RowSource } from '../table.js';
import { paramOf } from './codec.js';
import { fromClause, rowDecoder } from './read.js';
import { columnList, quoteIdent } from './sql.js';

/** The second hash's seed: any constant other than 0, the same on every side. */
const SEED = 7_046_029_254_386_353_131n;

/** The forms this server can digest in, best first. */
export async function digestForms(client: pg.Client): Promise<string[]> {
  const r = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  return Number(r.rows[0]?.v ?? 0) >= 140000 ? ['values', 'text'] : ['text'];
}

/** Kinds hashed by their own type's hash function in the `values` form (and jsonb; see the top). */
const BY_VALUE: ReadonlySet<ColumnKind> = new Set<ColumnKind>([
  'int',
  'decimal',
  'float',
  'bool',
  'bytes',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'uuid',
]);

/** The per-row 64-bit hash `h` (see the top). */
function rowHash(form: string, columns: Column[]): string {
  if (form !== 'values') return `hashtextextended(ROW(${columnList(columns.map((c) => c.name))})::text, 0)`;
  const fields = columns.map((c) => {
    const name = quoteIdent(c.name);
    return BY_VALUE.has(c.kind) || c.dbType === 'jsonb' ? name : `${name}::text COLLATE "C"`;
  });
  return `hash_record_extended(ROW(${fields.join(', ')}), 0)`;
}

interface Range {
  from: string;
  where: string;
  values: (string | Buffer | null)[];
}

/** FROM and WHERE for the key range (after, until] of the source. */
function range(spec: DigestSpec, until: Row | null): Range {
  const { sql: from, where } = fromClause(spec.from);
  const conditions: string[] = where ? [where] : [];
  const values: (string | Buffer | null)[] = [];
  const keyed = spec.key.length > 0;
  const keyCols = columnList(spec.key.map((i) => spec.columns[i]!.name));
  const tuple = spec.key.length === 1 ? keyCols : `(${keyCols})`;
  const bound = (op: string, key: Row) => {
    const params = key.map((v) => {
      values.push(paramOf(v));
      return `$${values.length}`;
    });
    conditions.push(`${tuple} ${op} ${params.length === 1 ? params[0] : `(${params.join(', ')})`}`);
  };
  if (keyed && spec.after) bound('>', spec.after);
  if (keyed && until) bound('<=', until);
  return { from, where: conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '', values };
}

export async function chunkDigest(client: pg.Client, spec: DigestSpec): Promise<ChunkDigest> {
  let until = spec.key.length > 0 ? spec.until : null;
  let lastKey: Row | null = null;
  if (spec.key.length > 0 && spec.limit !== undefined) {
    lastKey = await nthKey(client, spec, Math.max(1, Math.floor(spec.limit)));
    if (lastKey) until = lastKey;
  }
  const r = range(spec, until);
  const form = spec.form ?? 'text';
  const text =
    `SELECT count(*)::text, coalesce(sum(hashint8extended(h, 0)), 0)::text,` +
    ` coalesce(sum(hashint8extended(h >> 32, ${SEED})), 0)::text` +
    ` FROM (SELECT ${rowHash(form, spec.columns)} AS h FROM ${r.from}${r.where} OFFSET 0) AS "_d"`;
  const result = await client.query<[string, string, string]>({ text, values: r.values, rowMode: 'array' });
  const [count, high, low] = result.rows[0] ?? ['0', '0', '0'];
  return { count: Number(count), digest: `${form}:${high}:${low}`, lastKey };
}

/** The key of the `n`th row after `after` (within `until`), or null when the range has fewer rows. */
async function nthKey(client: pg.Client, spec: DigestSpec, n: number): Promise<Row | null> {
  const r = range(spec, spec.until);
  const keyColumns = spec.key.map((i) => spec.columns[i]!);
  const keyCols = columnList(keyColumns.map((c) => c.name));
  const text = `SELECT ${keyCols} FROM ${r.from}${r.where} ORDER BY ${keyCols} OFFSET ${n - 1} LIMIT 1`;
  const result = await client.query<(string | null)[]>({ text, values: r.values, rowMode: 'array' });
  const raw = result.rows[0];
  return raw ? rowDecoder(keyColumns)(raw) : null;
}
