/**
 * MySQL text-protocol rows (mysql/wire.ts) -> PostgreSQL COPY text, byte by byte: a MySQL batch goes to a
 * PostgreSQL target without a JS value per field. The text is what decoding, converting (convert.ts) and
 * encoding (postgres/codec.ts copyEncoderFor) the rows would give, in PostgreSQL's output form, so the
 * writer sends it, the check compares it with what the target prints, and the cache packs from it.
 *
 * Each column takes one field path, chosen from the two column types:
 * - a fast path for the common pairs (integers, TINYINT(1) to boolean, decimals that fit, UTF-8 text,
 *   DATETIME/TIMESTAMP/DATE in their plain form), which copies or escapes the bytes and checks what the
 *   converter would check; a value off the path (a zero date, a long or odd integer, a NUL, a string that
 *   is too long, …) is not written by it;
 * - else the value path: the field decoded, converted and encoded as the row path would (JSON, floats,
 *   bytes, times, …). A conversion error is not raised there.
 * A row with a value neither path wrote goes whole through `slow` (decode, the table's converters, which
 * raise the error or reject the row, then encode): every error, reject and count is the row path's own.
 * DATE, DATETIME and TIMESTAMP columns without a fast path make the table not transcodable (their
 * converters count the zero dates they write as NULL, which must happen once per value).
 */
import { type Converter, intRange, pgCharacterLength, ValueError } from '../../convert/convert.js';
import type { Column, Row } from '../../convert/value.js';
import { type Batch, rowsBatch, type WireRows } from '../batch.js';
import type { Dialect } from '../dialect.js';
import { decoderFor, rowDecoder as mysqlRowDecoder } from '../mysql/codec.js';
import { fieldLength, headerBytes, wireFields } from '../mysql/wire.js';
import { type CopyEncoder, copyEncoderFor } from '../postgres/codec.js';
import { JsonbCopyWriter, utf8SequenceLength } from '../postgres/jsonb-copy-writer.js';
import { CopyBatch, rowDecoder as pgRowDecoder, typeSignature } from '../postgres/read.js';

/** Writes a field's bytes `data[start, end)` (not NULL) at `out`; false: not written (see above). */
type FieldPath = (data: Buffer, start: number, end: number, out: Out) => boolean;

/** A growing output buffer. */
class Out {
  buf: Buffer;
  at = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n + 1024));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }
  copy(data: Buffer, start: number, end: number): void {
    this.ensure(end - start);
    if (end - start > 32) this.at += data.copy(this.buf, this.at, start, end);
    else {
      const buf = this.buf;
      let at = this.at;
      for (let i = start; i < end; i++) buf[at++] = data[i]!;
      this.at = at;
    }
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.at++] = b;
  }
  string(s: string): void {
    this.ensure(s.length * 3);
    this.at += this.buf.write(s, this.at, 'utf8');
  }
}

export interface Transcoder {
  /**
   * A batch's rows as COPY text of the target columns. `slow`: a row decoded, converted by the table's
   * converters (null: rejected, already counted by the caller).
   */
  transcode(wire: WireRows, slow: (row: Row) => Row | null): Batch;
}

/** The transcoder of a table's batches from `source` to `target`, when there is one. */
export function transcoderFor(
  source: Dialect,
  target: Dialect,
  m: { sourceColumns: Column[]; targetColumns: Column[]; converters: Converter[] },
): Transcoder | null {
  if (source.name !== 'mysql' || target.name !== 'postgres') return null;
  return mysqlToPostgres(m.sourceColumns, m.targetColumns, m.converters);
}

/** The transcoder for these columns and converters, or null when a date column has no fast path. */
export function mysqlToPostgres(
  source: readonly Column[],
  target: readonly Column[],
  converters: readonly Converter[],
): Transcoder | null {
  const paths: FieldPath[] = [];
  for (let i = 0; i < source.length; i++) {
    const [from, to] = [source[i]!, target[i]!];
    const value = valuePath(from, to, converters[i]!);
    const path = fastPath(from, to, value) ?? value;
    if (!path) return null;
    paths.push(path);
  }
  const width = source.length;
  const encoders: CopyEncoder[] = target.map(copyEncoderFor);
  const decodeSource = mysqlRowDecoder(source) as (raw: (Buffer | null)[]) => Row;
  const types = typeSignature(target);
  const decodeTarget = pgRowDecoder([...target]);
  return {
    transcode(wire, slow) {
      const { data, starts, count } = wire;
      const out = new Out(data.length + (data.length >> 2) + count * 16 + 1024);
      for (let r = 0; r < count; r++) {
        const lineStart = out.at;
        let at = starts[r]!;
        let f = 0;
        for (; f < width; f++) {
          if (f > 0) out.byte(9);
          const tag = data[at]!;
          if (tag === 0xfb) {
            at++;
            out.ensure(2);
            out.buf[out.at++] = 92;
            out.buf[out.at++] = 78;
            continue;
          }
          const start = at + headerBytes(tag);
          at = start + (tag < 0xfb ? tag : fieldLength(data, at));
          if (!paths[f]!(data, start, at, out)) break;
        }
        if (f === width) {
          out.byte(10);
          continue;
        }
        out.at = lineStart;
        const row = slow(decodeSource(wireFields(wire, r, width)));
        if (row === null) continue;
        for (let c = 0; c < width; c++) {
          if (c > 0) out.byte(9);
          out.string(encoders[c]!(row[c] ?? null));
        }
        out.byte(10);
      }
      if (out.at === 0) return rowsBatch([]);
      // Not copied to its size: the text lives only until its batch is written and checked.
      return new CopyBatch(out.buf.subarray(0, out.at), types, width, decodeTarget);
    },
  };
}

