/**
 * The canonical JSON object of a row: the cache value for `value: json`, and the canonical row form that
 * the checks compare. Keys are the column names in the given column order (the target table's, so
 * deterministic; not sorted). Values, by kind (canonical text from `canonical.ts`):
 *
 * - int → JSON number with the exact digits (`9007199254740993` stays exact in the text)
 * - decimal → JSON string of the canonical decimal (`"12.5"`): exact; applications parse it as they wish
 * - float → JSON number (`String(n)`, e.g. `0.1`, `1e+21`); NaN / Infinity / -Infinity → the JSON strings
 *   `"NaN"`, `"Infinity"`, `"-Infinity"`
 * - bool → `true` / `false`
 * - json → the canonical JSON embedded as a nested value (not a string)
 * - bytes → JSON string `"\\x"` + lowercase hex, i.e. the decoded string is `\x00ff…`, PostgreSQL's bytea hex
 *   form, so empty bytes (`"\\x"`) differ from an empty text
 * - text, date, time, timestamp, timestamptz, uuid, other → JSON string of the canonical text
 * - NULL → `null` (distinct from `""` and from `"null"`)
 *
 * Everything is precompiled per column list; the row loop only concatenates.
 */
import { SchemaError } from '../errors.js';
import { CanonicalValueError, canonicalizer } from './canonical.js';
import type { Column, ColumnKind, Row, Value } from './value.js';

/** JSON text of a non-null value. */
type JsonValueEncoder = (v: Value) => string;

/** The JSON text of a non-null value of a kind, as in a row's JSON. */
export function jsonValueEncoder(kind: ColumnKind): JsonValueEncoder {
  const canon = canonicalizer(kind) as (v: Value) => string; // non-null for a non-null value
  switch (kind) {
    case 'int':
    case 'bool':
    case 'json':
      return canon;
    case 'decimal':
      return (v) => '"' + canon(v) + '"'; // digits, `-`, `.`, `e`, NaN, Infinity: nothing to escape
    case 'float':
      return (v) => {
        const text = canon(v);
        return typeof v === 'number' && Number.isFinite(v) ? text : '"' + text + '"';
      };
    case 'bytes':
      return (v) => '"\\\\x' + canon(v) + '"';
    default:
      return (v) => JSON.stringify(canon(v));
  }
}

/** `(row) => '{"id":1,"name":"x",…}'` for rows in the order of `columns`. */
export function rowJsonEncoder(columns: readonly Column[]): (row: Row) => string {
  const names = new Set<string>();
  for (const column of columns) {
    if (names.has(column.name))
      throw new SchemaError(`column ${column.name} appears twice in the column list`);
    names.add(column.name);
  }
  const count = columns.length;
  if (count === 0) return () => '{}';
  const prefixes = columns.map((c, i) => (i === 0 ? '{' : ',') + JSON.stringify(c.name) + ':');
  const encoders = columns.map((c) => jsonValueEncoder(c.kind));

  return (row) => {
    if (row.length !== count) {
      throw new TypeError(`row has ${row.length} values but the column list has ${count} columns`);
    }
    let out = '';
    let i = 0;
    try {
      for (; i < count; i++) {
        const v = row[i] as Value;
        out += prefixes[i]! + (v === null ? 'null' : encoders[i]!(v));
      }
    } catch (error) {
      throw error instanceof CanonicalValueError ? error.inColumn(columns[i]!.name) : error;
    }
    return out + '}';
  };
}

/**
 * The cache value for `value: column:<name>`: the column's canonical text as UTF-8 bytes (json: canonical JSON
 * text; bool: `true`/`false`; bytes: the raw bytes themselves, the same Buffer). memcached cannot store NULL
 * distinctly from an empty value, so NULL returns `null`: the caller skips the row for the cache and counts it.
 */
export function columnValueEncoder(column: Column): (v: Value) => Buffer | null {
  const canon = canonicalizer(column.kind);
  const wrap = (error: unknown): unknown =>
    error instanceof CanonicalValueError ? error.inColumn(column.name) : error;
  if (column.kind === 'bytes') {
    return (v) => {
      if (v === null) return null;
      if (Buffer.isBuffer(v)) return v;
      try {
        return Buffer.from(canon(v)!, 'hex'); // a plain Uint8Array, or the kind's TypeError
      } catch (error) {
        throw wrap(error);
      }
    };
  }
  return (v) => {
    if (v === null) return null;
    try {
      return Buffer.from(canon(v)!, 'utf8');
    } catch (error) {
      throw wrap(error);
    }
  };
}
