/**
 * The canonical text of a {@link Value}, per column kind: the form that is hashed for verification and written
 * into cache values, so that the same datum read from PostgreSQL or MySQL prints identically.
 *
 * | kind        | canonical text                                                                     |
 * |-------------|------------------------------------------------------------------------------------|
 * | int         | digits, `-` for negatives; no `+`, no leading zeros; `-0` → `0`                    |
 * | decimal     | exact plain decimal: no `+`, no leading zeros, no trailing fractional zeros or `.`; |
 * |             | `-0.00` → `0`, `12.50` → `12.5`, `.5` → `0.5`; exponent inputs are expanded;        |
 * |             | `NaN`, `Infinity`, `-Infinity` kept (see {@link DECIMAL_MAX_PADDING})              |
 * | float       | `String(n)`: the shortest text that round-trips the double (`-0` → `0`, `1e+21`);  |
 * |             | `NaN`, `Infinity`, `-Infinity` (number or string)                                   |
 * | bool        | `true` / `false`                                                                   |
 * | text        | as is                                                                              |
 * | bytes       | lowercase hex, no prefix                                                           |
 * | date        | as is (`YYYY-MM-DD`, `infinity`, `YYYY-MM-DD BC`)                                   |
 * | time        | `HH:MM:SS[.f]`, fraction without trailing zeros, none if zero                       |
 * | timestamp   | `YYYY-MM-DDTHH:MM:SS[.f]` (`T` for the space, fraction as for time)                |
 * | timestamptz | as timestamp, converted to UTC, then `Z`: `+00`, `+00:00`, `Z` are dropped, other  |
 * |             | offsets (`+05:30`, `-08`, `+0530`, `+00:09:21`) applied by integer arithmetic, so   |
 * |             | microseconds survive; `infinity`/`-infinity` kept; PostgreSQL's ` BC` stays last    |
 * | json        | {@link canonicalJson}                                                              |
 * | uuid        | lowercase                                                                          |
 * | other       | as is                                                                              |
 *
 * NULL is `null` for every kind. A JS type that does not belong to the kind (see `value.ts`) is a bug in a
 * dialect's decoding, not bad data: it throws {@link CanonicalValueError} (a TypeError) naming the kind, as does
 * text that is not of the kind's form (e.g. `12a` for an int).
 */
import { canonicalJson, canonicalNumber } from './json-canonical.js';
import type { ColumnKind, Value } from './value.js';

export type Canonicalizer = (v: Value) => string | null;

/** A value that does not fit its column kind. `column` is set once the caller knows it. */
export class CanonicalValueError extends TypeError {
  readonly kind: ColumnKind;
  readonly column: string | undefined;
  readonly detail: string;

  constructor(kind: ColumnKind, detail: string, options?: { column?: string; cause?: unknown }) {
    const where = options?.column === undefined ? '' : `column ${options.column}: `;
    super(`${where}invalid ${kind} value: ${detail}`, { cause: options?.cause });
    this.name = 'CanonicalValueError';
    this.kind = kind;
    this.column = options?.column;
    this.detail = detail;
  }

  /** The same error, naming the column. */
  inColumn(column: string): CanonicalValueError {
    return new CanonicalValueError(this.kind, this.detail, { column, cause: this.cause });
  }
}

/**
 * Decimals with more padding zeros than this are written in exponent form (`1e300000`). It is beyond what
 * PostgreSQL numeric (131072 digits before the point, 16383 after) or MySQL DECIMAL (65 digits) can hold, so
 * database values always print as plain decimals.
 */
const DECIMAL_MAX_PADDING = 1 << 18;

/** The canonicalizer of a kind: chosen once per column, so the row loop never switches on kind. */
export function canonicalizer(kind: ColumnKind): Canonicalizer {
  return canonicalizers[kind];
}

