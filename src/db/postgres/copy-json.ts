/**
 * A row's canonical JSON (convert/row-json.ts) written straight from its line of COPY text into a buffer,
 * byte by byte: no string per field, no row array, no JSON text to encode again. It is what packing a batch
 * of cache values costs when the batch is not otherwise decoded (PostgreSQL to PostgreSQL, same types).
 *
 * This file walks the lines and fields and picks each field's writer; the fast paths, one per kind, are in
 * copy-json-fields.ts. Any field they do not take (json, float, bytes, time, and any value not in the exact
 * form PostgreSQL prints: BC dates, infinity, NaN, an unusual escape, invalid UTF-8, a jsonb object with
 * other keys) is decoded as the row decoder would and encoded by row-json's own encoder, so the output is
 * always exactly `rowJsonEncoder(columns)(decoded row)`.
 */
import { CanonicalValueError } from '../../convert/canonical.js';
import { jsonValueEncoder } from '../../convert/row-json.js';
import type { Column, ColumnKind, Row, Value } from '../../convert/value.js';
import type { CopyJson } from '../batch.js';
import { decoderFor } from './codec.js';
import {
  stop,
  stopAt,
  writeBool,
  writeDecimal,
  writeInt,
  writeJsonb,
  writeText,
  writeTimestamp,
} from './copy-json-fields.js';
import { copyLineError, unescapeField } from './copy-text.js';

// Byte values are local to each writer file: imported ones are not folded into the hot loops.
const TAB = 9;
const NEWLINE = 10;
const BACKSLASH = 92;
const LOWER_N = 110;
const UPPER_N = 78;

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
        stopAt(pos + 2);
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
        next = this.writeDecoded(i, text, pos, stopAt(fieldEnd(text, pos, end)), out, at);
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
