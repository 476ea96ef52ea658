/**
 * A row's canonical JSON (convert/row-json.ts) written straight from its line of COPY text into a buffer,
 * byte by byte: no string per field, no row array, no JSON text to encode again. It is what packing a batch
 * of cache values costs when the batch is not otherwise decoded (PostgreSQL to PostgreSQL, same types).
 *
 * It relies on what this dialect's sessions print (connect.ts: UTC, ISO dates, UTF-8) and takes a fast path
 * only for a field in the exact form PostgreSQL prints for its kind:
 *
 * | kind                 | COPY text                           | JSON                                  |
 * |----------------------|-------------------------------------|---------------------------------------|
 * | int                  | `-?[1-9][0-9]*` or `0`              | the same digits                       |
 * | decimal              | `-?digits[.digits]` (no lead zero)  | `"…"`, fraction without trailing zeros |
 * | bool                 | `t` / `f`                           | `true` / `false`                      |
 * | text, date, other    | COPY escapes, valid UTF-8           | the JSON string, JSON.stringify's escapes |
 * | uuid                 | no capital letters                  | the JSON string                       |
 * | jsonb                | jsonb's output, plain ASCII keys    | spaces dropped, keys sorted, numbers  |
 * |                      |                                     | without trailing fractional zeros      |
 * | timestamp(tz)        | `YYYY-MM-DD HH:MM:SS[.f]` (`+00`)    | `"YYYY-MM-DDTHH:MM:SS[.f]"` (`Z`)       |
 *
 * Any other field (json, float, bytes, time, and any value not in the form above: BC dates, infinity,
 * NaN, an unusual escape, invalid UTF-8, a jsonb object with other keys) is decoded as the row decoder
 * would and encoded by row-json's own encoder, so the output is always exactly
 * `rowJsonEncoder(columns)(decoded row)`.
 */
import { CanonicalValueError } from '../../convert/canonical.js';
import { jsonValueEncoder } from '../../convert/row-json.js';
import type { Column, ColumnKind, Row, Value } from '../../convert/value.js';
import type { CopyJson } from '../batch.js';
import { decoderFor } from './codec.js';
import { copyLineError, unescapeField } from './copy-text.js';

const TAB = 9;
const NEWLINE = 10;
const QUOTE = 34;
const BACKSLASH = 92;
const ZERO = 48;
const NINE = 57;
const MINUS = 45;
const DOT = 46;
const COLON = 58;
const SPACE = 32;
const PLUS = 43;
const LOWER_N = 110;
const UPPER_N = 78;
const HEX = '0123456789abcdef';

const OP_FALLBACK = 0;
const OP_INT = 1;
const OP_DECIMAL = 2;
const OP_BOOL = 3;
const OP_TEXT = 4;
const OP_UUID = 5;
const OP_TIMESTAMP = 6;
const OP_TIMESTAMPTZ = 7;
const OP_JSONB = 8;

function opOf(kind: ColumnKind, dbType: string): number {
  switch (kind) {
    case 'json':
      return dbType === 'jsonb' ? OP_JSONB : OP_FALLBACK;
    case 'int':
      return OP_INT;
    case 'decimal':
      return OP_DECIMAL;
    case 'bool':
      return OP_BOOL;
    case 'text':
    case 'date':
    case 'other':
      return OP_TEXT;
    case 'uuid':
      return OP_UUID;
    case 'timestamp':
      return OP_TIMESTAMP;
    case 'timestamptz':
      return OP_TIMESTAMPTZ;
    default:
      return OP_FALLBACK;
  }
}

/** JSON text of a non-null decoded value of a kind (row-json's encoder). */
type Encode = (v: Value) => string;

/**
 * The CopyJson of rows of `columns` (their kinds, in COPY order), written as objects with `names` as keys;
 * `keyColumns`: the columns `keyRow` decodes and `fieldStart`/`fieldEnd` find for each line (a cache key's).
 */
export function copyJson(
  columns: readonly Column[],
  names: readonly string[],
  keyColumns: number[],
): CopyJson {
  return new CopyJsonWriter(columns, names, keyColumns);
}

