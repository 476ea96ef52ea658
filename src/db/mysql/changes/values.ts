/**
 * Row values of binlog events (as @vlasky/zongji decodes them, with `dateStrings` and `timezone: 'Z'`) in
 * exactly the form the copy path reads the same row in (../codec.ts): each column's mapper is picked once per
 * table, from the column's kind and type.
 *
 * What zongji gives, and what we make of it:
 * - integers: a number, or a digit string beyond 2^53 → digits (`String`);
 * - YEAR: the year as a number, but `0000` arrives as 1900 (it adds 1900 to the stored byte, and YEAR's range
 *   is 1901–2155, so 1900 can only be 0000) → `'0'`, as the copy path reads `0000`;
 * - BIT: a Buffer of its bytes, as the server prints it → the codec's own BIT decoders;
 * - DECIMAL: the exact digits as text; FLOAT: the float32 widened to a double (what `CAST(col AS DOUBLE)`
 *   reads); DOUBLE: the double;
 * - text, ENUM, SET, MariaDB's JSON (a LONGTEXT): a string; BINARY/VARBINARY/BLOB: a Buffer (copied: it is a
 *   view into the network chunk);
 * - DATE, TIME, DATETIME, TIMESTAMP (UTC): the text the server prints, fraction digits included, zero dates
 *   kept.
 */
import type { Column, Value } from '../../../convert/value.js';
import { RuntimeError } from '../../../errors.js';
import { decoderFor } from '../codec.js';

export type ValueMapper = (value: unknown) => Value;

/** Types the binlog carries in a form the copy path does not read them in: followed later, not yet. */
const NOT_YET =
  /^(uuid|inet4|inet6|geometry|point|linestring|polygon|multipoint|multilinestring|multipolygon|geometrycollection)\b/i;

/** Why a column cannot be followed yet, or null. */
export function unfollowable(column: Column): string | null {
  return NOT_YET.test(column.dbType) ? `column "${column.name}" of type ${column.dbType}` : null;
}

function unexpected(column: Column, value: unknown): never {
  const what = Buffer.isBuffer(value) ? 'a Buffer' : typeof value;
  throw new RuntimeError(
    `this is a bug in cache-migrate: the binlog gave ${what} for column "${column.name}" (${column.dbType})`,
  );
}

const digits =
  (column: Column): ValueMapper =>
  (v) => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'bigint') return String(v);
    return unexpected(column, v);
  };

const year =
  (column: Column): ValueMapper =>
  (v) => {
    if (v === 1900 || v === 0) return '0';
    return digits(column)(v);
  };

const bits =
  (column: Column): ValueMapper =>
  (v) => {
    if (v === null || v === undefined) return null;
    return Buffer.isBuffer(v) ? decoderFor(column)(v) : unexpected(column, v);
  };

const float =
  (column: Column): ValueMapper =>
  (v) => {
    if (v === null || v === undefined) return null;
    return typeof v === 'number' ? v : unexpected(column, v);
  };

const text =
  (column: Column): ValueMapper =>
  (v) => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'string') return v;
    return Buffer.isBuffer(v) ? v.toString('utf8') : unexpected(column, v);
  };

const bytes =
  (column: Column): ValueMapper =>
  (v) => {
    if (v === null || v === undefined) return null;
    return Buffer.isBuffer(v) ? Buffer.from(v) : unexpected(column, v);
  };

const printed =
  (column: Column): ValueMapper =>
  (v) => {
    if (v === null || v === undefined) return null;
    return typeof v === 'string' ? v : unexpected(column, v);
  };

export function valueMapper(column: Column): ValueMapper {
  switch (column.kind) {
    case 'int':
      if (/^year/i.test(column.dbType)) return year(column);
      return /^bit/i.test(column.dbType) ? bits(column) : digits(column);
    case 'bool':
      return bits(column);
    case 'decimal':
      return digits(column);
    case 'float':
      return float(column);
    case 'text':
    case 'json':
    case 'other':
      return text(column);
    case 'bytes':
      return bytes(column);
    default:
      return printed(column);
  }
}

const INTEGER = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);
const ALIASES: Record<string, string> = {
  integer: 'int',
  bool: 'tinyint',
  boolean: 'tinyint',
  numeric: 'decimal',
  dec: 'decimal',
  fixed: 'decimal',
  real: 'double',
};

/**
 * What of a column type decides how its values read: the type without display widths, character lengths or
 * enum lists, but with what changes a value (signedness, DECIMAL's precision and scale, fraction digits,
 * BIT's width). `sign`: false when one side cannot tell signedness (then it is left out).
 */
export function columnShape(type: string, sign = true): string {
  const t = type
    .toLowerCase()
    .replace(/\/\*.*?\*\//g, '')
    .replace(/\bzerofill\b/g, '')
    .trim();
  const m = /^([a-z0-9]+)\s*(?:\(([^)]*)\))?(.*)$/s.exec(t);
  if (!m) return t;
  const base = ALIASES[m[1]!] ?? m[1]!;
  const args = (m[2] ?? '').replace(/\s+/g, '');
  if (INTEGER.has(base)) return sign && /\bunsigned\b/.test(m[3]!) ? `${base} unsigned` : base;
  if (base === 'decimal') return `decimal(${args.includes(',') ? args : `${args || 10},0`})`;
  if (base === 'datetime' || base === 'timestamp' || base === 'time') return `${base}(${args || 0})`;
  if (base === 'bit') return `bit(${args || 1})`;
  return base;
}
