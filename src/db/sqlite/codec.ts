/**
 * SQLite values <-> the engine's values (convert/value.ts).
 *
 * SQLite is dynamically typed: a column's declared type only gives it an *affinity*, and any cell may hold
 * any storage class (NULL, INTEGER, REAL, TEXT, BLOB). The column kind comes from the declared type (names
 * with a precise meaning first, then SQLite's affinity rules); each cell is decoded from its actual storage
 * class. A cell that cannot be read as its column's kind without changing it (TEXT `abc` in an INTEGER
 * column, REAL 1.5 in an INTEGER column, a BLOB in a TEXT column) is a {@link StorageMismatch}: the reader
 * turns it into a DataError naming table, key and column. Nothing is coerced silently.
 *
 * Integers are read with better-sqlite3's safe integers (BigInt), so 64-bit values are exact.
 */
import { canonicalizer } from '../../convert/canonical.js';
import type { ColumnKind, Value } from '../../convert/value.js';

/** What better-sqlite3 returns for a cell (with safe integers on). */
export type Raw = unknown;
/** What is bound as a parameter. */
export type Param = null | bigint | number | string | Buffer;

/** A cell or value that does not fit its column; the caller adds table, key and column. */
export class StorageMismatch extends Error {}

/**
 * Declared type -> kind. Names that say more than their affinity come first (BOOLEAN, DATE, DATETIME, JSON,
 * UUID, DECIMAL, BINARY); then SQLite's affinity rules in SQLite's order (https://sqlite.org/datatype3.html, 3.1):
 * INT -> int; CHAR/CLOB/TEXT -> text; BLOB -> bytes; REAL/FLOA/DOUB -> float. No declared type (or STRICT's
 * ANY), and other NUMERIC-affinity names, hold any storage class: read as `text`, each cell in its text form.
 */