/** The value path: decode, convert, encode; a conversion error leaves the field to the row path. */
function valuePath(from: Column, to: Column, convert: Converter): FieldPath | null {
  if (from.kind === 'date' || from.kind === 'timestamp' || from.kind === 'timestamptz') return null;
  const decode = decoderFor(from);
  const encode = copyEncoderFor(to);
  return (data, start, end, out) => {
    let value: ReturnType<Converter>;
    try {
      value = convert(decode(data.subarray(start, end)));
    } catch (error) {
      if (error instanceof ValueError) return false;
      throw error;
    }
    out.string(encode(value));
    return true;
  };
}

/** The fast path of a column pair, if it has one; `value`: its value path, which jsonb falls back on. */
function fastPath(from: Column, to: Column, value: FieldPath | null): FieldPath | null {
  const fromType = from.dbType.toLowerCase();
  if (from.kind === 'json' && isJsonb(to) && value) return jsonbPath(value);
  if (from.kind === 'int' && !/^(year|bit)/.test(fromType)) {
    if (to.kind === 'int') return intPath(from, to);
    if (to.kind === 'bool') return boolPath;
  }
  if (from.kind === 'decimal' && to.kind === 'decimal' && decimalFits(fromType, to.dbType.toLowerCase())) {
    return decimalPath;
  }
  if ((from.kind === 'text' || from.kind === 'json') && to.kind === 'text') return textPath(to);
  const timestamps = ['timestamp', 'timestamptz'];
  if (timestamps.includes(from.kind) && timestamps.includes(to.kind) && keepsMicros(to)) {
    return timestampPath(to.kind === 'timestamptz');
  }
  if (from.kind === 'date' && to.kind === 'date') return datePath;
  return null;
}

const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;

/**
 * Integers as printed: any length when every value of the source type fits the target's; else up to 15
 * characters, checked against the target's range (longer ones go the row path).
 */
function intPath(from: Column, to: Column): FieldPath | null {
  const range = intRange(to.dbType);
  if (!range) return null;
  const own = intRange(from.dbType);
  const fits = own !== null && own.min >= range.min && own.max <= range.max && !own.orZero;
  const min = Number(range.min);
  const max = Number(range.max);
  return (data, start, end, out) => {
    const length = end - start;
    if (length === 0 || (length > 15 && !fits)) return false;
    let i = start;
    const negative = data[i] === MINUS;
    if (negative) i++;
    if (i === end) return false;
    let n = 0;
    for (; i < end; i++) {
      const d = data[i]! - ZERO;
      if (d < 0 || d > 9) return false;
      n = n * 10 + d;
    }
    const value = negative ? -n : n;
    if (!fits && (value < min || value > max)) return false;
    out.copy(data, start, end);
    return true;
  };
}

/** TINYINT(1) 0 and 1 as f and t; any other value goes the row path (non-zero is true there). */
const boolPath: FieldPath = (data, start, end, out) => {
  if (end - start !== 1) return false;
  const c = data[start];
  if (c !== ZERO && c !== ZERO + 1) return false;
  out.byte(c === ZERO ? 102 : 116);
  return true;
};

const DECIMAL_TYPE = /^(?:numeric|decimal|dec|fixed)\s*\((\d+)(?:\s*,\s*(\d+))?\)/;

/** Every value of the source DECIMAL fits the target's precision and scale (or it has none). */
function decimalFits(fromType: string, toType: string): boolean {
  const from = DECIMAL_TYPE.exec(fromType);
  if (!from) return false;
  if (toType.trim() === 'numeric') return true;
  const to = DECIMAL_TYPE.exec(toType.trim());
  if (!to) return false;
  const [p, s] = [Number(from[1]), Number(from[2] ?? 0)];
  const [p2, s2] = [Number(to[1]), Number(to[2] ?? 0)];
  return s2 >= s && p2 - s2 >= p - s;
}

/** A decimal as MySQL prints it. */
const decimalPath: FieldPath = (data, start, end, out) => {
  for (let i = start; i < end; i++) {
    const c = data[i]!;
    if ((c < ZERO || c > NINE) && c !== DOT && c !== MINUS) return false;
  }
  out.copy(data, start, end);
  return true;
};

