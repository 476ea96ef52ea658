/**
 * MySQL/MariaDB column types <-> the engine's values (convert/value.ts).
 *
 * Reads use the text protocol with mysql2's `typeCast: false`: every field arrives as the raw bytes the server
 * printed (exact for BIGINT UNSIGNED, DECIMAL, dates; zero dates too), and is decoded here per column. The
 * session runs with `time_zone = '+00:00'` (connect.ts), so TIMESTAMP text is UTC.
 *
 * | MySQL type                                   | kind        | notes                                          |
 * |----------------------------------------------|-------------|------------------------------------------------|
 * | TINYINT … BIGINT [UNSIGNED], YEAR            | int         | digits; YEAR `0000` → `0`                      |
 * | TINYINT(1) / BOOLEAN                         | int         | NOT bool: it can hold -128..127; converters    |
 * |                                              |             | turn it into a boolean (non-zero = true) for a |
 * |                                              |             | boolean target, and booleans into 1/0          |
 * | BIT(1)                                       | bool        | it can only hold 0/1                            |
 * | BIT(n > 1)                                   | int         | its unsigned value                              |
 * | DECIMAL / NUMERIC                            | decimal     | as printed, full precision                      |
 * | FLOAT                                        | float       | read as `CAST(col AS DOUBLE)`: the exact float  |
 * |                                              |             | widened to a double (its text is rounded)       |
 * | DOUBLE / REAL                                | float       | the server prints the shortest exact text       |
 * | CHAR, VARCHAR, *TEXT, ENUM, SET, INET4/6     | text        | UTF-8 (the session is utf8mb4)                  |
 * | JSON; MariaDB LONGTEXT CHECK (json_valid(c)) | json        | the JSON text as stored                         |
 * | BINARY, VARBINARY, *BLOB, spatial types      | bytes       | exact bytes (spatial: MySQL's internal format)  |
 * | DATE                                         | date        | zero dates kept as read: the converter decides  |
 * | TIME                                         | time        | -838:59:59 … 838:59:59                          |
 * | DATETIME                                     | timestamp   | wall clock                                      |
 * | TIMESTAMP                                    | timestamptz | UTC (session time zone)                         |
 * | UUID (MariaDB 10.7+)                         | uuid        |                                                 |
 */
import type { Column, ColumnKind, Value } from '../../convert/value.js';
import { bytesLiteral, quoteIdent, stringLiteral } from './sql.js';

const KIND_BY_TYPE: Record<string, ColumnKind> = {
  tinyint: 'int',
  smallint: 'int',
  mediumint: 'int',
  int: 'int',
  integer: 'int',
  bigint: 'int',
  year: 'int',
  decimal: 'decimal',
  numeric: 'decimal',
  float: 'float',
  double: 'float',
  real: 'float',
  'double precision': 'float',
  char: 'text',
  varchar: 'text',
  tinytext: 'text',
  text: 'text',
  mediumtext: 'text',
  longtext: 'text',
  enum: 'text',
  set: 'text',
  inet4: 'text',
  inet6: 'text',
  json: 'json',
  binary: 'bytes',
  varbinary: 'bytes',
  tinyblob: 'bytes',
  blob: 'bytes',
  mediumblob: 'bytes',
  longblob: 'bytes',
  geometry: 'bytes',
  point: 'bytes',
  linestring: 'bytes',
  polygon: 'bytes',
  multipoint: 'bytes',
  multilinestring: 'bytes',
  multipolygon: 'bytes',
  geometrycollection: 'bytes',
  date: 'date',
  time: 'time',
  datetime: 'timestamp',
  timestamp: 'timestamptz',
  uuid: 'uuid',
};

/**
 * information_schema's DATA_TYPE and COLUMN_TYPE -> kind. `json`: the column carries MariaDB's
 * `CHECK (json_valid(col))`, which is what MariaDB's JSON type is (an alias of LONGTEXT).
 */
