/**
 * Conversions from a source column's values to a target column's, driven by the target column's kind and
 * type (PLAN.md "Types"). Built once per column pair; the row loop only calls the returned function. A pair
 * with no safe conversion is refused up front, and a value that does not fit fails with `ValueError`, which
 * the engine turns into a DataError naming table, key and column.
 *
 * A converter is up to three steps, chosen once per column pair:
 * 1. zero dates (a date/timestamp source): MySQL's `0000-00-00`, `2024-00-10` have no equivalent anywhere:
 *    an error, or NULL with `zeroDates: null` (each one reported through `onZeroDateNull`, so it is
 *    counted). Never 1970-01-01 or 0001-01-01.
 * 2. the kind conversion (identity for the same kind): see {@link kindConverter}.
 * 3. what the target column can hold, from its database type (see {@link targetGuards}): integer ranges
 *    (BIGINT UNSIGNED max into a PostgreSQL bigint is an error, not a wrap), DECIMAL precision and scale (more
 *    decimals than the scale would be rounded by the database: an error), text length and ENUM/SET members,
 *    binary lengths, fractional-second precision, and for MySQL: no NaN/±Infinity, no `infinity`/BC dates or
 *    years over 9999, the TIMESTAMP range 1970–2038, TIME within ±838:59:59; for PostgreSQL: no NUL
 *    character in text, no year 0, time within 00:00:00–24:00:00.
 *
 * Documented mappings between the databases:
 * - TINYINT(1) (kind int) -> boolean: non-zero is true; boolean -> TINYINT(1)/any integer: 1/0.
 * - FLOAT/real (single precision) targets take float32 values only (a MySQL FLOAT, a real, or a double that
 *   happens to be one); any other double is an error naming the row, never a silent rounding. Both dialects
 *   read a float32 back as exactly that value. Integers and decimals into a double must be exact in it.
 * - CHAR(n) targets get the value as the target returns it: padded to n for PostgreSQL, without trailing
 *   spaces for MySQL (see {@link blankPadded}).
 * - PostgreSQL arrays -> MySQL JSON: a JSON array (nested for multi-dimensional arrays; numbers as numbers,
 *   booleans as true/false, json elements embedded, everything else as strings, NULL as null); arrays with
 *   explicit bounds (`[0:2]={…}`) are refused. Arrays into a text column keep PostgreSQL's text form.
 * - PostgreSQL interval -> MySQL TIME when it is `[-]H:MM:SS[.f]` (within TIME's range); other intervals
 *   (`1 day 02:00:00`) only into a text column, as PostgreSQL prints them. MySQL TIME beyond 24:00:00 or
 *   negative -> a PostgreSQL interval column (same text); into PostgreSQL `time` it is an error.
 * - uuid <-> 16-byte binary (BINARY(16)) and uuid <-> text.
 * - json -> text keeps the JSON text as stored.
 */
import type { DialectName } from '../db/dialect.js';
import { canonicalizer } from './canonical.js';
import type { Column, ColumnKind, Value } from './value.js';

export type Converter = (value: Value) => Value;

/** A single value that cannot be converted; the engine adds table, key and column. */
export class ValueError extends Error {}

export interface ConvertOptions {
  /** MySQL zero dates: an error (default) or NULL. */
  zeroDates?: 'error' | 'null';
  /** The target database, for the limits of its types; unknown: only the limits common to all. */
  target?: DialectName;
  /** Called for each zero date written as NULL (`zeroDates: null`), so the engine can count them. */
  onZeroDateNull?: () => void;
}

const identity: Converter = (v) => v;

/** True for the converter that returns every value as it is. */
export function isIdentity(c: Converter): boolean {
  return c === identity;
}

const INT = /^-?\d+$/;
const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)$/;
const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