class CopyJsonWriter implements CopyJson {
  private readonly width: number;
  private readonly ops: Uint8Array;
  private readonly prefixes: Buffer[];
  private readonly prefixBytes: number;
  /** Bytes of the prefixes from column i on, and the closing brace. */
  private readonly restPrefixBytes: number[];
  private readonly decoders: ((text: string | null) => Value)[];
  private readonly encoders: Encode[];
  private readonly keyColumns: number[];
  private readonly lastKeyColumn: number;
  /** The text `lines` visits, and where each field up to the last key column starts in its line. */
  private text: Buffer = Buffer.alloc(0);
  private readonly starts: Int32Array;
  /** The key row `keyRow` fills (the same array from line to line). */
  private readonly row: Row;

  constructor(
    private readonly columns: readonly Column[],
    names: readonly string[],
    keyColumns: number[],
  ) {
    this.width = columns.length;
    this.ops = Uint8Array.from(columns.map((c) => opOf(c.kind, c.dbType)));
    this.prefixes = names.map((name, i) => Buffer.from((i === 0 ? '{' : ',') + JSON.stringify(name) + ':'));
    this.restPrefixBytes = new Array(this.prefixes.length + 1).fill(1);
    for (let i = this.prefixes.length - 1; i >= 0; i--) {
      this.restPrefixBytes[i] = this.restPrefixBytes[i + 1]! + this.prefixes[i]!.length;
    }
    this.prefixBytes = this.restPrefixBytes[0]! + 1;
    this.decoders = columns.map((c) => decoderFor(c));
    this.encoders = columns.map((c) => jsonValueEncoder(c.kind));
    this.keyColumns = keyColumns;
    this.lastKeyColumn = keyColumns.length ? Math.max(...keyColumns) : -1;
    this.starts = new Int32Array(this.lastKeyColumn + 2);
    this.row = new Array(this.width).fill(null);
  }

  lines(text: Buffer, visit: (start: number, end: number) => void): void {
    const starts = this.starts;
    const last = this.lastKeyColumn;
    this.text = text;
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf(NEWLINE, start);
      if (end < 0) end = text.length;
      // Field boundaries up to the last key column.
      let pos = start;
      for (let i = 0; i <= last; i++) {
        starts[i] = pos;
        pos = fieldEnd(text, pos, end) + 1;
      }
      starts[last + 1] = pos;
      visit(start, end);
      start = end + 1;
    }
  }

  fieldStart(column: number): number {
    return this.starts[column]!;
  }

  fieldEnd(column: number): number {
    return this.starts[column + 1]! - 1;
  }

  /** Each key field decoded as the row decoder would. */
  keyRow(): Row {
    const { row, starts, text } = this;
    for (const k of this.keyColumns)
      row[k] = this.decoders[k]!(fieldText(text, starts[k]!, starts[k + 1]! - 1));
    return row;
  }

  maxBytes(length: number): number {
    return this.prefixBytes + 6 * length;
  }

  writeJson(text: Buffer, start: number, end: number, out: Buffer, at: number): number {
    const { ops, prefixes, restPrefixBytes, width } = this;
    let pos = start;
    for (let i = 0; i < width; i++) {
      const prefix = prefixes[i]!;
      // Room for the worst case of the rest (a slow-path field may have used more than its share).
      if (at + restPrefixBytes[i]! + 6 * (end - pos) > out.length) return -1;
      for (let j = 0; j < prefix.length; j++) out[at++] = prefix[j]!;
      // Each fast path reads its field up to the tab (or the line's end) and leaves that in `stop`.
      let next = -1;
      if (
        text[pos] === BACKSLASH &&
        text[pos + 1] === UPPER_N &&
        (pos + 2 === end || text[pos + 2] === TAB)
      ) {
        out[at++] = LOWER_N;
        out[at++] = 117; // u
        out[at++] = 108; // l
        out[at++] = 108; // l
        next = at;
        stop = pos + 2;
      } else {
        switch (ops[i]) {
          case OP_INT:
            next = writeInt(text, pos, end, out, at);
            break;
          case OP_DECIMAL:
            next = writeDecimal(text, pos, end, out, at);
            break;
          case OP_BOOL:
            next = writeBool(text, pos, end, out, at);
            break;
          case OP_TEXT:
            next = writeText(text, pos, end, out, at, false);
            break;
          case OP_UUID:
            next = writeText(text, pos, end, out, at, true);
            break;
          case OP_TIMESTAMP:
            next = writeTimestamp(text, pos, end, out, at, false);
            break;
          case OP_TIMESTAMPTZ:
            next = writeTimestamp(text, pos, end, out, at, true);
            break;
          case OP_JSONB:
            next = writeJsonb(text, pos, end, out, at);
            break;
        }
      }
      if (next < 0) {
        stop = fieldEnd(text, pos, end);
        next = this.writeDecoded(i, text, pos, stop, out, at);
        if (next < 0) return -1;
      }
      if (i < width - 1 ? stop >= end : stop !== end) throw fieldCountError(text, start, end, width);
      at = next;
      pos = stop + 1;
    }
    if (at >= out.length) return -1;
    out[at++] = 125; // }
    return at;
  }

  /** The slow path of one field: decoded, then row-json's encoder. -1: `out` is too small. */
  private writeDecoded(i: number, text: Buffer, pos: number, fe: number, out: Buffer, at: number): number {
    const value = this.decoders[i]!(fieldText(text, pos, fe));
    let json: string;
    if (value === null) json = 'null';
    else {
      try {
        json = this.encoders[i]!(value);
      } catch (error) {
        throw error instanceof CanonicalValueError ? error.inColumn(this.columns[i]!.name) : error;
      }
    }
    if (at + 3 * json.length > out.length) return -1;
    return at + out.write(json, at, 'utf8');
  }
}

