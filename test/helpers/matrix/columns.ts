// The type matrix's source tables (test/e2e/type-matrix.test.ts): one wide table per source database with one
// column per source type of src/db/type-map.ts, each with its edge values, a seeded random generator, the
// comparison class the test compares it by, and the type a user would pick for a hand-made target table.
//
// Rows: id 1 is all NULL; ids 2.. take each column's edge values in turn, then seeded random values (about
// one in ten NULL). Ids from SPECIAL_ID hold values only the same database can hold (NaN, infinities, BC
// dates, MySQL TIME beyond a day): only same-database pairings copy them (`where: id < SPECIAL_ID`).
import { randomKey } from '../random.js';
import type { Cls } from './normalize.js';

export type Dialect = 'postgres' | 'mysql' | 'sqlite';
export type Rand = () => number;

export interface ColumnSpec {
  name: string;
  /** The source column's declared type. */
  type: string;
  cls: Cls;
  /** The type of the hand-made target column, per target database. */
  hand: Partial<Record<Dialect, string>>;
  edges: unknown[];
  /** Values only the source's own database can hold (same-database pairings only). */
  special?: unknown[];
  random: (rand: Rand) => unknown;
}

export interface SourceSpec {
  dialect: Dialect;
  /** SQL run before the table is created (e.g. a PostgreSQL enum type). */
  setup?: string;
  columns: ColumnSpec[];
}

export const SPECIAL_ID = 1_000_000;
const RANDOM_ROWS = 150;

// ---------------------------------------------------------------------------- value generators

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
/** Every control character but NUL (PostgreSQL text cannot hold it), quotes and a backslash. */
const CONTROLS = `${Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('')}\x7f'"\\`;
const UNICODE = 'e\u0301 😀 ÅΩ 𝄞 \u200d\ufeff 中文';
const LONG = `${'long '.repeat(600)}😀`;
const MAX65 = '99999999999999999999999999999999999.999999999999999999999999999999';
const JSON_EDGES = [
  '{}',
  '[]',
  '{"a": [1, 2.50, null], "b": "é😀\\n\\"", "big": 12345678901234567890123, "f": 1.5e300}',
  '"text"',
  'null',
  '0',
  '{"nested": {"z": true, "a": false}}',
];

const pick = <T>(rand: Rand, items: readonly T[]): T => items[rand() % items.length]!;

/** A uniformly drawn integer in [lo, hi] (bigint, from three 31-bit draws). */
function bigBetween(rand: Rand, lo: bigint, hi: bigint): bigint {
  const r = (BigInt(rand()) << 62n) | (BigInt(rand()) << 31n) | BigInt(rand());
  return lo + (r % (hi - lo + 1n));
}

const intText = (lo: bigint, hi: bigint) => (rand: Rand) => bigBetween(rand, lo, hi).toString();

/** A decimal with up to `p - s` integer and exactly `s` fraction digits, as text. */
function decimalText(p: number, s: number) {
  return (rand: Rand): string => {
    const digits = (n: number) => Array.from({ length: n }, () => String(rand() % 10)).join('');
    const int = digits(1 + (rand() % (p - s))).replace(/^0+(?=\d)/, '');
    const sign = rand() % 3 === 0 ? '-' : '';
    return s === 0 ? `${sign}${int}` : `${sign}${int}.${digits(s)}`;
  };
}

/** A double over many magnitudes; as a float32 when `f4`. */
function floatValue(f4: boolean) {
  return (rand: Rand): number => {
    const x = (rand() / 2 ** 31 - 0.5) * 10 ** ((rand() % 24) - 12);
    return f4 ? Math.fround(x) : x;
  };
}

const textOf = (max: number) => (rand: Rand) => randomKey(rand, max + 1);