function excerpt(v: Value): string {
  const s = Buffer.isBuffer(v) ? `0x${v.subarray(0, 16).toString('hex')}` : String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

// ---------------------------------------------------------------------------- kind conversions

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

const canonDecimal = canonicalizer('decimal');

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
function kindConverter(from: Column, to: Column): Converter | null {
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

// ---------------------------------------------------------------------------- PostgreSQL arrays -> JSON

type ElementForm = 'number' | 'bool' | 'json' | 'string';

function elementForm(arrayType: string): ElementForm {
  const t = arrayType.replace(/(\[\])+$/, '').replace(/\(.*\)$/, '');
  if (/^(smallint|integer|bigint|numeric|real|double precision|oid)$/.test(t)) return 'number';
  if (t === 'boolean') return 'bool';
  if (t === 'json' || t === 'jsonb') return 'json';
  return 'string';
}

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/;

/** `{1,2,NULL}` -> `[1,2,null]`, `{{"a b",c}}` -> `[["a b","c"]]` (PostgreSQL's array text output). */
function pgArrayToJson(arrayType: string): Converter {
  const form = elementForm(arrayType);
  const element = (token: string, quoted: boolean): string => {
    if (!quoted && token.toUpperCase() === 'NULL') return 'null';
    switch (form) {
      case 'number':
        return JSON_NUMBER.test(token) ? token : JSON.stringify(token);
      case 'bool':
        return token === 't' ? 'true' : token === 'f' ? 'false' : JSON.stringify(token);
      case 'json':
        JSON.parse(token);
        return token;
      default:
        return JSON.stringify(token);
    }
  };
  return (v) => {
    if (v === null) return null;
    if (typeof v !== 'string' || !v.startsWith('{')) {
      throw new ValueError(
        `PostgreSQL array ${excerpt(v)} cannot be stored as JSON (only arrays with the default lower bound 1)`,
      );
    }
    let i = 0;
    let out = '';
    const fail = (): never => {
      throw new ValueError(`malformed PostgreSQL array: ${excerpt(v)}`);
    };
    const parseArray = (): void => {
      if (v[i] !== '{') fail();
      i++;
      out += '[';
      if (v[i] === '}') {
        i++;
        out += ']';
        return;
      }
      for (;;) {
        if (v[i] === '{') parseArray();
        else if (v[i] === '"') {
          let token = '';
          i++;
          while (i < v.length && v[i] !== '"') {
            if (v[i] === '\\') i++;
            token += v[i++] ?? '';
          }
          if (v[i] !== '"') fail();
          i++;
          out += element(token, true);
        } else {
          const start = i;
          while (i < v.length && v[i] !== ',' && v[i] !== '}') i++;
          out += element(v.slice(start, i), false);
        }
        if (v[i] === ',') {
          i++;
          out += ',';
        } else if (v[i] === '}') {
          i++;
          out += ']';
          return;
        } else fail();
      }
    };
    try {
      parseArray();
    } catch (error) {
      if (error instanceof ValueError) throw error;
      throw new ValueError(`PostgreSQL array ${excerpt(v)} has an element that is not valid JSON`);
    }
    if (i !== v.length) fail();
    return out;
  };
}

// ---------------------------------------------------------------------------- zero dates (step 1)

/** `0000-00-00…` or a zero month or day (`2024-00-10`): MySQL's zero and zero-in-date values. */
function isZeroDate(v: string): boolean {
  return (
    v.length >= 10 &&
    v.charCodeAt(4) === 45 &&
    ((v.charCodeAt(5) === 48 && v.charCodeAt(6) === 48) || (v.charCodeAt(8) === 48 && v.charCodeAt(9) === 48))
  );
}

function zeroDateGuard(from: Column, options: ConvertOptions): Converter | null {
  if (from.kind !== 'date' && from.kind !== 'timestamp' && from.kind !== 'timestamptz') return null;
  const toNull = options.zeroDates === 'null';
  const counted = options.onZeroDateNull;
  return (v) => {
    if (typeof v !== 'string' || !isZeroDate(v)) return v;
    if (toNull) {
      counted?.();
      return null;
    }
    throw new ValueError(
      `MySQL zero date '${v}' has no real date to convert to; set \`zeroDates: null\` to write NULL instead`,
    );
  };
}

// ---------------------------------------------------------------------------- target limits (step 3)

export interface IntRange {
  min: bigint;
  max: bigint;
  /** YEAR: 0 or min..max. */
  orZero?: boolean;
}

const SIGNED_BITS: Record<string, number> = {
  tinyint: 8,
  smallint: 16,
  mediumint: 24,
  int: 32,
  integer: 32,
  bigint: 64,
};

export function intRange(dbType: string): IntRange | null {
  const m = /^(tinyint|smallint|mediumint|integer|int|bigint|year|bit)\b(?:\((\d+)\))?(.*)$/i.exec(
    dbType.trim(),
  );
  if (!m) return null;
  const name = m[1]!.toLowerCase();
  if (name === 'year') return { min: 1901n, max: 2155n, orZero: true };
  if (name === 'bit') return { min: 0n, max: (1n << BigInt(m[2] ?? 1)) - 1n };
  const bits = BigInt(SIGNED_BITS[name]!);
  if (/unsigned/i.test(m[3] ?? '')) return { min: 0n, max: (1n << bits) - 1n };
  return { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n };
}

function intGuard(to: Column): Converter | null {
  const range = intRange(to.dbType);
  if (!range) return null;
  const { min, max, orZero } = range;
  // Most values are short: compare as numbers when both the value and the bounds allow it exactly.
  const small = max <= BigInt(Number.MAX_SAFE_INTEGER) && min >= BigInt(Number.MIN_SAFE_INTEGER);
  const [nMin, nMax] = [Number(min), Number(max)];
  return (v) => {
    if (typeof v !== 'string') return v;
    let ok: boolean;
    if (v.length <= 15 && small) {
      const n = Number(v);
      ok = (n >= nMin && n <= nMax) || (orZero === true && n === 0);
    } else if (INT.test(v)) {
      const n = BigInt(v);
      ok = (n >= min && n <= max) || (orZero === true && n === 0n);
    } else ok = false;
    if (ok) return v;
    const allowed = `${orZero ? '0 or ' : ''}${min}..${max}`;
    throw new ValueError(`${excerpt(v)} is out of range for ${to.dbType} (${allowed})`);
  };
}

function decimalGuard(to: Column, options: ConvertOptions): Converter | null {
  const m = /^(?:numeric|decimal|dec|fixed)\s*\((\d+)(?:\s*,\s*(\d+))?\)(.*)$/i.exec(to.dbType.trim());
  const mysql = options.target === 'mysql';
  if (!m && !mysql) return null;
  const precision = m ? Number(m[1]) : 65;
  const scale = m ? Number(m[2] ?? 0) : 30;
  const unsigned = /unsigned/i.test(m?.[3] ?? '');
  return (v) => {
    if (typeof v !== 'string') return v;
    if (NON_FINITE.has(v)) {
      if (mysql) throw new ValueError(`${v} cannot be stored in MySQL ${to.dbType}`);
      return v;
    }
    const c = canonDecimal(v)!;
    const negative = c.startsWith('-');
    const dot = c.indexOf('.');
    const intPart = c.slice(negative ? 1 : 0, dot < 0 ? c.length : dot);
    const fraction = dot < 0 ? 0 : c.length - dot - 1;
    const intDigits = intPart === '0' ? 0 : intPart.length;
    if (intDigits > precision - scale || (unsigned && negative)) {
      throw new ValueError(`${excerpt(v)} is out of range for ${to.dbType}`);
    }
    if (fraction > scale) {
      throw new ValueError(
        `${excerpt(v)} has more than ${scale} decimal places: ${to.dbType} would round it`,
      );
    }
    return v;
  };
}

/** PostgreSQL's single-precision type (`real`, or its internal name `float4`). */
export function isPgSingleFloat(dbType: string): boolean {
  return /^(real|float4)$/i.test(dbType.trim());
}

/**
 * A single-precision target stores a float32: a value that is one arrives unchanged (written as the double
 * it widens to, which both databases read back exactly); any other double would be rounded, and is refused
 * like every value that cannot arrive unchanged (`invalid: skip` rejects its row instead).
 */
function floatGuard(to: Column, options: ConvertOptions): Converter | null {
  const mysql = options.target === 'mysql';
  const single = mysql ? /^float\b/i.test(to.dbType) : isPgSingleFloat(to.dbType);
  if (!mysql && !single) return null;
  return (v) => {
    if (v === null) return v;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      if (mysql) throw new ValueError(`${String(v)} cannot be stored in MySQL ${to.dbType}`);
      return v;
    }
    if (!single) return v;
    const f = Math.fround(v);
    if (!Number.isFinite(f)) throw new ValueError(`${v} is out of range for ${to.dbType} (single precision)`);
    if (f !== v) {
      throw new ValueError(
        `${v} is not a single-precision value: ${to.dbType} would store ${f} (use a double column, or invalid: skip)`,
      );
    }
    return v;
  };
}

/** Code points in a string (a JS string's length counts UTF-16 units). */
function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

const MYSQL_TEXT_BYTES: Record<string, number> = { tinytext: 255, text: 65_535, mediumtext: 16_777_215 };
const MYSQL_BLOB_BYTES: Record<string, number> = { tinyblob: 255, blob: 65_535, mediumblob: 16_777_215 };

/** `enum('a','b''c')` -> ['a', "b'c"]. */
function memberList(list: string): string[] {
  const out: string[] = [];
  const re = /'((?:[^'\\]|''|\\.)*)'/g;
  for (let m = re.exec(list); m; m = re.exec(list))
    out.push(m[1]!.replaceAll("''", "'").replace(/\\(.)/g, '$1'));
  return out;
}