/** Where the field a fast path just wrote ends (its tab, or the line's end). */
let stop = 0;

/** The end (tab or `end`) of the field starting at `pos`. */
function fieldEnd(text: Buffer, pos: number, end: number): number {
  while (pos < end && text[pos] !== TAB) pos++;
  return pos;
}

/** A field's text as the row decoder gets it: `\N` → null, escapes undone. */
function fieldText(text: Buffer, pos: number, fe: number): string | null {
  const s = text.toString('utf8', pos, fe);
  if (s.indexOf('\\') < 0) return s;
  return s === '\\N' ? null : unescapeField(s, 0, s.length);
}

function fieldCountError(text: Buffer, start: number, end: number, width: number): Error {
  return copyLineError(text.toString('utf8', start, Math.min(end, start + 80)), width);
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/** Whether the field that started at `pos` ends at `p` (a tab or the line's end). */
function endsAt(text: Buffer, p: number, end: number): boolean {
  return p === end || text[p] === TAB;
}

/** `-?(0|[1-9][0-9]*)`, not `-0`: copied as it is. */
function writeInt(text: Buffer, pos: number, end: number, out: Buffer, at: number): number {
  let p = pos;
  if (text[p] === MINUS) p++;
  const digits = p;
  while (p < end && isDigit(text[p]!)) p++;
  if (p === digits || !endsAt(text, p, end)) return -1;
  if (text[digits] === ZERO && (p - digits > 1 || digits > pos)) return -1;
  for (let q = pos; q < p; q++) out[at++] = text[q]!;
  stop = p;
  return at;
}

/** `-?(0|[1-9][0-9]*)(.[0-9]+)?`: quoted, trailing fractional zeros and a bare point dropped, `-0` → `0`. */
function writeDecimal(text: Buffer, pos: number, end: number, out: Buffer, at: number): number {
  let p = pos;
  const negative = text[p] === MINUS;
  if (negative) p++;
  const intStart = p;
  while (p < end && isDigit(text[p]!)) p++;
  const intEnd = p;
  if (intEnd === intStart || (text[intStart] === ZERO && intEnd - intStart > 1)) return -1;
  let last = intEnd;
  if (p < end && text[p] === DOT) {
    const fracStart = ++p;
    while (p < end && isDigit(text[p]!)) p++;
    if (p === fracStart) return -1;
    last = p;
    while (text[last - 1] === ZERO) last--;
    if (last === fracStart) last = intEnd; // only zeros after the point
  }
  if (!endsAt(text, p, end)) return -1;
  const zero = intEnd - intStart === 1 && text[intStart] === ZERO && last === intEnd;
  out[at++] = QUOTE;
  for (let q = negative && zero ? intStart : pos; q < last; q++) out[at++] = text[q]!;
  out[at++] = QUOTE;
  stop = p;
  return at;
}

function writeBool(text: Buffer, pos: number, end: number, out: Buffer, at: number): number {
  if (pos >= end || !endsAt(text, pos + 1, end)) return -1;
  const word = text[pos] === 116 ? 'true' : text[pos] === 102 ? 'false' : null;
  if (word === null) return -1;
  for (let j = 0; j < word.length; j++) out[at++] = word.charCodeAt(j);
  stop = pos + 1;
  return at;
}

/**
 * A JSON string from COPY-escaped UTF-8: `\b \f \n \r \t \v \\` undone and JSON-escaped as JSON.stringify
 * would (`\v` and other controls as `\u00xx`), `"` escaped, valid UTF-8 copied. `noUpper`: a capital
 * letter takes the slow path (uuid: canonical is lowercase).
 */
function writeText(
  text: Buffer,
  pos: number,
  end: number,
  out: Buffer,
  at: number,
  noUpper: boolean,
): number {
  out[at++] = QUOTE;
  let p = pos;
  while (p < end) {
    const c = text[p]!;
    if (c >= 0x20 && c < 0x80 && c !== QUOTE && c !== BACKSLASH) {
      if (noUpper && c >= 65 && c <= 90) return -1;
      out[at++] = c;
      p++;
    } else if (c === TAB) break;
    else if (c === BACKSLASH) {
      if (p + 1 >= end) return -1;
      const e = text[p + 1]!;
      let code: number;
      switch (e) {
        case BACKSLASH:
          code = BACKSLASH;
          break;
        case 98: // b
          code = 8;
          break;
        case 102: // f
          code = 12;
          break;
        case LOWER_N:
          code = NEWLINE;
          break;
        case 114: // r
          code = 13;
          break;
        case 116: // t
          code = TAB;
          break;
        case 118: // v
          code = 11;
          break;
        default:
          return -1; // octal, hex or other escapes: the slow path
      }
      at = writeEscaped(code, out, at);
      p += 2;
    } else if (c < 0x80) {
      at = writeEscaped(c, out, at);
      p++;
    } else {
      const n = utf8Length(text, p, end);
      if (n === 0) return -1;
      for (let q = 0; q < n; q++) out[at++] = text[p + q]!;
      p += n;
    }
  }
  out[at++] = QUOTE;
  stop = p;
  return at;
}

/** A character that JSON escapes: `"`, `\`, or a control character. */
function writeEscaped(c: number, out: Buffer, at: number): number {
  out[at++] = BACKSLASH;
  switch (c) {
    case QUOTE:
    case BACKSLASH:
      out[at++] = c;
      return at;
    case 8:
      out[at++] = 98;
      return at;
    case 12:
      out[at++] = 102;
      return at;
    case NEWLINE:
      out[at++] = LOWER_N;
      return at;
    case 13:
      out[at++] = 114;
      return at;
    case TAB:
      out[at++] = 116;
      return at;
    default:
      out[at++] = 117; // u
      out[at++] = ZERO;
      out[at++] = ZERO;
      out[at++] = HEX.charCodeAt(c >> 4);
      out[at++] = HEX.charCodeAt(c & 15);
      return at;
  }
}

/** Bytes of the well-formed UTF-8 sequence at `p` (2–4; no overlongs, surrogates or > U+10FFFF), else 0. */
function utf8Length(text: Buffer, p: number, fe: number): number {
  const c = text[p]!;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f;
  } else return 0;
  if (p + n > fe) return 0;
  const c1 = text[p + 1]!;
  if (c1 < lo || c1 > hi) return 0;
  for (let q = 2; q < n; q++) {
    const cq = text[p + q]!;
    if (cq < 0x80 || cq > 0xbf) return 0;
  }
  return n;
}