const canonicalizers: Record<ColumnKind, Canonicalizer> = {
  int: canonicalInt,
  decimal: canonicalDecimal,
  float: canonicalFloat,
  bool: (v) => (v === null ? null : typeof v === 'boolean' ? (v ? 'true' : 'false') : wrongType('bool', v)),
  text: (v) => (v === null ? null : typeof v === 'string' ? v : wrongType('text', v)),
  bytes: canonicalBytes,
  date: (v) => (v === null ? null : typeof v === 'string' ? v : wrongType('date', v)),
  time: (v) => (v === null ? null : typeof v === 'string' ? trimFraction(v, 0) : wrongType('time', v)),
  timestamp: canonicalTimestamp,
  timestamptz: canonicalTimestamptz,
  json: canonicalJsonValue,
  uuid: (v) => (v === null ? null : typeof v === 'string' ? v.toLowerCase() : wrongType('uuid', v)),
  other: (v) => (v === null ? null : typeof v === 'string' ? v : wrongType('other', v)),
};

const ZERO = 48;
const NINE = 57;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const COLON = 58;
const SPACE = 32;
const UPPER_T = 84;
const UPPER_Z = 90;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function canonicalInt(v: Value): string | null {
  if (v === null) return null;
  if (typeof v !== 'string') return wrongType('int', v);
  const n = v.length;
  const c0 = v.charCodeAt(0);
  const digitsStart = c0 === MINUS || c0 === PLUS ? 1 : 0;
  if (digitsStart >= n) return malformed('int', v);
  for (let i = digitsStart; i < n; i++) if (!isDigit(v.charCodeAt(i))) return malformed('int', v);
  let s = digitsStart;
  while (s < n - 1 && v.charCodeAt(s) === ZERO) s++;
  // Already canonical: nothing stripped, no `+`, and not `-0`.
  if (s === digitsStart && c0 !== PLUS && (c0 !== MINUS || v.charCodeAt(s) !== ZERO)) return v;
  const digits = v.slice(s);
  return c0 === MINUS && digits !== '0' ? '-' + digits : digits;
}

function canonicalDecimal(v: Value): string | null {
  if (v === null) return null;
  if (typeof v !== 'string') return wrongType('decimal', v);
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return v;
  const n = v.length;
  const c0 = v.charCodeAt(0);
  const negative = c0 === MINUS;
  const intStart = negative || c0 === PLUS ? 1 : 0;
  let pos = intStart;
  while (pos < n && isDigit(v.charCodeAt(pos))) pos++;
  const intEnd = pos;
  let fracStart = pos;
  if (v.charCodeAt(pos) === DOT) {
    fracStart = ++pos;
    while (pos < n && isDigit(v.charCodeAt(pos))) pos++;
  }
  const fracEnd = pos;
  if (intEnd === intStart && fracEnd === fracStart) return malformed('decimal', v);
  let expStart = pos;
  const e = v.charCodeAt(pos);
  if (e === 101 || e === 69) {
    expStart = pos + 1;
    const s = v.charCodeAt(expStart);
    const digitsStart = s === PLUS || s === MINUS ? expStart + 1 : expStart;
    pos = digitsStart;
    while (pos < n && isDigit(v.charCodeAt(pos))) pos++;
    if (pos === digitsStart) return malformed('decimal', v);
  }
  if (pos !== n) return malformed('decimal', v);

  if (expStart === n && n <= DECIMAL_MAX_PADDING) {
    // Plain input (the databases' form): strip zeros on both ends.
    let a = intStart;
    while (a < intEnd && v.charCodeAt(a) === ZERO) a++;
    let b = fracEnd;
    while (b > fracStart && v.charCodeAt(b - 1) === ZERO) b--;
    if (a === intEnd && b === fracStart) return '0';
    const int = a === intEnd ? '0' : v.slice(a, intEnd);
    const out = b === fracStart ? int : int + '.' + v.slice(fracStart, b);
    return negative ? '-' + out : out;
  }
  return canonicalNumber(
    negative,
    v.slice(intStart, intEnd),
    v.slice(fracStart, fracEnd),
    v.slice(expStart, n),
    DECIMAL_MAX_PADDING,
  );
}

function canonicalFloat(v: Value): string | null {
  if (v === null) return null;
  if (typeof v === 'number') return String(v);
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return v;
  if (typeof v === 'string') return malformed('float', v);
  return wrongType('float', v);
}