const TRAILING_SPACES = / +$/;
const SPACE = 32;

/**
 * CHAR(n) compares without its trailing spaces in both databases, and each stores it its own way:
 * PostgreSQL pads the value to n characters (and prints it padded), MySQL strips trailing spaces on read.
 * The converted value is what the target will hold and return, so the checks and the cache see the target's
 * form: padded for PostgreSQL `character(n)`, stripped for MySQL `char(n)`. Trailing spaces are the only
 * difference CHAR ignores; the length check that follows counts the value without them.
 */
function blankPadded(to: Column, options: ConvertOptions): Converter | null {
  if (options.target === 'postgres') {
    const n = pgCharacterLength(to.dbType);
    if (n === null) return null;
    return (v) => {
      if (typeof v !== 'string') return v;
      const s = v.charCodeAt(v.length - 1) === SPACE ? v.replace(TRAILING_SPACES, '') : v;
      const length = codePoints(s);
      return length < n ? s + ' '.repeat(n - length) : s;
    };
  }
  if (options.target === 'mysql' && /^(?:char|character|nchar)(?:\s*\(\d+\))?$/i.test(to.dbType.trim())) {
    return (v) =>
      typeof v === 'string' && v.charCodeAt(v.length - 1) === SPACE ? v.replace(TRAILING_SPACES, '') : v;
  }
  return null;
}