/**
 * `YYYY-MM-DD HH:MM:SS[.f]` (then `+00` with `tz`): quoted, `T` for the space, the fraction without trailing
 * zeros (none if zero), `Z` with `tz`. Other forms (BC, infinity, years past 9999) take the slow path.
 */
function writeTimestamp(
  text: Buffer,
  pos: number,
  end: number,
  out: Buffer,
  at: number,
  tz: boolean,
): number {
  if (end - pos < (tz ? 22 : 19)) return -1;
  for (let q = 0; q < 19; q++) {
    const c = text[pos + q]!;
    const want = q === 4 || q === 7 ? MINUS : q === 10 ? SPACE : q === 13 || q === 16 ? COLON : -1;
    if (want < 0 ? !isDigit(c) : c !== want) return -1;
  }
  let p = pos + 19;
  let last = p;
  if (p < end && text[p] === DOT) {
    p++;
    while (p < end && isDigit(text[p]!)) p++;
    if (p === pos + 20) return -1;
    last = p;
    while (text[last - 1] === ZERO) last--;
    if (last === pos + 20) last = pos + 19;
  }
  if (tz) {
    if (p + 3 > end || text[p] !== PLUS || text[p + 1] !== ZERO || text[p + 2] !== ZERO) return -1;
    p += 3;
  }
  if (!endsAt(text, p, end)) return -1;
  out[at++] = QUOTE;
  for (let q = pos; q < last; q++) out[at++] = q === pos + 10 ? 84 /* T */ : text[q]!;
  if (tz) out[at++] = 90; // Z
  out[at++] = QUOTE;
  stop = p;
  return at;
}