export function kindOfMysqlType(dataType: string, columnType: string, json = false): ColumnKind {
  const type = dataType.toLowerCase();
  if (json && KIND_BY_TYPE[type] === 'text') return 'json';
  if (type === 'bit') return /^bit\(1\)/i.test(columnType) ? 'bool' : 'int';
  return KIND_BY_TYPE[type] ?? 'other';
}

/** A FLOAT (single precision) column, read through `CAST(… AS DOUBLE)`. */
function isSingleFloat(column: Column): boolean {
  return column.kind === 'float' && /^float\b/i.test(column.dbType);
}

/** What the SELECT list reads for a column: itself, or its exact double for FLOAT. */
export function selectExpr(column: Column, alias?: string): string {
  const ref = (alias ? `${alias}.` : '') + quoteIdent(column.name);
  return isSingleFloat(column) ? `CAST(${ref} AS DOUBLE) AS ${quoteIdent(column.name)}` : ref;
}

export type Decoder = (raw: Buffer | null) => Value;

const ascii: Decoder = (b) => (b === null ? null : b.toString('latin1'));
const utf8: Decoder = (b) => (b === null ? null : b.toString('utf8'));
// A copy: the driver's buffer is a view into a network chunk that would otherwise stay alive with it.
const bytes: Decoder = (b) => (b === null ? null : Buffer.from(b));
const float: Decoder = (b) => (b === null ? null : Number(b.toString('latin1')));
const bit1: Decoder = (b) => (b === null ? null : b.length > 0 && b[b.length - 1] !== 0);
const year: Decoder = (b) => {
  if (b === null) return null;
  const t = b.toString('latin1');
  return t === '0000' ? '0' : t;
};
const bitInt: Decoder = (b) => {
  if (b === null) return null;
  let n = 0n;
  for (const byte of b) n = (n << 8n) | BigInt(byte);
  return n.toString();
};

export function decoderFor(column: Column): Decoder {
  switch (column.kind) {
    case 'int':
      if (/^year/i.test(column.dbType)) return year;
      return /^bit/i.test(column.dbType) ? bitInt : ascii;
    case 'bool':
      return bit1;
    case 'float':
      return float;
    case 'text':
    case 'json':
    case 'other':
      return utf8;
    case 'bytes':
      return bytes;
    default:
      return ascii;
  }
}

/**
 * Decodes a row in place: the driver's array (one per row, never reused by it) becomes the row, so the
 * row loop allocates only the values.
 */
export function rowDecoder(columns: readonly Column[]): (raw: (Buffer | null)[]) => Value[] {
  const decoders = columns.map(decoderFor);
  const n = decoders.length;
  return (raw) => {
    const row = raw as Value[];
    for (let i = 0; i < n; i++) row[i] = decoders[i]!(raw[i] ?? null);
    return row;
  };
}

/** Value -> SQL literal for a column of the given kind. */
export type Encoder = (value: Value) => string;

const INT = /^-?\d+$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

function anyLiteral(v: Value): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return stringLiteral(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return stringLiteral(String(v)); // rejected by the server, never NaN in SQL
    return String(v);
  }
  return bytesLiteral(v);
}

// Integers go unquoted: a quoted string into a BIT column would be taken as its bytes.
const intLiteral: Encoder = (v) => (typeof v === 'string' && INT.test(v) ? v : anyLiteral(v));
// Decimals quoted: an unquoted literal of more than 65 digits would be parsed as a double.
const decimalLiteral: Encoder = (v) => (typeof v === 'string' && DECIMAL.test(v) ? `'${v}'` : anyLiteral(v));

export function encoderFor(column: Column): Encoder {
  switch (column.kind) {
    case 'int':
      return intLiteral;
    case 'decimal':
      return decimalLiteral;
    default:
      return anyLiteral;
  }
}

export function rowEncoder(columns: readonly Column[]): (row: Value[]) => string {
  const encoders = columns.map(encoderFor);
  const n = encoders.length;
  return (row) => {
    let out = '(';
    for (let i = 0; i < n; i++) out += (i ? ',' : '') + encoders[i]!(row[i] ?? null);
    return `${out})`;
  };
}