/**
 * n of a PostgreSQL `character(n)` (1 for `character` alone), whose values PostgreSQL pads to n; null for any
 * other type (`bpchar` without a length keeps values as written).
 */
export function pgCharacterLength(dbType: string): number | null {
  const m = /^(?:character|char|bpchar)(?:\s*\((\d+)\))?$/i.exec(dbType.trim());
  if (!m) return null;
  if (m[1] !== undefined) return Number(m[1]);
  return /^bpchar$/i.test(dbType.trim()) ? null : 1;
}

function textGuard(to: Column, options: ConvertOptions): Converter | null {
  const checks: Converter[] = [];
  const type = to.dbType.trim();
  if (options.target === 'postgres') {
    checks.push((v) => {
      if (typeof v === 'string' && v.includes('\0'))
        throw new ValueError('text containing a NUL character (0x00) cannot be stored in PostgreSQL');
      return v;
    });
  }
  const padded = blankPadded(to, options);
  if (padded) checks.push(padded);
  const length = /^(?:varchar|char|character varying|character|nvarchar|nchar)\s*\((\d+)\)/i.exec(type);
  if (length) {
    const max = Number(length[1]);
    checks.push((v) => {
      if (typeof v === 'string' && v.length > max && codePoints(v) > max)
        throw new ValueError(`${codePoints(v)} characters do not fit in ${to.dbType}`);
      return v;
    });
  }
  const bytes = options.target === 'mysql' ? MYSQL_TEXT_BYTES[type.toLowerCase()] : undefined;
  if (bytes !== undefined) {
    checks.push((v) => {
      if (typeof v === 'string' && v.length * 3 > bytes && Buffer.byteLength(v) > bytes)
        throw new ValueError(`${Buffer.byteLength(v)} bytes do not fit in ${to.dbType} (${bytes} bytes)`);
      return v;
    });
  }
  const enumType = /^enum\s*\((.*)\)$/is.exec(type);
  if (enumType) {
    const members = new Set(memberList(enumType[1]!));
    checks.push((v) => {
      if (typeof v === 'string' && !members.has(v))
        throw new ValueError(`'${excerpt(v)}' is not one of the values of ${to.dbType}`);
      return v;
    });
  }
  const setType = /^set\s*\((.*)\)$/is.exec(type);
  if (setType) {
    // MySQL stores a SET's members in definition order, once each: write them that way, so the value
    // read back is the one written.
    const members = memberList(setType[1]!);
    checks.push((v) => {
      if (typeof v !== 'string' || v === '') return v;
      const given = new Set(v.split(','));
      for (const g of given) {
        if (!members.includes(g)) throw new ValueError(`'${excerpt(g)}' is not a member of ${to.dbType}`);
      }
      return members.filter((m) => given.has(m)).join(',');
    });
  }
  return chain(checks);
}