/**
 * jsonb as PostgreSQL prints it: `, ` and `: ` between items, each object's keys unique, strings escaped
 * exactly as JSON.stringify escapes them, numbers as numeric prints them (never an exponent). The
 * canonical form (json-canonical.ts) needs the spaces dropped, object keys in code unit order (sorted here
 * when every key is plain ASCII without escapes, where byte order is that order) and numbers without
 * trailing fractional zeros. Anything else: -1, the slow path. The field's COPY escapes (only `\\` in
 * jsonb's output) are undone into a scratch buffer first.
 */
function writeJsonb(text: Buffer, pos: number, end: number, out: Buffer, at: number): number {
  let p = pos;
  let escaped = false;
  for (; p < end; p++) {
    const c = text[p]!;
    if (c === TAB) break;
    if (c === BACKSLASH) escaped = true;
  }
  // Read in place, unless a backslash has to be undone first.
  let json: JsonbWriter;
  if (!escaped) json = jsonb.reset(text, pos, p, out);
  else {
    if (scratch.length < p - pos) scratch = Buffer.alloc(Math.max(2 * (p - pos), 4096));
    const s = scratch;
    let n = 0;
    for (let q = pos; q < p; q++) {
      const c = text[q]!;
      if (c === BACKSLASH && text[++q] !== BACKSLASH) return -1;
      s[n++] = c;
    }
    json = jsonb.reset(s, 0, n, out);
  }
  const written = json.value(at, 0);
  if (written < 0 || json.skipSpaces() !== json.end) return -1;
  stop = p;
  return written;
}

let scratch = Buffer.alloc(4096);

const MAX_JSONB_DEPTH = 64;

function perDepth(): number[][] {
  return Array.from({ length: MAX_JSONB_DEPTH }, () => []);
}

/** One jsonb text (in `s` from `p` up to `n`) written canonically into `out`; `p` is the read position. */
class JsonbWriter {
  p = 0;
  private s: Buffer = scratch;
  private n = 0;
  private out: Buffer = scratch;
  /** Per depth, the members of the object being written there (reused: no arrays per object). */
  private readonly keysAt = perDepth();
  private readonly valuesAt = perDepth();
  private readonly orderAt = perDepth();

  /** The text `s[start, end)`, written into `out`. */
  reset(s: Buffer, start: number, end: number, out: Buffer): this {
    this.s = s;
    this.n = end;
    this.out = out;
    this.p = start;
    return this;
  }

  get end(): number {
    return this.n;
  }

  skipSpaces(): number {
    while (this.p < this.n && this.s[this.p] === SPACE) this.p++;
    return this.p;
  }