export function kindOfDeclaredType(declared: string | null): ColumnKind {
  const t = (declared ?? '').trim().toUpperCase();
  const base = t.replace(/\s*\(.*$/s, '');
  switch (base) {
    case 'BOOL':
    case 'BOOLEAN':
      return 'bool';
    case 'DATE':
      return 'date';
    case 'TIME':
      return 'time';
    case 'DATETIME':
    case 'TIMESTAMP':
    case 'TIMESTAMP WITHOUT TIME ZONE':
      return 'timestamp';
    case 'TIMESTAMPTZ':
    case 'TIMESTAMP WITH TIME ZONE':
    case 'DATETIMEOFFSET':
      return 'timestamptz';
    case 'JSON':
      return 'json';
    case 'UUID':
    case 'GUID':
      return 'uuid';
    case 'DECIMAL':
    case 'NUMERIC':
    case 'NUMBER':
    case 'MONEY':
      return 'decimal';
    case 'BINARY':
    case 'VARBINARY':
    case 'BYTEA':
      return 'bytes';
  }
  if (t.includes('INT')) return 'int';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'text';
  if (t.includes('BLOB')) return 'bytes';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'float';
  return 'text';
}

/** `INTEGER 5`, `TEXT "abc"`, `BLOB (3 bytes)` — for messages. */
function describeRaw(raw: Raw): string {
  if (raw === null || raw === undefined) return 'NULL';
  if (typeof raw === 'bigint') return `INTEGER ${raw}`;
  if (typeof raw === 'number') return `REAL ${raw}`;
  if (typeof raw === 'string') {
    return `TEXT ${JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw)}`;
  }
  if (Buffer.isBuffer(raw)) return `BLOB (${raw.length} bytes)`;
  return typeof raw;
}

export type Decoder = (raw: Raw) => Value;

function mismatch(raw: Raw, what: string, hint = ''): never {
  throw new StorageMismatch(`holds ${describeRaw(raw)}, which is not ${what}${hint}`);
}

const INT_TEXT = /^-?\d+$/;
const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL_FLOAT = new Set(['NaN', 'Infinity', '-Infinity']);

/** The exact decimal digits of an integral double (e.g. REAL 1e20 in an INTEGER column). */
function integralDigits(n: number): string | null {
  return Number.isInteger(n) ? BigInt(n).toString() : null;
}

const decodeInt: Decoder = (raw) => {
  if (raw === null) return null;
  if (typeof raw === 'bigint') return raw.toString();
  if (typeof raw === 'number') return integralDigits(raw) ?? mismatch(raw, 'a whole number');
  if (typeof raw === 'string' && INT_TEXT.test(raw)) return raw;
  return mismatch(raw, 'a whole number');
};

const decodeDecimal: Decoder = (raw) => {
  if (raw === null) return null;
  if (typeof raw === 'bigint') return raw.toString();
  // The shortest text that reads back as the same double: exactly what SQLite holds.
  if (typeof raw === 'number') return Number.isNaN(raw) ? 'NaN' : String(raw);
  if (typeof raw === 'string' && (DECIMAL_TEXT.test(raw) || SPECIAL_FLOAT.has(raw))) return raw;
  return mismatch(raw, 'a decimal number');
};

const decodeFloat: Decoder = (raw) => {
  if (raw === null || typeof raw === 'number') return raw as Value;
  if (typeof raw === 'bigint') {
    const n = Number(raw);
    return BigInt(n) === raw ? n : mismatch(raw, 'exactly representable as a double');
  }
  if (typeof raw === 'string') {
    if (SPECIAL_FLOAT.has(raw)) return raw;
    if (DECIMAL_TEXT.test(raw)) return Number(raw);
  }
  return mismatch(raw, 'a number');
};

const TRUE_TEXT = new Set(['1', 't', 'true']);
const FALSE_TEXT = new Set(['0', 'f', 'false']);
const decodeBool: Decoder = (raw) => {
  if (raw === null) return null;
  if (raw === 1n || raw === 1) return true;
  if (raw === 0n || raw === 0) return false;
  if (typeof raw === 'string') {
    const t = raw.toLowerCase();
    if (TRUE_TEXT.has(t)) return true;
    if (FALSE_TEXT.has(t)) return false;
  }
  return mismatch(raw, 'a boolean (0/1, t/f, true/false)');
};

/** Any storage class but BLOB, as its text (INTEGER as digits, REAL as the shortest exact text). */
const decodeText: Decoder = (raw) => {
  if (raw === null || typeof raw === 'string') return raw as Value;
  if (typeof raw === 'bigint') return raw.toString();
  if (typeof raw === 'number') return String(raw);
  return mismatch(raw, 'text', ' (declare the column BLOB to copy bytes)');
};

const decodeBytes: Decoder = (raw) => {
  if (raw === null || Buffer.isBuffer(raw)) return raw as Value;
  // TEXT in a BLOB column: its UTF-8 bytes (SQLite's own CAST(x AS BLOB)).
  if (typeof raw === 'string') return Buffer.from(raw, 'utf8');
  return mismatch(raw, 'bytes');
};

const DATE_TEXT = /^\d{4,}-\d{2}-\d{2}( BC)?$/;
const decodeDate: Decoder = (raw) => {
  if (raw === null) return null;
  if (typeof raw === 'string' && (DATE_TEXT.test(raw) || raw === 'infinity' || raw === '-infinity'))
    return raw;
  return mismatch(raw, 'a date YYYY-MM-DD', numberHint(raw, 'date'));
};

const TIME_TEXT = /^(\d{2}:\d{2})(:\d{2}(\.\d+)?)?$/;
const decodeTime: Decoder = (raw) => {
  if (raw === null) return null;
  if (typeof raw === 'string') {
    const m = TIME_TEXT.exec(raw);
    if (m) return m[2] ? raw : `${raw}:00`;
  }
  return mismatch(raw, 'a time HH:MM[:SS[.fff]]', numberHint(raw, 'time'));
};

/** The forms SQLite's date functions read: `YYYY-MM-DD[ |T]HH:MM[:SS[.fff]][Z|±HH:MM]`, or a date alone. */
const TIMESTAMP_TEXT =
  /^(\d{4,}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?)?\s*([zZ]|[+-]\d{2}(?::?\d{2})?)?( BC)?$/;
const toUtc = canonicalizer('timestamptz');

/** Text -> `YYYY-MM-DD HH:MM:SS[.f]`; an offset, when present, is applied (the result is UTC). */
function parseTimestamp(raw: Raw, what: string): string {
  if (typeof raw === 'string') {
    if (raw === 'infinity' || raw === '-infinity') return raw;
    const m = TIMESTAMP_TEXT.exec(raw);
    if (m) {
      const clock = `${m[2] ?? '00:00'}${m[3] ?? ':00'}`;
      const bc = m[5] ?? '';
      const zone = (m[4] ?? '').toUpperCase();
      if (zone === '' || zone === 'Z' || /^[+-]00:?(00)?$/.test(zone)) return `${m[1]} ${clock}${bc}`;
      const utc = toUtc(`${m[1]} ${clock}${zone}${bc}`)!;
      return utc.replace('T', ' ').replace('Z', '');
    }
  }
  return mismatch(raw, what, numberHint(raw, 'datetime'));
}

const decodeTimestamp: Decoder = (raw) =>
  raw === null ? null : parseTimestamp(raw, 'a date and time YYYY-MM-DD HH:MM:SS');

function numberHint(raw: Raw, fn: string): string {
  if (typeof raw !== 'bigint' && typeof raw !== 'number') return '';
  return ` (a number of seconds or days: read it through a \`source: { query }\` with ${fn}(column, 'unixepoch') or ${fn}(column))`;
}

const decodeJson: Decoder = (raw) => {
  if (raw === null) return null;
  if (typeof raw === 'string') {
    try {
      JSON.parse(raw);
      return raw;
    } catch {
      return mismatch(raw, 'valid JSON text');
    }
  }
  if (typeof raw === 'bigint' || typeof raw === 'number') return String(raw);
  return mismatch(
    raw,
    'JSON text',
    ' (a JSONB blob: read it through a `source: { query }` with json(column))',
  );
};

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const decodeUuid: Decoder = (raw) => {
  if (raw === null) return null;
  if (typeof raw === 'string' && UUID_TEXT.test(raw)) return raw.toLowerCase();
  return mismatch(raw, 'a UUID in its 8-4-4-4-12 text form');
};

const DECODERS: Record<ColumnKind, Decoder> = {
  int: decodeInt,
  decimal: decodeDecimal,
  float: decodeFloat,
  bool: decodeBool,
  text: decodeText,
  bytes: decodeBytes,
  date: decodeDate,
  time: decodeTime,
  timestamp: decodeTimestamp,
  timestamptz: decodeTimestamp,
  json: decodeJson,
  uuid: decodeUuid,
  other: decodeText,
};

export function decoderFor(kind: ColumnKind): Decoder {
  return DECODERS[kind];
}

/** Value -> the parameter that stores it in a column of that kind. Throws StorageMismatch. */
export type Encoder = (value: Value) => Param;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function refuse(value: Value, what: string): never {
  const text = Buffer.isBuffer(value) ? `${value.length} bytes` : JSON.stringify(value);
  throw new StorageMismatch(`value ${text} ${what}`);
}

/** Digits -> INTEGER; beyond 64 bits, a REAL only when the double is exactly that number. */
const encodeInt: Encoder = (v) => {
  if (v === null) return null;
  if (typeof v === 'string' && INT_TEXT.test(v)) {
    const big = BigInt(v);
    if (big >= INT64_MIN && big <= INT64_MAX) return big;
    const n = Number(v);
    if (Number.isFinite(n) && BigInt(n) === big) return n;
    return refuse(v, 'is out of range for a SQLite INTEGER (64-bit)');
  }
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  return refuse(v, 'is not a whole number');
};

/** Text: the column's NUMERIC affinity stores it as INTEGER or REAL, as SQLite itself would. */
const encodeDecimal: Encoder = (v) => {
  if (v === null || typeof v === 'string') return v;
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return refuse(v, 'is not a decimal number');
};

const encodeFloat: Encoder = (v) => {
  if (v === null) return null;
  if (typeof v === 'number' && !Number.isNaN(v)) return v;
  if (v === 'Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  if (v === 'NaN' || (typeof v === 'number' && Number.isNaN(v))) {
    return refuse(v, 'cannot be stored: SQLite turns NaN into NULL');
  }
  return refuse(v, 'is not a number');
};

const encodeBool: Encoder = (v) => {
  if (v === null) return null;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return refuse(v, 'is not a boolean');
};

const encodeBytes: Encoder = (v) => {
  if (v === null || Buffer.isBuffer(v)) return v;
  return refuse(v, 'is not bytes');
};

const encodeText: Encoder = (v) => {
  if (v === null || typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return refuse(v, 'is not text');
};

const ENCODERS: Record<ColumnKind, Encoder> = {
  int: encodeInt,
  decimal: encodeDecimal,
  float: encodeFloat,
  bool: encodeBool,
  text: encodeText,
  bytes: encodeBytes,
  date: encodeText,
  time: encodeText,
  timestamp: encodeText,
  timestamptz: encodeText,
  json: encodeText,
  uuid: encodeText,
  other: encodeText,
};

export function encoderFor(kind: ColumnKind): Encoder {
  return ENCODERS[kind];
}