function bytesGuard(to: Column, options: ConvertOptions): Converter | null {
  if (options.target !== 'mysql') return null;
  const type = to.dbType.trim().toLowerCase();
  const fixed = /^binary\((\d+)\)/.exec(type);
  if (fixed) {
    const n = Number(fixed[1]);
    return (v) => {
      if (Buffer.isBuffer(v) && v.length !== n)
        throw new ValueError(`${v.length} bytes into ${to.dbType}: MySQL would pad or refuse them`);
      return v;
    };
  }
  const varying = /^varbinary\((\d+)\)/.exec(type);
  const max = varying ? Number(varying[1]) : MYSQL_BLOB_BYTES[type];
  if (max === undefined) return null;
  return (v) => {
    if (Buffer.isBuffer(v) && v.length > max)
      throw new ValueError(`${v.length} bytes do not fit in ${to.dbType} (${max} bytes)`);
    return v;
  };
}

/** Fractional-second digits the type keeps: `(n)` in the type, else PostgreSQL's 6, MySQL's 0. */
function fsp(to: Column, options: ConvertOptions): number {
  const m = /\((\d)\)/.exec(to.dbType);
  if (m) return Number(m[1]);
  const pg = options.target === 'postgres' || / with(out)? time zone/i.test(to.dbType);
  return pg ? 6 : options.target === 'mysql' ? 0 : 6;
}

/** A fraction with non-zero digits beyond `digits` would be rounded by the database. */
function fractionGuard(to: Column, digits: number): Converter | null {
  if (digits >= 6) return null;
  return (v) => {
    if (typeof v !== 'string') return v;
    const dot = v.indexOf('.');
    if (dot < 0) return v;
    let end = dot + 1;
    while (end < v.length && v.charCodeAt(end) >= 48 && v.charCodeAt(end) <= 57) end++;
    for (let i = dot + 1 + digits; i < end; i++) {
      if (v.charCodeAt(i) !== 48) {
        throw new ValueError(
          `${excerpt(v)} has more fractional-second digits than ${to.dbType} keeps (${digits})`,
        );
      }
    }
    return v;
  };
}

/** MySQL dates: years 0000–9999, no `infinity`, no BC. PostgreSQL: no year 0. */
function dateRangeGuard(to: Column, options: ConvertOptions): Converter | null {
  if (options.target === 'mysql') {
    return (v) => {
      if (typeof v !== 'string') return v;
      if (v.indexOf('-') !== 4 || v.endsWith(' BC') || v.includes('infinity')) {
        throw new ValueError(
          `${excerpt(v)} is outside the range of MySQL ${to.dbType} (years 0–9999, no BC, no infinity)`,
        );
      }
      return v;
    };
  }
  if (options.target === 'postgres') {
    return (v) => {
      if (typeof v === 'string' && v.startsWith('0000-'))
        throw new ValueError(`${excerpt(v)}: year 0 does not exist in PostgreSQL`);
      return v;
    };
  }
  return null;
}

const MYSQL_TIMESTAMP_MIN = '1970-01-01 00:00:01';
const MYSQL_TIMESTAMP_MAX = '2038-01-19 03:14:07.999999';