function canonicalBytes(v: Value): string | null {
  if (v === null) return null;
  if (Buffer.isBuffer(v)) return v.toString('hex');
  const u = v as unknown;
  if (u instanceof Uint8Array) return Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('hex');
  return wrongType('bytes', v);
}

function canonicalJsonValue(v: Value): string | null {
  if (v === null) return null;
  if (typeof v !== 'string') return wrongType('json', v);
  try {
    return canonicalJson(v);
  } catch (error) {
    throw new CanonicalValueError('json', `${(error as Error).message} in ${excerpt(v)}`, { cause: error });
  }
}

/** Index of the date/time separator (space or `T`), or -1 (e.g. `infinity`). */
function separatorIndex(v: string): number {
  if (v.length > 10) {
    const c = v.charCodeAt(10);
    if (c === SPACE || c === UPPER_T) return 10; // the usual 4-digit year
  }
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === SPACE || c === UPPER_T) return i;
  }
  return -1;
}

/** Drops trailing zeros of the first `.digits` run at or after `from`, and the `.` if nothing is left. */
function trimFraction(v: string, from: number): string {
  const dot = v.indexOf('.', from);
  if (dot < 0) return v;
  let end = dot + 1;
  while (end < v.length && isDigit(v.charCodeAt(end))) end++;
  let last = end;
  while (last > dot + 1 && v.charCodeAt(last - 1) === ZERO) last--;
  if (last === end) return v;
  return v.slice(0, last === dot + 1 ? dot : last) + v.slice(end);
}

function canonicalTimestamp(v: Value): string | null {
  if (v === null) return null;
  if (typeof v !== 'string') return wrongType('timestamp', v);
  const sep = separatorIndex(v);
  if (sep < 0) return v; // infinity, -infinity
  // one concatenation: date, `T`, clock, fraction without trailing zeros, the rest (` BC`)
  const dot = v.indexOf('.', sep);
  if (dot < 0) return v.slice(0, sep) + 'T' + v.slice(sep + 1);
  let end = dot + 1;
  while (end < v.length && isDigit(v.charCodeAt(end))) end++;
  let last = end;
  while (last > dot + 1 && v.charCodeAt(last - 1) === ZERO) last--;
  return v.slice(0, sep) + 'T' + v.slice(sep + 1, last === dot + 1 ? dot : last) + v.slice(end);
}

function canonicalTimestamptz(v: Value): string | null {
  if (v === null) return null;
  if (typeof v !== 'string') return wrongType('timestamptz', v);
  if (v === 'infinity' || v === '-infinity') return v;
  const sep = separatorIndex(v);
  const t = sep + 1;
  if (
    sep < 8 ||
    !isDigit(v.charCodeAt(t)) ||
    !isDigit(v.charCodeAt(t + 1)) ||
    v.charCodeAt(t + 2) !== COLON ||
    !isDigit(v.charCodeAt(t + 3)) ||
    !isDigit(v.charCodeAt(t + 4)) ||
    v.charCodeAt(t + 5) !== COLON ||
    !isDigit(v.charCodeAt(t + 6)) ||
    !isDigit(v.charCodeAt(t + 7))
  ) {
    return malformed('timestamptz', v);
  }
  let pos = t + 8;
  let fraction = '';
  if (v.charCodeAt(pos) === DOT) {
    const start = pos + 1;
    let end = start;
    while (isDigit(v.charCodeAt(end))) end++;
    if (end === start) return malformed('timestamptz', v);
    let last = end;
    while (last > start && v.charCodeAt(last - 1) === ZERO) last--;
    if (last > start) fraction = v.slice(pos, last);
    pos = end;
  }
  let offset = 0; // seconds east of UTC
  const z = v.charCodeAt(pos);
  if (z === UPPER_Z) {
    pos++;
  } else if (z === PLUS || z === MINUS) {
    const parsed = parseOffset(v, pos + 1);
    if (parsed === undefined) return malformed('timestamptz', v);
    offset = z === MINUS ? -parsed.seconds : parsed.seconds;
    pos = parsed.end;
  }
  const rest = v.slice(pos);
  if (rest !== '' && rest !== ' BC') return malformed('timestamptz', v);

  if (offset === 0) return v.slice(0, sep) + 'T' + v.slice(t, t + 8) + fraction + 'Z' + rest;
  return shiftToUtc(v, sep, t, offset, rest === ' BC', fraction);
}