  /** Writes the value at `p` from `at`; returns where the output ends, or -1. */
  value(at: number, depth: number): number {
    const { s, out } = this;
    const c = this.byte(this.skipSpaces());
    if (c === QUOTE) return this.string(at);
    if (c === 123 /* { */) return depth < MAX_JSONB_DEPTH ? this.object(at, depth) : -1;
    if (c === 91 /* [ */) return depth < MAX_JSONB_DEPTH ? this.array(at, depth) : -1;
    if (c === MINUS || isDigit(c)) return this.number(at);
    const word = c === 116 ? 'true' : c === 102 ? 'false' : c === LOWER_N ? 'null' : null;
    if (word === null || this.p + word.length > this.n) return -1;
    for (let j = 0; j < word.length; j++) {
      if (s[this.p + j] !== word.charCodeAt(j)) return -1;
      out[at++] = word.charCodeAt(j);
    }
    this.p += word.length;
    return at;
  }

  /**
   * A string copied as it is, when it is in JSON.stringify's form as jsonb prints it: escapes only for `"`,
   * `\\`, `\b \f \n \r \t` and other controls as `\u00xx` (lowercase), no raw control characters.
   */
  private string(at: number): number {
    const { s, n, out } = this;
    out[at++] = QUOTE;
    for (let q = this.p + 1; q < n; q++) {
      const c = s[q]!;
      if (c === QUOTE) {
        out[at++] = QUOTE;
        this.p = q + 1;
        return at;
      }
      if (c < 0x20) return -1;
      out[at++] = c;
      if (c === BACKSLASH) {
        const e = this.byte(++q);
        if (e === 117 /* u */) {
          if (q + 4 >= n || s[q + 1] !== ZERO || s[q + 2] !== ZERO) return -1;
          const hi = s[q + 3]!;
          const lo = s[q + 4]!;
          if ((hi !== ZERO && hi !== 49) || !(isDigit(lo) || (lo >= 97 && lo <= 102))) return -1;
          const code = (hi - ZERO) * 16 + (isDigit(lo) ? lo - ZERO : lo - 87);
          if (code === 8 || code === 9 || code === 10 || code === 12 || code === 13) return -1;
          for (let r = q; r <= q + 4; r++) out[at++] = s[r]!;
          q += 4;
        } else if (
          e === QUOTE ||
          e === BACKSLASH ||
          e === 98 ||
          e === 102 ||
          e === LOWER_N ||
          e === 114 ||
          e === 116
        ) {
          out[at++] = e;
        } else return -1;
      }
    }
    return -1;
  }

  /** Past the closing quote of the string whose opening quote is at `q`; -1 if it does not end. */
  private stringEnd(q: number): number {
    const { s, n } = this;
    for (q++; q < n; q++) {
      const c = s[q];
      if (c === QUOTE) return q + 1;
      if (c === BACKSLASH) q++;
    }
    return -1;
  }

  /** numeric's output `-?digits[.digits]`: trailing fractional zeros dropped (the padding limits of json-canonical). */
  private number(at: number): number {
    const { s, n, out } = this;
    const start = this.p;
    let q = start;
    const negative = s[q] === MINUS;
    if (negative) q++;
    const intStart = q;
    while (q < n && isDigit(s[q]!)) q++;
    const intEnd = q;
    if (intEnd === intStart || intEnd - intStart > 51 || (s[intStart] === ZERO && intEnd - intStart > 1))
      return -1;
    let last = intEnd;
    if (s[q] === DOT) {
      q++;
      const fracStart = q;
      while (q < n && isDigit(s[q]!)) q++;
      if (q === fracStart || q - fracStart > 50) return -1;
      last = q;
      while (s[last - 1] === ZERO) last--;
      if (last === fracStart) last = intEnd;
    }
    const c = this.byte(q);
    if (c === 101 || c === 69 || c === DOT) return -1; // an exponent: not numeric's output
    const zero = intEnd - intStart === 1 && s[intStart] === ZERO && last === intEnd;
    for (let r = negative && zero ? intStart : start; r < last; r++) out[at++] = s[r]!;
    this.p = q;
    return at;
  }

  private array(at: number, depth: number): number {
    const { out } = this;
    this.p++;
    out[at++] = 91;
    if (this.byte(this.skipSpaces()) === 93) {
      this.p++;
      out[at++] = 93;
      return at;
    }
    for (;;) {
      at = this.value(at, depth + 1);
      if (at < 0) return -1;
      const c = this.byte(this.skipSpaces());
      this.p++;
      if (c === 93) {
        out[at++] = 93;
        return at;
      }
      if (c !== 44) return -1;
      out[at++] = 44;
    }
  }