/** MySQL TIMESTAMP holds 1970-01-01 00:00:01 … 2038-01-19 03:14:07.999999 UTC. */
function mysqlTimestampGuard(to: Column): Converter {
  return (v) => {
    if (typeof v === 'string' && (v < MYSQL_TIMESTAMP_MIN || v > MYSQL_TIMESTAMP_MAX)) {
      throw new ValueError(
        `${excerpt(v)} UTC is outside the range of MySQL ${to.dbType} (1970-01-01 00:00:01 to 2038-01-19 03:14:07 UTC); use DATETIME`,
      );
    }
    return v;
  };
}

const TIME = /^(-?)(\d+):(\d\d):(\d\d)(?:\.(\d+))?$/;

function timeRangeGuard(to: Column, options: ConvertOptions): Converter | null {
  if (options.target === 'postgres') {
    return (v) => {
      if (typeof v !== 'string') return v;
      const m = TIME.exec(v);
      const hours = Number(m?.[2]);
      const beyond = hours === 24 && (m?.[3] !== '00' || m[4] !== '00' || /[1-9]/.test(m[5] ?? ''));
      if (!m || m[1] === '-' || hours > 24 || beyond) {
        throw new ValueError(
          `${excerpt(v)} is not a time of day (00:00:00–24:00:00) for PostgreSQL ${to.dbType}; use an interval column`,
        );
      }
      return v;
    };
  }
  if (options.target === 'mysql') {
    const max = 838 * 3600 + 59 * 60 + 59;
    return (v) => {
      if (typeof v !== 'string') return v;
      const m = TIME.exec(v);
      const seconds = m ? Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]) : Number.NaN;
      if (!(seconds < max || (seconds === max && !/[1-9]/.test(m?.[5] ?? '')))) {
        throw new ValueError(`${excerpt(v)} is outside the range of MySQL TIME (-838:59:59 to 838:59:59)`);
      }
      return v;
    };
  }
  return null;
}

/** Step 3: what the target column can hold. */
function targetGuards(to: Column, options: ConvertOptions): Converter | null {
  // SQLite ignores declared sizes: every integer column holds 64 bits, REAL is a double, and neither
  // DECIMAL(p,s) nor VARCHAR(n) is enforced. The per-batch check still catches any value it changes.
  if (options.target === 'sqlite') return to.kind === 'int' ? intGuard({ ...to, dbType: 'bigint' }) : null;
  switch (to.kind) {
    case 'int':
      return intGuard(to);
    case 'decimal':
      return decimalGuard(to, options);
    case 'float':
      return floatGuard(to, options);
    case 'text':
      return textGuard(to, options);
    case 'bytes':
      return bytesGuard(to, options);
    case 'date':
      return dateRangeGuard(to, options);
    case 'timestamp':
      return chain([dateRangeGuard(to, options), fractionGuard(to, fsp(to, options))]);
    case 'timestamptz':
      return chain([
        dateRangeGuard(to, options),
        options.target === 'mysql' ? mysqlTimestampGuard(to) : null,
        fractionGuard(to, fsp(to, options)),
      ]);
    case 'time':
      return chain([timeRangeGuard(to, options), fractionGuard(to, fsp(to, options))]);
    default:
      return null;
  }
}

function chain(steps: (Converter | null)[]): Converter | null {
  const list = steps.filter((s): s is Converter => s !== null && s !== identity);
  if (list.length === 0) return null;
  if (list.length === 1) return list[0]!;
  if (list.length === 2) {
    const [a, b] = list as [Converter, Converter];
    return (v) => b(a(v));
  }
  return (v) => {
    let out = v;
    for (const step of list) out = step(out);
    return out;
  };
}

/**
 * The converter from `from` to `to`, or null when the pair has no conversion that keeps every value (the
 * caller reports the column).
 */
export function converterFor(from: Column, to: Column, options: ConvertOptions = {}): Converter | null {
  // Every value a PostgreSQL column holds fits a PostgreSQL column of the same type, as it is.
  if (sameType(from, to, options)) return identity;
  const kind = kindConverter(from, to);
  if (!kind) return null;
  return chain([zeroDateGuard(from, options), kind, targetGuards(to, options)]) ?? identity;
}

function sameType(from: Column, to: Column, options: ConvertOptions): boolean {
  return (
    options.target === 'postgres' &&
    from.origin === 'postgres' &&
    from.kind === to.kind &&
    from.dbType === to.dbType
  );
}