/** `HH`, `HH:MM`, `HHMM`, `HH:MM:SS` or `HHMMSS` at `pos`: the offset's magnitude in seconds. */
function parseOffset(v: string, pos: number): { seconds: number; end: number } | undefined {
  let seconds = 0;
  for (let part = 0; part < 3; part++) {
    let p = pos;
    if (part > 0 && v.charCodeAt(p) === COLON) p++;
    const d1 = v.charCodeAt(p);
    const d2 = v.charCodeAt(p + 1);
    if (!isDigit(d1) || !isDigit(d2)) {
      if (part === 0) return undefined;
      break;
    }
    seconds += ((d1 - ZERO) * 10 + (d2 - ZERO)) * (part === 0 ? 3600 : part === 1 ? 60 : 1);
    pos = p + 2;
  }
  return { seconds, end: pos };
}

/** `Y-M-D h:m:s` at `offset` seconds east → the same instant in UTC: `YYYY-MM-DDTHH:MM:SS<fraction>Z[ BC]`. */
function shiftToUtc(
  v: string,
  sep: number,
  t: number,
  offset: number,
  bc: boolean,
  fraction: string,
): string {
  const d1 = v.indexOf('-', 1);
  const d2 = v.indexOf('-', d1 + 1);
  const year = Number(v.slice(0, d1));
  const month = Number(v.slice(d1 + 1, d2));
  const day = Number(v.slice(d2 + 1, sep));
  if (
    d1 < 0 ||
    d2 < 0 ||
    !Number.isInteger(year) ||
    !(month >= 1 && month <= 12) ||
    !(day >= 1 && day <= 31)
  ) {
    return malformed('timestamptz', v);
  }
  const clock =
    Number(v.slice(t, t + 2)) * 3600 + Number(v.slice(t + 3, t + 5)) * 60 + Number(v.slice(t + 6, t + 8));
  const utc = clock - offset;
  const dayShift = Math.floor(utc / 86400);
  const secs = utc - dayShift * 86400;
  // PostgreSQL writes year 1 BC as `0001 ... BC`; astronomical year 0.
  const [y, m, d] = civilFromDays(daysFromCivil(bc ? 1 - year : year, month, day) + dayShift);
  const date = `${pad(y <= 0 ? 1 - y : y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
  const time = `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${pad(secs % 60, 2)}`;
  return date + 'T' + time + fraction + 'Z' + (y <= 0 ? ' BC' : '');
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

// Proleptic Gregorian calendar <-> days since 1970-01-01 (H. Hinnant's algorithms), exact for any year.
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return [y, m, d];
}

function excerpt(v: string): string {
  return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
}

function describe(v: Value): string {
  if (v === null) return 'null';
  if (Buffer.isBuffer(v)) return `Buffer(${v.length})`;
  if (typeof v === 'string') return `string ${excerpt(v)}`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return `${typeof v} ${String(v)}`;
}

const expected: Record<ColumnKind, string> = {
  int: 'a string of decimal digits',
  decimal: 'a decimal string',
  float: 'a number or NaN/Infinity/-Infinity',
  bool: 'a boolean',
  text: 'a string',
  bytes: 'a Buffer',
  date: 'a string YYYY-MM-DD',
  time: 'a string HH:MM:SS[.ffffff]',
  timestamp: 'a string YYYY-MM-DD HH:MM:SS[.ffffff]',
  timestamptz: 'a string YYYY-MM-DD HH:MM:SS[.ffffff][offset]',
  json: 'a string of JSON text',
  uuid: 'a string',
  other: 'a string',
};

function wrongType(kind: ColumnKind, v: Value): never {
  throw new CanonicalValueError(kind, `expected ${expected[kind]}, got ${describe(v)}`);
}

function malformed(kind: ColumnKind, v: string): never {
  throw new CanonicalValueError(kind, `expected ${expected[kind]}, got ${excerpt(v)}`);
}