function bytesValue(rand: Rand): Buffer {
  return Buffer.from(Array.from({ length: rand() % 40 }, () => rand() % 256));
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function dateText(rand: Rand, fromYear: number, toYear: number): string {
  const day = 86_400_000;
  const lo = Date.UTC(fromYear, 0, 1) / day;
  const hi = Date.UTC(toYear, 11, 31) / day;
  return new Date((lo + (rand() % (hi - lo + 1))) * day).toISOString().slice(0, 10);
}

function clockText(rand: Rand, digits: number): string {
  const frac = digits === 0 ? '' : `.${pad(rand() % 10 ** digits, digits)}`;
  return `${pad(rand() % 24)}:${pad(rand() % 60)}:${pad(rand() % 60)}${frac}`;
}

const timeValue = (digits: number) => (rand: Rand) => clockText(rand, digits);
const stampValue =
  (digits: number, from = 1000, to = 9999) =>
  (rand: Rand) =>
    `${dateText(rand, from, to)} ${clockText(rand, digits)}`;

function jsonValue(rand: Rand): string {
  return `{"n": ${bigBetween(rand, -(10n ** 20n), 10n ** 20n)}, "d": ${rand() % 1000}.${pad(rand() % 100)}, "s": ${JSON.stringify(
    randomKey(rand, 12),
  )}, "a": [${rand() % 7}, ${pick(rand, ['true', 'false', 'null', '"x"'])}]}`;
}

function uuidValue(rand: Rand): string {
  const hex = Array.from({ length: 32 }, () => (rand() % 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const CHAR_EDGES = ['ab', '', 'ab   ', '  lead', 'é😀ü', '0123456789', 'x y', '😀😀😀😀😀😀😀😀😀😀'];
const VARCHAR_EDGES = [
  '',
  'trail  ',
  ' ',
  'é😀 𝄞\u200d',
  '01234567890123456789',
  CONTROLS.slice(0, 20),
  'NULL',
];
const TEXT_EDGES = [CONTROLS, UNICODE, LONG, 'NULL', '', ' both ends '];

// ---------------------------------------------------------------------------- PostgreSQL

const PG_SOURCE: SourceSpec = {
  dialect: 'postgres',
  setup: "CREATE TYPE mood AS ENUM ('happy', 'sad', 'ok')",
  columns: [
    {
      name: 'i2',
      type: 'smallint',
      cls: 'int',
      hand: { postgres: 'integer', mysql: 'int' },
      edges: ['-32768', '32767', '0', '-1'],
      random: intText(-32768n, 32767n),
    },
    {
      name: 'i4',
      type: 'integer',
      cls: 'int',
      hand: { postgres: 'bigint', mysql: 'bigint' },
      edges: ['-2147483648', '2147483647', '0'],
      random: intText(-2147483648n, 2147483647n),
    },
    {
      name: 'i8',
      type: 'bigint',
      cls: 'int',
      hand: { postgres: 'numeric(20,0)', mysql: 'decimal(20,0)' },
      edges: ['-9223372036854775808', '9223372036854775807', '9007199254740993', '0'],
      random: intText(-(2n ** 63n), 2n ** 63n - 1n),
    },
    {
      name: 'n12',
      type: 'numeric(12,2)',
      cls: 'dec',
      hand: { postgres: 'numeric(14,4)', mysql: 'decimal(14,4)' },
      edges: ['-9999999999.99', '9999999999.99', '0.00', '-0.01', '0.5'],
      random: decimalText(12, 2),
    },
    {
      name: 'n38',
      type: 'numeric(38,10)',
      cls: 'dec',
      hand: { postgres: 'numeric(40,12)', mysql: 'decimal(40,12)' },
      edges: ['9999999999999999999999999999.9999999999', '-0.0000000001', '1'],
      random: decimalText(38, 10),
    },
    {
      name: 'nu',
      type: 'numeric',
      cls: 'dec',
      hand: { postgres: 'numeric', mysql: 'decimal(65,30)' },
      edges: [MAX65, '-0.000000000000000000000000000001', '0', '1e-5', '123.4500'],
      special: ['NaN'],
      random: decimalText(40, 12),
    },
    {
      name: 'f4',
      type: 'real',
      cls: 'f4',
      hand: { postgres: 'double precision', mysql: 'double' },
      edges: [
        '0',
        '-0',
        '3.4028235e38',
        '-3.4028235e38',
        '1.4e-45',
        '1.1754944e-38',
        '16777217',
        '0.1',
        '41210448',
        '4.121045e+07',
      ],
      special: ['NaN', 'Infinity', '-Infinity'],
      random: floatValue(true),
    },
    {
      name: 'f8',
      type: 'double precision',
      cls: 'f8',
      hand: { postgres: 'double precision', mysql: 'double' },
      edges: [
        '0',
        '-0',
        '1.7976931348623157e308',
        '-1.7976931348623157e308',
        '5e-324',
        '2.2250738585072014e-308',
        '0.1',
        '9007199254740993',
      ],
      special: ['NaN', 'Infinity', '-Infinity'],
      random: floatValue(false),
    },
    {
      name: 'bo',
      type: 'boolean',
      cls: 'bool',
      hand: { postgres: 'boolean', mysql: 'tinyint(1)' },
      edges: [true, false],
      random: (rand) => rand() % 2 === 0,
    },
    {
      name: 'c10',
      type: 'character(10)',
      cls: 'char',
      hand: { postgres: 'text', mysql: 'char(10)' },
      edges: CHAR_EDGES,
      random: textOf(10),
    },
    {
      name: 'vc',
      type: 'character varying(20)',
      cls: 'text',
      hand: { postgres: 'text', mysql: 'text' },
      edges: VARCHAR_EDGES,
      random: textOf(20),
    },
    {
      name: 'tx',
      type: 'text',
      cls: 'text',
      hand: { postgres: 'character varying(5000)', mysql: 'mediumtext' },
      edges: TEXT_EDGES,
      random: textOf(200),
    },
    {
      name: 'by',
      type: 'bytea',
      cls: 'bytes',
      hand: { postgres: 'bytea', mysql: 'mediumblob' },
      edges: [ALL_BYTES, Buffer.alloc(0), Buffer.from([0])],
      random: bytesValue,
    },
    {
      name: 'd',
      type: 'date',
      cls: 'date',
      hand: { postgres: 'date', mysql: 'date' },
      edges: ['1000-01-01', '9999-12-31', '2024-02-29', '1970-01-01'],
      special: ['infinity', '-infinity', '0044-03-15 BC'],
      random: (rand) => dateText(rand, 1000, 9999),
    },
    {
      name: 't3',
      type: 'time(3) without time zone',
      cls: 'time',
      hand: { postgres: 'time(6)', mysql: 'time(6)' },
      edges: ['00:00:00', '23:59:59.999', '24:00:00', '12:34:56.789'],
      random: timeValue(3),
    },
    {
      name: 'ts3',
      type: 'timestamp(3) without time zone',
      cls: 'ts',
      hand: { postgres: 'timestamp(6)', mysql: 'datetime(6)' },
      edges: ['1000-01-01 00:00:00', '9999-12-31 23:59:59.999', '2024-02-29 12:00:00.001'],
      random: stampValue(3),
    },
    {
      name: 'ts6',
      type: 'timestamp(6) without time zone',
      cls: 'ts',
      hand: { postgres: 'timestamp', mysql: 'datetime(6)' },
      edges: ['1000-01-01 00:00:00', '9999-12-31 23:59:59.999999', '2024-02-29 12:00:00.000001'],
      special: ['infinity', '-infinity', '4713-01-01 00:00:00 BC'],
      random: stampValue(6),
    },
    {
      name: 'tz',
      type: 'timestamp(6) with time zone',
      cls: 'tstz',
      // MySQL TIMESTAMP (1970-2038): the source values stay in its range.
      hand: { postgres: 'timestamptz(6)', mysql: 'timestamp(6) NULL' },
      edges: ['1970-01-01 00:00:01+00', '2038-01-19 03:14:07.999999+00', '2024-03-01 05:30:00.000001+05:30'],
      special: ['infinity', '-infinity'],
      random: stampValue(6, 1971, 2037),
    },
    {
      name: 'jb',
      type: 'jsonb',
      cls: 'json',
      hand: { postgres: 'text', mysql: 'longtext' },
      edges: JSON_EDGES,
      random: jsonValue,
    },
    {
      name: 'js',
      type: 'json',
      cls: 'json',
      hand: { postgres: 'jsonb', mysql: 'json' },
      edges: ['{"z": 1, "a": 2}', '[1, 2.50, 1e2]', ...JSON_EDGES],
      random: jsonValue,
    },
    {
      name: 'u',
      type: 'uuid',
      cls: 'uuid',
      hand: { postgres: 'text', mysql: 'varchar(36)' },
      edges: ['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
      random: uuidValue,
    },
    {
      name: 'iv',
      type: 'interval',
      cls: 'text',
      hand: { postgres: 'interval', mysql: 'text' },
      edges: ['1 day', '-1 years -2 mons +3 days 04:05:06.789', '00:00:00', '178000000 years'],
      random: (rand) => `${rand() % 400} days ${clockText(rand, 6)}`,
    },
    {
      name: 'ai',
      type: 'integer[]',
      cls: 'json',
      hand: { postgres: 'integer[]', mysql: 'json' },
      edges: ['{}', '{1,NULL,-2147483648}', '{{1,2},{3,4}}'],
      random: (rand) => `{${Array.from({ length: rand() % 5 }, () => rand() % 1000).join(',')}}`,
    },
    {
      name: 'at',
      type: 'text[]',
      cls: 'json',
      hand: { postgres: 'text[]', mysql: 'json' },
      edges: ['{"a b","q\\"uote",NULL,"é😀"}', '{""}'],
      random: (rand) =>
        `{${Array.from({ length: rand() % 4 }, () => JSON.stringify(randomKey(rand, 8).replace(/[\\"]/g, ''))).join(',')}}`,
    },
    {
      name: 'en',
      type: 'mood',
      cls: 'text',
      hand: { postgres: 'text', mysql: 'varchar(20)' },
      edges: ['happy', 'sad', 'ok'],
      random: (rand) => pick(rand, ['happy', 'sad', 'ok']),
    },
  ],
};

// ---------------------------------------------------------------------------- MySQL/MariaDB

const mysqlInt = (
  name: string,
  type: string,
  lo: bigint,
  hi: bigint,
  hand: Partial<Record<Dialect, string>>,
): ColumnSpec => ({
  name,
  type,
  cls: 'int',
  hand,
  edges: [lo.toString(), hi.toString(), '0'],
  random: intText(lo, hi),
});

const MYSQL_SOURCE: SourceSpec = {
  dialect: 'mysql',
  columns: [
    mysqlInt('ti', 'tinyint', -128n, 127n, { postgres: 'integer', mysql: 'smallint' }),
    mysqlInt('tu', 'tinyint unsigned', 0n, 255n, { postgres: 'smallint', mysql: 'smallint' }),
    mysqlInt('si', 'smallint', -32768n, 32767n, { postgres: 'integer', mysql: 'int' }),
    mysqlInt('mu', 'mediumint unsigned', 0n, 16777215n, { postgres: 'integer', mysql: 'int' }),
    mysqlInt('ii', 'int', -2147483648n, 2147483647n, { postgres: 'bigint', mysql: 'bigint' }),
    mysqlInt('iu', 'int unsigned', 0n, 4294967295n, { postgres: 'bigint', mysql: 'bigint' }),
    mysqlInt('bi', 'bigint', -(2n ** 63n), 2n ** 63n - 1n, {
      postgres: 'numeric(20,0)',
      mysql: 'decimal(20,0)',
    }),
    mysqlInt('bu', 'bigint unsigned', 0n, 2n ** 64n - 1n, {
      postgres: 'numeric(20,0)',
      mysql: 'decimal(20,0)',
    }),
    {
      name: 'b1',
      type: 'tinyint(1)',
      cls: 'bool',
      hand: { postgres: 'boolean', mysql: 'tinyint' },
      edges: [0, 1],
      random: (rand) => rand() % 2,
    },
    {
      name: 'bt',
      type: 'bit(1)',
      cls: 'bool',
      hand: { postgres: 'boolean', mysql: 'tinyint(1)' },
      edges: [Buffer.from([0]), Buffer.from([1])],
      random: (rand) => Buffer.from([rand() % 2]),
    },
    {
      name: 'yr',
      type: 'year',
      cls: 'int',
      hand: { postgres: 'integer', mysql: 'smallint' },
      edges: [1901, 2155],
      random: (rand) => 1901 + (rand() % 255),
    },
    {
      name: 'd12',
      type: 'decimal(12,2)',
      cls: 'dec',
      hand: { postgres: 'numeric(14,4)', mysql: 'decimal(14,4)' },
      edges: ['-9999999999.99', '9999999999.99', '0.00', '-0.01'],
      random: decimalText(12, 2),
    },
    {
      name: 'd65',
      type: 'decimal(65,30)',
      cls: 'dec',
      hand: { postgres: 'numeric', mysql: 'decimal(65,30)' },
      edges: [MAX65, `-${MAX65}`, '0.000000000000000000000000000001'],
      random: decimalText(65, 30),
    },
    {
      name: 'f',
      type: 'float',
      cls: 'f4',
      hand: { postgres: 'double precision', mysql: 'double' },
      edges: [
        0, -0, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, 16777217, 0.1, 41210448,
      ],
      random: floatValue(true),
    },
    {
      name: 'dbl',
      type: 'double',
      cls: 'f8',
      hand: { postgres: 'double precision', mysql: 'double' },
      edges: [
        0,
        1.7976931348623157e308,
        -1.7976931348623157e308,
        2.2250738585072014e-308,
        0.1,
        '9007199254740993',
      ],
      random: floatValue(false),
    },
    {
      name: 'c10',
      type: 'char(10)',
      cls: 'char',
      hand: { postgres: 'character(10)', mysql: 'varchar(10)' },
      edges: CHAR_EDGES,
      random: textOf(10),
    },
    {
      name: 'vc',
      type: 'varchar(20)',
      cls: 'text',
      hand: { postgres: 'text', mysql: 'text' },
      edges: VARCHAR_EDGES,
      random: textOf(20),
    },
    {
      name: 'tx',
      type: 'mediumtext',
      cls: 'text',
      hand: { postgres: 'character varying(5000)', mysql: 'longtext' },
      edges: TEXT_EDGES,
      random: textOf(200),
    },
    {
      name: 'en',
      type: "enum('small','medium','large')",
      cls: 'text',
      hand: { postgres: 'text', mysql: 'varchar(10)' },
      edges: ['small', 'large'],
      random: (rand) => pick(rand, ['small', 'medium', 'large']),
    },
    {
      name: 'st',
      type: "set('a','b','c')",
      cls: 'text',
      hand: { postgres: 'text', mysql: 'varchar(10)' },
      edges: ['', 'a,c', 'a,b,c'],
      random: (rand) => pick(rand, ['', 'a', 'b', 'a,b', 'b,c', 'a,b,c']),
    },
    {
      name: 'vb',
      type: 'varbinary(300)',
      cls: 'bytes',
      hand: { postgres: 'bytea', mysql: 'blob' },
      edges: [ALL_BYTES, Buffer.alloc(0), Buffer.from([0])],
      random: bytesValue,
    },
    {
      name: 'dt',
      type: 'date',
      cls: 'date',
      hand: { postgres: 'date', mysql: 'date' },
      edges: ['1000-01-01', '9999-12-31', '2024-02-29'],
      random: (rand) => dateText(rand, 1000, 9999),
    },
    {
      name: 'tm',
      type: 'time(6)',
      cls: 'time',
      hand: { postgres: 'time(6)', mysql: 'time(6)' },
      edges: ['00:00:00', '23:59:59.999999', '24:00:00'],
      special: ['-838:59:59', '838:59:59'],
      random: timeValue(6),
    },
    {
      name: 'dt3',
      type: 'datetime(3)',
      cls: 'ts',
      hand: { postgres: 'timestamp(6)', mysql: 'datetime(6)' },
      edges: ['1000-01-01 00:00:00', '9999-12-31 23:59:59.999'],
      random: stampValue(3),
    },
    {
      name: 'dt6',
      type: 'datetime(6)',
      cls: 'ts',
      hand: { postgres: 'timestamp', mysql: 'datetime(6)' },
      edges: ['1000-01-01 00:00:00.000001', '9999-12-31 23:59:59.999999'],
      random: stampValue(6),
    },
    {
      name: 'ts',
      type: 'timestamp(6) NULL',
      cls: 'tstz',
      hand: { postgres: 'timestamptz(6)', mysql: 'datetime(6)' },
      edges: ['1970-01-01 00:00:01', '2038-01-19 03:14:07.999999'],
      random: stampValue(6, 1971, 2037),
    },
    {
      name: 'j',
      type: 'json',
      cls: 'json',
      hand: { postgres: 'text', mysql: 'longtext' },
      edges: JSON_EDGES,
      random: jsonValue,
    },
  ],
};

// ---------------------------------------------------------------------------- SQLite

const SQLITE_SOURCE: SourceSpec = {
  dialect: 'sqlite',
  columns: [
    {
      name: 'i',
      type: 'INTEGER',
      cls: 'int',
      hand: { postgres: 'numeric(20,0)', mysql: 'decimal(20,0)', sqlite: 'BIGINT' },
      edges: [-(2n ** 63n), 2n ** 63n - 1n, 0n, 9007199254740993n],
      random: (rand) => bigBetween(rand, -(2n ** 63n), 2n ** 63n - 1n),
    },
    {
      name: 'r',
      type: 'REAL',
      cls: 'f8',
      hand: { postgres: 'double precision', mysql: 'double', sqlite: 'DOUBLE' },
      edges: [0.1, -0, 1e300, 5e-324, -1.7976931348623157e308],
      special: [Infinity, -Infinity],
      random: floatValue(false),
    },
    {
      name: 'dm',
      type: 'DECIMAL(12,2)',
      cls: 'dec',
      hand: { postgres: 'numeric(14,4)', mysql: 'decimal(14,4)', sqlite: 'NUMERIC' },
      edges: ['12.50', '-99999.99', '0', '1234567890.12'],
      random: decimalText(12, 2),
    },
    {
      name: 'b',
      type: 'BOOLEAN',
      cls: 'bool',
      hand: { postgres: 'boolean', mysql: 'tinyint(1)', sqlite: 'BOOL' },
      edges: [0n, 1n],
      random: (rand) => BigInt(rand() % 2),
    },
    {
      name: 't',
      type: 'TEXT',
      cls: 'text',
      hand: { postgres: 'character varying(5000)', mysql: 'mediumtext', sqlite: 'VARCHAR(5000)' },
      edges: TEXT_EDGES,
      random: textOf(200),
    },
    {
      name: 'vc',
      type: 'VARCHAR(20)',
      cls: 'text',
      hand: { postgres: 'text', mysql: 'varchar(40)', sqlite: 'TEXT' },
      edges: VARCHAR_EDGES,
      random: textOf(20),
    },
    {
      name: 'bl',
      type: 'BLOB',
      cls: 'bytes',
      hand: { postgres: 'bytea', mysql: 'mediumblob', sqlite: 'BLOB' },
      edges: [ALL_BYTES, Buffer.alloc(0), Buffer.from([0])],
      random: bytesValue,
    },
    {
      name: 'd',
      type: 'DATE',
      cls: 'date',
      hand: { postgres: 'date', mysql: 'date', sqlite: 'DATE' },
      edges: ['1000-01-01', '9999-12-31', '2024-02-29'],
      random: (rand) => dateText(rand, 1000, 9999),
    },
    {
      name: 'tm',
      type: 'TIME',
      cls: 'time',
      hand: { postgres: 'time(6)', mysql: 'time(6)', sqlite: 'TIME' },
      edges: ['00:00:00', '23:59:59.999', '12:34'],
      random: timeValue(3),
    },
    {
      name: 'dtm',
      type: 'DATETIME',
      cls: 'ts',
      hand: { postgres: 'timestamp(3)', mysql: 'datetime(3)', sqlite: 'TIMESTAMP' },
      edges: ['1000-01-01 00:00:00', '9999-12-31 23:59:59.999', '2024-02-29T12:00:00', '2024-01-01'],
      random: stampValue(3),
    },
    {
      name: 'tz',
      type: 'TIMESTAMPTZ',
      cls: 'tstz',
      hand: { postgres: 'timestamptz(6)', mysql: 'datetime(6)', sqlite: 'TIMESTAMP WITH TIME ZONE' },
      edges: [
        '2024-01-01T10:00:00+02:00',
        '2024-06-01T08:00:00Z',
        '1999-12-31 23:59:59.5',
        '2000-01-01 00:00:00-05:30',
      ],
      random: stampValue(6, 1971, 2037),
    },
    {
      name: 'j',
      type: 'JSON',
      cls: 'json',
      hand: { postgres: 'text', mysql: 'longtext', sqlite: 'TEXT' },
      edges: JSON_EDGES,
      random: jsonValue,
    },
    {
      name: 'u',
      type: 'UUID',
      cls: 'uuid',
      hand: { postgres: 'uuid', mysql: 'varchar(36)', sqlite: 'TEXT' },
      edges: ['00000000-0000-0000-0000-000000000000', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'],
      random: uuidValue,
    },
  ],
};

export const SOURCES: Record<Dialect, SourceSpec> = {
  postgres: PG_SOURCE,
  mysql: MYSQL_SOURCE,
  sqlite: SQLITE_SOURCE,
};

/** The source rows: [id, ...values] in column order (see the top of this file). */
export function sourceRows(spec: SourceSpec, rand: Rand): unknown[][] {
  const edgeRows = Math.max(...spec.columns.map((c) => c.edges.length));
  const specialRows = Math.max(0, ...spec.columns.map((c) => c.special?.length ?? 0));
  const rows: unknown[][] = [[1, ...spec.columns.map(() => null)]];
  for (let i = 0; i < edgeRows + RANDOM_ROWS; i++) {
    rows.push([
      i + 2,
      ...spec.columns.map((c) =>
        i < c.edges.length ? c.edges[i] : rand() % 10 === 0 ? null : c.random(rand),
      ),
    ]);
  }
  for (let i = 0; i < specialRows; i++) {
    rows.push([SPECIAL_ID + i, ...spec.columns.map((c) => c.special?.[i] ?? c.random(rand))]);
  }
  return rows;
}