  /** Members are found first (key and value spans), then written in key order. */
  private object(at: number, depth: number): number {
    const { s, out } = this;
    this.p++;
    out[at++] = 123;
    if (this.byte(this.skipSpaces()) === 125) {
      this.p++;
      out[at++] = 125;
      return at;
    }
    const keys = this.keysAt[depth]!; // start, end (past the closing quote) of each key
    const values = this.valuesAt[depth]!; // start of each value
    let count = 0; // entries are overwritten, never removed: the arrays keep their size from object to object
    for (;;) {
      const k = this.skipSpaces();
      if (this.byte(k) !== QUOTE) return -1;
      const kEnd = this.stringEnd(k);
      if (kEnd < 0) return -1;
      for (let q = k + 1; q < kEnd - 1; q++) {
        const b = s[q]!;
        if (b >= 0x80 || b < 0x20 || b === BACKSLASH) return -1;
      }
      this.p = kEnd;
      if (this.byte(this.skipSpaces()) !== COLON) return -1;
      this.p++;
      keys[2 * count] = k;
      keys[2 * count + 1] = kEnd;
      values[count++] = this.skipSpaces();
      if (!this.skipValue()) return -1;
      const c = this.byte(this.skipSpaces());
      this.p++;
      if (c === 125) break;
      if (c !== 44) return -1;
    }
    const after = this.p;
    const order = this.orderAt[depth]!;
    if (!sortKeys(s, keys, count, order)) return -1;
    for (let j = 0; j < count; j++) {
      const i = order[j]!;
      if (j > 0) out[at++] = 44;
      for (let q = keys[2 * i]!; q < keys[2 * i + 1]!; q++) out[at++] = s[q]!;
      out[at++] = COLON;
      this.p = values[i]!;
      at = this.value(at, depth + 1);
      if (at < 0) return -1;
    }
    this.p = after;
    out[at++] = 125;
    return at;
  }

  /** Moves `p` past the value at `p` (strings and brackets matched); false if it does not end. */
  private skipValue(): boolean {
    let q = this.p;
    const first = this.byte(q);
    if (first === QUOTE) {
      this.p = this.stringEnd(q);
      return this.p >= 0;
    }
    if (first === 123 || first === 91) {
      let open = 0;
      for (; q < this.n; q++) {
        const c = this.s[q];
        if (c === QUOTE) {
          q = this.stringEnd(q) - 1;
          if (q < 0) return false;
        } else if (c === 123 || c === 91) open++;
        else if ((c === 125 || c === 93) && --open === 0) {
          this.p = q + 1;
          return true;
        }
      }
      return false;
    }
    for (; q < this.n; q++) {
      const c = this.s[q];
      if (c === 44 || c === 125 || c === 93 || c === SPACE) break;
    }
    if (q === this.p) return false;
    this.p = q;
    return true;
  }

  /** The byte at `q`, or -1 past the end (the scratch buffer holds older bytes there). */
  private byte(q: number): number {
    return q < this.n ? this.s[q]! : -1;
  }
}

/**
 * `order[0, count)`: the indexes of the first `count` members in byte order of their keys (plain ASCII);
 * false when two keys are equal.
 */
function sortKeys(s: Buffer, keys: number[], count: number, order: number[]): boolean {
  for (let i = 0; i < count; i++) {
    let j = i;
    while (j > 0) {
      const cmp = compareKeys(s, keys, order[j - 1]!, i);
      if (cmp === 0) return false;
      if (cmp < 0) break;
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = i;
  }
  return true;
}

function compareKeys(s: Buffer, keys: number[], a: number, b: number): number {
  // The bytes between the quotes; a key that is a prefix of another sorts first.
  let i = keys[2 * a]! + 1;
  const aEnd = keys[2 * a + 1]! - 1;
  let j = keys[2 * b]! + 1;
  const bEnd = keys[2 * b + 1]! - 1;
  for (; i < aEnd && j < bEnd; i++, j++) {
    const d = s[i]! - s[j]!;
    if (d !== 0) return d;
  }
  return aEnd - i - (bEnd - j);
}

const jsonb = new JsonbWriter();
