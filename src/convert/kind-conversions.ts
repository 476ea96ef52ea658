/** Step 2 of a converter: the kind conversion between a source and a target column's kinds (convert.ts). */
import { canonicalizer } from './canonical.js';
import {
  type Converter,
  canonDecimal,
  DECIMAL,
  excerpt,
  INT,
  identity,
  NON_FINITE,
  ValueError,
} from './converter.js';
import { pgArrayToJson } from './pg-array-json.js';
import type { Column, ColumnKind } from './value.js';

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

/** Text, decimals and floats with no fractional part -> integer digits. */
const toInt: Converter = (v) => {
  if (v === null) return null;
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'string' && INT.test(v)) return v;
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : null) : v;
  if (typeof s === 'string' && (DECIMAL.test(s) || /^-?\d+(\.\d+)?e[-+]?\d+$/i.test(s))) {
    const c = canonDecimal(s)!;
    if (INT.test(c)) return c;
  }
  throw new ValueError(`not a whole number: ${excerpt(v)}`);
};

const toDecimal: Converter = (v) => {
  if (v === null) return null;
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') return Number.isFinite(v) ? canonDecimal(String(v)) : String(v);
  if (typeof v === 'string' && (DECIMAL.test(v) || NON_FINITE.has(v))) return v;
  throw new ValueError(`not a decimal number: ${excerpt(v)}`);
};

/** -> a double, refusing values that a double cannot hold exactly (9007199254740993, 0.1000000000000000001). */
const toFloat: Converter = (v) => {
  if (v === null || typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (NON_FINITE.has(v)) return v;
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) {
      if (canonDecimal(v) !== canonDecimal(String(n))) {
        throw new ValueError(`${excerpt(v)} cannot be held exactly by a double (it would become ${n})`);
      }
      return n;
    }
  }
  throw new ValueError(`not a number: ${excerpt(v)}`);
};

/** timestamptz (UTC) -> timestamp: the UTC wall-clock reading. timestamp -> timestamptz: read as UTC. */
const sameText: Converter = identity;

const dateToTimestamp: Converter = (v) => (typeof v === 'string' && v.length === 10 ? `${v} 00:00:00` : v);

const toBytes: Converter = (v) => {
  if (v === null || Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  throw new ValueError(`cannot be stored as bytes: ${excerpt(v)}`);
};

const uuidToBytes: Converter = (v) =>
  typeof v === 'string' ? Buffer.from(v.replaceAll('-', ''), 'hex') : toBytes(v);

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
function uuidText(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
const toUuid: Converter = (v) => {
  if (v === null) return null;
  if (typeof v === 'string' && UUID.test(v)) return uuidText(v.replaceAll('-', '').toLowerCase());
  if (Buffer.isBuffer(v) && v.length === 16) return uuidText(v.toString('hex'));
  throw new ValueError(`not a UUID: ${excerpt(v)}`);
};

/** A PostgreSQL interval (or text) of the form `[-]H:MM:SS[.f]` -> time; anything else is refused. */
const CLOCK = /^-?\d+:[0-5]\d:[0-5]\d(\.\d+)?$/;
const toTime: Converter = (v) => {
  if (v === null || (typeof v === 'string' && CLOCK.test(v))) return v;
  throw new ValueError(`${excerpt(v)} is not a time of day or hours:minutes:seconds`);
};

function toText(from: ColumnKind): Converter {
  if (from === 'bytes') {
    return (v) => {
      if (v === null) return null;
      const s = (v as Buffer).toString('utf8');
      // Invalid sequences decode to U+FFFD: only a lossless round trip is text.
      if (!Buffer.from(s, 'utf8').equals(v as Buffer)) throw new ValueError('bytes that are not valid UTF-8');
      return s;
    };
  }
  if (from === 'json') return identity;
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

/** The kind conversion alone (step 2), or null when the pair has none. */
export function kindConverter(from: Column, to: Column): Converter | null {
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
      return from.kind === 'text' || from.kind === 'decimal' || from.kind === 'float' ? toInt : null;
    case 'decimal':
      return from.kind === 'bool' || from.kind === 'text' || from.kind === 'float' ? toDecimal : null;
    case 'float':
      return from.kind === 'int' || from.kind === 'decimal' || from.kind === 'text' ? toFloat : null;
    case 'bytes':
      if (from.kind === 'uuid') return uuidToBytes;
      return from.kind === 'text' ? toBytes : null;
    case 'json':
      if (from.kind === 'other' && from.dbType.endsWith('[]')) return pgArrayToJson(from.dbType);
      return from.kind === 'text' || from.kind === 'other' ? toJson : null;
    case 'uuid':
      return from.kind === 'text' || from.kind === 'bytes' ? toUuid : null;
    case 'time':
      return from.kind === 'other' || from.kind === 'text' ? toTime : null;
    case 'timestamp':
    case 'timestamptz':
      return from.kind === 'date' ? dateToTimestamp : null;
    default:
      return null;
  }
}