/** COPY's escape letter for a byte, 0 for none: the backslash and the six controls COPY … TO escapes. */
const COPY_ESCAPE = new Uint8Array(256);
COPY_ESCAPE[8] = 98; // \b
COPY_ESCAPE[9] = 116; // \t
COPY_ESCAPE[10] = 110; // \n
COPY_ESCAPE[11] = 118; // \v
COPY_ESCAPE[12] = 102; // \f
COPY_ESCAPE[13] = 114; // \r
COPY_ESCAPE[92] = 92; // \\

const LENGTH_TYPE = /^(?:varchar|char|character varying|character|nvarchar|nchar)\s*\((\d+)\)/i;

/**
 * UTF-8 text, escaped for COPY. Goes the row path on a NUL (an error for PostgreSQL), on bytes that are not
 * UTF-8 (decoding would replace them), and on more characters than a varchar(n) or char(n) holds.
 */
function textPath(to: Column): FieldPath | null {
  const type = to.dbType.trim();
  // A character(n) target pads the value (convert.ts): the value path does that.
  if (/^(enum|set)\b/i.test(type) || pgCharacterLength(type) !== null) return null;
  const length = LENGTH_TYPE.exec(type);
  const max = length ? Number(length[1]) : -1;
  return (data, start, end, out) => {
    out.ensure(2 * (end - start));
    const buf = out.buf;
    let at = out.at;
    let chars = 0;
    for (let i = start; i < end; ) {
      const c = data[i]!;
      if (c < 0x80) {
        if (c === 0) return false;
        const e = COPY_ESCAPE[c]!;
        if (e) {
          buf[at++] = 92;
          buf[at++] = e;
        } else buf[at++] = c;
        i++;
        chars++;
        continue;
      }
      const n = utf8SequenceLength(data, i, end);
      if (n === 0) return false;
      for (let k = 0; k < n; k++) buf[at++] = data[i + k]!;
      i += n;
      chars++;
    }
    if (max >= 0 && chars > max) return false;
    out.at = at;
    return true;
  };
}

function isJsonb(to: Column): boolean {
  return to.kind === 'json' && to.dbType.trim().toLowerCase() === 'jsonb';
}

/** JSON into jsonb: its bytes rewritten in jsonb's output form (JsonbCopyWriter), else the value path. */
function jsonbPath(value: FieldPath): FieldPath {
  const writer = new JsonbCopyWriter();
  return (data, start, end, out) => writer.write(data, start, end, out) || value(data, start, end, out);
}

/** The target keeps microseconds (no fraction check to make). */
function keepsMicros(to: Column): boolean {
  const m = /\((\d)\)/.exec(to.dbType);
  return !m || Number(m[1]) >= 6;
}

/** Where the digits of `YYYY-MM-DD` are, and those of `HH:MM:SS` after it. */
const DATE_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9];
const TIME_DIGITS = [11, 12, 14, 15, 17, 18];

function isDigitAt(data: Buffer, i: number): boolean {
  const c = data[i]!;
  return c >= ZERO && c <= NINE;
}

/** `data` holds YYYY-MM-DD at `i` with no zero year, month or day (zero dates go the row path). */
function plainDate(data: Buffer, i: number): boolean {
  for (const k of DATE_DIGITS) if (!isDigitAt(data, i + k)) return false;
  if (data[i + 4] !== MINUS || data[i + 7] !== MINUS) return false;
  const zeroYear = data[i] === ZERO && data[i + 1] === ZERO && data[i + 2] === ZERO && data[i + 3] === ZERO;
  const zeroMonth = data[i + 5] === ZERO && data[i + 6] === ZERO;
  const zeroDay = data[i + 8] === ZERO && data[i + 9] === ZERO;
  return !zeroYear && !zeroMonth && !zeroDay;
}

/** DATE as printed. */
const datePath: FieldPath = (data, start, end, out) => {
  if (end - start !== 10 || !plainDate(data, start)) return false;
  out.copy(data, start, end);
  return true;
};

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` as PostgreSQL prints it: the fraction's trailing zeros dropped. */
function timestampPath(zone: boolean): FieldPath {
  return (data, start, end, out) => {
    const length = end - start;
    if (length < 19 || length === 20 || length > 26 || !plainDate(data, start)) return false;
    if (data[start + 10] !== 32 || data[start + 13] !== 58 || data[start + 16] !== 58) return false;
    for (const k of TIME_DIGITS) if (!isDigitAt(data, start + k)) return false;
    let last = start + 19;
    if (length > 19) {
      if (data[start + 19] !== DOT) return false;
      for (let i = start + 20; i < end; i++) {
        const c = data[i]!;
        if (c < ZERO || c > NINE) return false;
        if (c !== ZERO) last = i + 1;
      }
    }
    out.copy(data, start, last);
    if (zone) {
      out.ensure(3);
      out.buf[out.at++] = 43;
      out.buf[out.at++] = ZERO;
      out.buf[out.at++] = ZERO;
    }
    return true;
  };
}
