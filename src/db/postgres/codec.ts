/**
 * PostgreSQL text forms <-> the engine's values (convert/value.ts). The session runs in UTC with ISO dates
 * (connect.ts), so timestamptz text is always `+00` and only needs its suffix dropped.
 */
import { isPgSingleFloat } from '../../convert/convert.js';
import type { Column, ColumnKind, Row, Value } from '../../convert/value.js';
import { jsonbText } from './jsonb-form.js';

const KIND_BY_TYPE: Record<string, ColumnKind> = {
  int2: 'int',
  int4: 'int',
  int8: 'int',
  oid: 'int',
  numeric: 'decimal',
  float4: 'float',
  float8: 'float',
  bool: 'bool',
  text: 'text',
  varchar: 'text',
  bpchar: 'text',
  char: 'text',
  name: 'text',
  citext: 'text',
  bytea: 'bytes',
  date: 'date',
  time: 'time',
  timestamp: 'timestamp',
  timestamptz: 'timestamptz',
  json: 'json',
  jsonb: 'json',
  uuid: 'uuid',
};

/** `typname` of pg_type (e.g. `int8`, `_int4` for arrays) -> kind. */
export function kindOfPgType(typname: string): ColumnKind {
  return KIND_BY_TYPE[typname] ?? 'other';
}

export type Decoder = (text: string | null) => Value;

/** Text kinds arrive in their final form. */
export const identity: Decoder = (t) => t;
const decodeBool: Decoder = (t) => (t === null ? null : t === 't');
const decodeBytes: Decoder = (t) => (t === null ? null : Buffer.from(t.slice(2), 'hex'));
const decodeFloat: Decoder = (t) => {
  if (t === null) return null;
  return t === 'NaN' || t === 'Infinity' || t === '-Infinity' ? t : Number(t);
};
/**
 * A `real` prints the shortest decimal that reads back as its float32, not as a double: the value is that
 * float32 (`4.121045e+07` is 41210448), so a real compares with a MySQL FLOAT or another real by value.
 */
const decodeFloat4: Decoder = (t) => {
  const v = decodeFloat(t);
  return typeof v === 'number' ? Math.fround(v) : v;
};

const ZONE_SUFFIX = /\+00(?=( BC)?$)/;
const decodeTimestamptz: Decoder = (t) => (t === null ? null : t.replace(ZONE_SUFFIX, ''));

export function decoderFor(column: Column): Decoder {
  switch (column.kind) {
    case 'bool':
      return decodeBool;
    case 'bytes':
      return decodeBytes;
    case 'float':
      return isPgSingleFloat(column.dbType) ? decodeFloat4 : decodeFloat;
    case 'timestamptz':
      return decodeTimestamptz;
    default:
      return identity;
  }
}

/**
 * Value -> one field of COPY's text format (tab-separated, `\N` for NULL, backslash escapes), written the
 * way PostgreSQL's COPY … TO prints it wherever the value allows (see copyEncoderFor).
 */
export type CopyEncoder = (value: Value) => string;

// COPY … TO escapes the backslash and these six controls (and no other character).
const COPY_SPECIAL = /[\\\n\r\t\b\f\v]/;
const COPY_SPECIAL_ALL = /[\\\n\r\t\b\f\v]/g;
const COPY_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
  '\v': '\\v',
};

function copyText(value: string): string {
  return COPY_SPECIAL.test(value) ? value.replace(COPY_SPECIAL_ALL, (c) => COPY_ESCAPES[c]!) : value;
}

function copyEncode(value: Value): string {
  if (value === null) return '\\N';
  if (typeof value === 'string') return copyText(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return String(value);
  return `\\\\x${value.toString('hex')}`;
}

/** Value -> a query parameter (node-postgres sends Buffers as bytea, the rest as text). */
export function paramOf(value: Value): string | Buffer | null {
  if (value === null || typeof value === 'string' || Buffer.isBuffer(value)) return value;
  return typeof value === 'boolean' ? (value ? 't' : 'f') : String(value);
}

/** Kinds whose text forms never contain a tab, newline or backslash: written to COPY as they are. */
const PLAIN_KINDS: ReadonlySet<ColumnKind> = new Set(['int', 'decimal', 'date', 'time', 'uuid']);

const plainCopy: CopyEncoder = (v) => (v === null ? '\\N' : typeof v === 'string' ? v : copyEncode(v));

const TIMESTAMP = /^(\d{4,}-\d\d-\d\d \d\d:\d\d:\d\d)(?:(\.\d*?)0*)?( BC)?$/;

/** A timestamp as PostgreSQL prints it: no trailing zeros in the fraction; `zone`: the UTC offset. */
function timestampEncoder(zone: string): CopyEncoder {
  return (v) => {
    if (typeof v !== 'string') return plainCopy(v);
    const m = TIMESTAMP.exec(v);
    if (!m) return v;
    const fraction = m[2] === undefined || m[2] === '.' ? '' : m[2];
    return `${m[1]}${fraction}${zone}${m[3] ?? ''}`;
  };
}
const timestampCopy = timestampEncoder('');
const timestamptzCopy = timestampEncoder('+00');

const jsonbCopy: CopyEncoder = (v) => (typeof v === 'string' ? copyText(jsonbText(v)) : copyEncode(v));

/**
 * The COPY encoder for a column: PostgreSQL's own output form where the value allows (timestamps without
 * trailing zeros and with the session's `+00`, jsonb in its key order and spacing, every escape COPY … TO
 * writes), so a target that stored the value exactly prints the text that was sent; the per-value escaping
 * checks only where a kind can need them.
 */
export function copyEncoderFor(column: Pick<Column, 'kind' | 'dbType'>): CopyEncoder {
  const { kind } = column;
  if (kind === 'timestamp') return timestampCopy;
  if (kind === 'timestamptz') return timestamptzCopy;
  if (kind === 'json' && column.dbType.toLowerCase() === 'jsonb') return jsonbCopy;
  return PLAIN_KINDS.has(kind) ? plainCopy : copyEncode;
}

/** Rows as COPY text, encoded in chunks of 256 rows (a few large strings, not one per row). */
export function encodeCopyText(rows: readonly Row[], encoders: CopyEncoder[]): Buffer {
  const chunks: Buffer[] = [];
  let out = '';
  let n = 0;
  const last = encoders.length - 1;
  for (const row of rows) {
    for (let i = 0; i < last; i++) out += `${encoders[i]!(row[i] ?? null)}\t`;
    out += `${encoders[last]!(row[last] ?? null)}\n`;
    if (++n === 256) {
      chunks.push(Buffer.from(out, 'utf8'));
      out = '';
      n = 0;
    }
  }
  if (out) chunks.push(Buffer.from(out, 'utf8'));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
