/**
 * Conversions from a source column's values to a target column's, driven by the target column's kind
 * (PLAN.md "Types"). Built once per column pair; the row loop only calls the returned function. A pair with
 * no safe conversion is refused up front, and a value that does not fit fails with `ValueError`, which the
 * engine turns into a DataError naming table, key and column.
 */
import { canonicalizer } from './canonical.js';
import type { Column, ColumnKind, Value } from './value.js';

export type Converter = (value: Value) => Value;

/** A single value that cannot be converted; the engine adds table, key and column. */
export class ValueError extends Error {}

const identity: Converter = (v) => v;

const INT = /^-?\d+$/;
const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)$/;

function excerpt(v: Value): string {
  const s = Buffer.isBuffer(v) ? `0x${v.subarray(0, 16).toString('hex')}` : String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

const toBool: Converter = (v) => {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'string' && INT.test(v)) return !/^-?0+$/.test(v);
  if (typeof v === 'string') {
    const t = v.toLowerCase();
    if (t === 'true' || t === 't') return true;
    if (t === 'false' || t === 'f') return false;
  }
  throw new ValueError(`cannot be read as a boolean: ${excerpt(v)}`);
};

const boolToInt: Converter = (v) => (v === null ? null : v ? '1' : '0');

function numericText(pattern: RegExp, what: string): Converter {
  return (v) => {
    if (v === null) return null;
    if (typeof v === 'boolean') return v ? '1' : '0';
    const s = typeof v === 'number' ? String(v) : v;
    if (typeof s === 'string' && pattern.test(s)) return s;
    throw new ValueError(`not ${what}: ${excerpt(v)}`);
  };
}

const toFloat: Converter = (v) => {
  if (v === null || typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return v;
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) return n;
  }
  throw new ValueError(`not a number: ${excerpt(v)}`);
};

/** timestamptz (UTC) -> timestamp: the UTC wall-clock reading. timestamp -> timestamptz: read as UTC. */
const sameText: Converter = identity;

const toBytes: Converter = (v) => {
  if (v === null || Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  throw new ValueError(`cannot be stored as bytes: ${excerpt(v)}`);
};

const toJson: Converter = (v) => {
  if (v === null) return null;
  if (typeof v === 'string') {
    try {
      JSON.parse(v);
    } catch {
      throw new ValueError(`not valid JSON: ${excerpt(v)}`);
    }
    return v;
  }
  throw new ValueError(`cannot be stored as JSON: ${excerpt(v)}`);
};

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const toUuid: Converter = (v) => {
  if (v === null) return null;
  if (typeof v === 'string' && UUID.test(v)) {
    const hex = v.replaceAll('-', '').toLowerCase();
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  throw new ValueError(`not a UUID: ${excerpt(v)}`);
};

function toText(from: ColumnKind): Converter {
  if (from === 'bytes') {
    return (v) => {
      if (v === null) return null;
      const s = (v as Buffer).toString('utf8');
      if (Buffer.byteLength(s) !== (v as Buffer).length)
        throw new ValueError('bytes that are not valid UTF-8');
      return s;
    };
  }
  const canon = canonicalizer(from);
  return (v) => (v === null ? null : canon(v));
}

const SAME_REPRESENTATION: Partial<Record<ColumnKind, ColumnKind[]>> = {
  decimal: ['int'],
  timestamp: ['timestamptz'],
  timestamptz: ['timestamp'],
  other: ['text'],
  text: ['other', 'uuid', 'date', 'time'],
};

/**
 * The converter from `from` to `to`, or null when the pair has no conversion that keeps every value (the
 * caller reports the column). Same kind: identity.
 */
export function converterFor(from: Column, to: Column): Converter | null {
  if (from.kind === to.kind) return identity;
  if (SAME_REPRESENTATION[to.kind]?.includes(from.kind)) return sameText;
  switch (to.kind) {
    case 'text':
    case 'other':
      return toText(from.kind);
    case 'bool':
      return from.kind === 'int' || from.kind === 'text' ? toBool : null;
    case 'int':
      if (from.kind === 'bool') return boolToInt;
      return from.kind === 'text' || from.kind === 'decimal' ? numericText(INT, 'a whole number') : null;
    case 'decimal':
      if (from.kind === 'bool') return boolToInt;
      return from.kind === 'text' || from.kind === 'float' ? numericText(DECIMAL, 'a decimal number') : null;
    case 'float':
      return from.kind === 'int' || from.kind === 'decimal' || from.kind === 'text' ? toFloat : null;
    case 'bytes':
      return from.kind === 'text' ? toBytes : null;
    case 'json':
      return from.kind === 'text' || from.kind === 'other' ? toJson : null;
    case 'uuid':
      return from.kind === 'text' ? toUuid : null;
    default:
      return null;
  }
}
