/**
 * `createTables: true`: the target type of a source column, chosen so that every value the source column
 * can hold is stored exactly (docs/plan.md "What equal means"). The DDL itself (quoting, NOT NULL, PRIMARY KEY, MySQL key
 * collations) is each dialect's `ddl.ts`.
 *
 * Same database on both sides: the source type as introspected (PostgreSQL built-in types as
 * `format_type` prints them, MySQL `COLUMN_TYPE`, SQLite's declared type). User-defined PostgreSQL types
 * (enums, domains) may not exist in the target database: they are mapped by kind like a foreign type.
 *
 * | source column (kind: type)                 | → PostgreSQL                  | → MySQL/MariaDB                   | → SQLite     |
 * |---------------------------------------------|-------------------------------|-----------------------------------|--------------|
 * | int: my tinyint, tinyint(1), smallint, year | smallint                      | (pg smallint) smallint            | INTEGER      |
 * | int: my smallint/mediumint unsigned, int    | integer                       | (pg integer) int                  | INTEGER      |
 * | int: my int unsigned, bigint; sqlite any    | bigint                        | (pg bigint, sqlite) bigint        | INTEGER      |
 * | int: my bigint unsigned                     | numeric(20,0)                 |                                   | INTEGER (1)  |
 * | int: my bit(n > 1)                          | smallint/integer/bigint (2)   |                                   | INTEGER      |
 * | int: pg oid                                 |                               | int unsigned                      | INTEGER      |
 * | decimal: numeric(p,s), decimal(p,s)         | numeric(p,s)                  | decimal(p,s); p > 65, s > 30: error | DECIMAL(p,s), p ≤ 15; else TEXT |
 * | decimal: pg numeric; sqlite any             | numeric                       | decimal(65,30) (3)                | TEXT         |
 * | float: my float; pg real                    | real                          | float                             | REAL         |
 * | float: double; sqlite any                   | double precision              | double                            | REAL         |
 * | bool: pg boolean, my bit(1), sqlite BOOLEAN | boolean                       | tinyint(1) (1/0)                  | BOOLEAN      |
 * | text: char(n), varchar(n) (my, pg)          | character varying(n)          | varchar(n); n > 16383: longtext   | TEXT         |
 * | text: my *text, enum, set; pg text; sqlite  | text                          | longtext                          | TEXT         |
 * | text: pg enum                               | text                          | varchar(255)                      | TEXT         |
 * | bytes                                       | bytea                         | longblob                          | BLOB         |
 * | date                                        | date                          | date                              | DATE         |
 * | time: my time(f); pg time(p)                | time(f) (4)                   | time(p)                           | TIME         |
 * | timestamp: my datetime(f); pg timestamp(p)  | timestamp(f)                  | datetime(p)                       | DATETIME     |
 * | timestamptz: my timestamp(f); pg timestamptz(p) | timestamp(f) with time zone | datetime(p), the UTC wall clock (5) | TIMESTAMPTZ |
 * | json                                        | jsonb (equal as JSON)         | json                              | JSON         |
 * | uuid                                        | uuid                          | char(36), lowercase text form     | UUID         |
 * | other: pg arrays                            |                               | json (a JSON array)               | TEXT         |
 * | other: pg interval                          |                               | varchar(100), its text            | TEXT         |
 * | other: anything else                        | text                          | longtext                          | TEXT         |
 *
 * (1) values over 2^63-1 are errors naming the row. (2) by width: n ≤ 15, ≤ 31, ≤ 63 bits; else
 * numeric(20,0). (3) values with more than 35 integer digits or 30 decimals are errors naming the row.
 * (4) a MySQL TIME outside 00:00–24:00 is an error naming the row (create an interval column yourself).
 * (5) MySQL TIMESTAMP stops in 2038; a DATETIME holding the UTC reading keeps every instant. PostgreSQL's
 * default precision (6) where a type has none. Key columns are NOT NULL.
 *
 * Notes: a MySQL CHAR(n) becomes varchar(n) in PostgreSQL (a PostgreSQL char(n) would pad the value with
 * spaces) and a PostgreSQL char(n) a MySQL varchar(n) (MySQL strips trailing spaces from CHAR). SQLite
 * declares sizes without enforcing them, so its VARCHAR(n)/DECIMAL(p,s) are mapped as unbounded. MySQL key
 * columns must be bounded: text and bytes key columns become varchar(n)/varbinary(n) within InnoDB's
 * 3072-byte key (a text key column of unknown length gets an equal share of it, in utf8mb4 characters of 4
 * bytes), and ddl.ts gives text key columns a binary NO PAD collation, so keys that differ only in case or
 * trailing spaces stay distinct. MySQL's 65,535-byte row limit can refuse a very wide table of varchar
 * columns: the CREATE fails with MySQL's message and nothing is written.
 */
import type { Column, ColumnKind } from '../convert/value.js';
import type { DialectName } from './dialect.js';

/** A source column with no exact target type; the message says why and what to do. */
export class TypeMapError extends Error {}

interface TargetType {
  type: string;
  /** The kind the target database reports for the created column. */
  kind: ColumnKind;
}

/** InnoDB's longest index key (DYNAMIC rows), in bytes. */
const MYSQL_KEY_BYTES = 3072;
/** The longest VARCHAR in utf8mb4 (65,535 bytes per row / 4 bytes per character). */
const MYSQL_VARCHAR_MAX = 16383;

/**
 * The target columns of a table to create: same names (already renamed by the caller), mapped types,
 * NOT NULL where the source has it and on key columns. Throws TypeMapError naming the first column without
 * an exact type.
 */
export function mapColumns(columns: Column[], key: string[], from: DialectName, to: DialectName): Column[] {
  const keyBudget = mysqlKeyBudget(columns, key, from, to);
  return columns.map((c) => {
    const isKey = key.includes(c.name);
    let t: TargetType;
    try {
      t = mapType(c, from, to, isKey ? keyBudget : null);
    } catch (error) {
      if (!(error instanceof TypeMapError)) throw error;
      throw new TypeMapError(`column ${c.name} (${c.dbType}): ${error.message}`);
    }
    return { name: c.name, kind: t.kind, dbType: t.type, nullable: c.nullable && !isKey };
  });
}

/** The characters each unbounded text key column may take in a MySQL key (bytes: × 4). */
function mysqlKeyBudget(columns: Column[], key: string[], from: DialectName, to: DialectName): number {
  if (to !== 'mysql') return 0;
  let fixed = 0;
  let open = 0;
  for (const name of key) {
    const c = columns.find((col) => col.name === name);
    if (!c) continue;
    const n = declaredLength(c, from);
    if (c.kind === 'text' || c.kind === 'other' || c.kind === 'bytes') {
      if (n === null) open++;
      else fixed += c.kind === 'bytes' ? n : 4 * n;
    } else fixed += c.kind === 'uuid' ? 4 * 36 : 16;
  }
  return open === 0 ? 0 : Math.floor((MYSQL_KEY_BYTES - fixed) / open / 4);
}

/** `varchar(n)`'s n where the source enforces it (not SQLite, which declares sizes without enforcing them). */
function declaredLength(c: Column, from: DialectName): number | null {
  if (from === 'sqlite') return null;
  const m = /^(?:character varying|varchar|character|char|bpchar|varbinary|binary)\s*\((\d+)\)/i.exec(
    c.dbType.trim(),
  );
  return m ? Number(m[1]) : null;
}

/** `numeric(12,2)` → [12, 2]; `varchar(5)` → [5]; none → []. */
function typeArgs(dbType: string): number[] {
  const m = /\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\)/.exec(dbType);
  if (!m) return [];
  return m[2] === undefined ? [Number(m[1])] : [Number(m[1]), Number(m[2])];
}

function baseName(dbType: string): string {
  return dbType
    .trim()
    .toLowerCase()
    .replace(/\s*\(.*?\)/g, '')
    .replace(/\s+(unsigned|zerofill|signed)\b/g, '')
    .trim();
}

function mapType(c: Column, from: DialectName, to: DialectName, keyBudget: number | null): TargetType {
  if (from === to) {
    const same = sameDialectType(c, to);
    if (same) return same;
  }
  switch (to) {
    case 'postgres':
      return toPostgres(c, from);
    case 'mysql':
      return toMysql(c, from, keyBudget);
    default:
      return toSqlite(c);
  }
}

// ---------------------------------------------------------------------------- same database

/** PostgreSQL built-in types, as format_type prints them (optionally as arrays). */
const PG_BUILTIN =
  /^(smallint|integer|bigint|oid|numeric(\(\d+(,-?\d+)?\))?|real|double precision|boolean|text|character varying(\(\d+\))?|character(\(\d+\))?|"char"|name|bytea|date|time(\(\d\))? with(out)? time zone|timestamp(\(\d\))? with(out)? time zone|interval( [a-z ]+)?(\(\d\))?|json|jsonb|uuid|inet|cidr|macaddr8?|money|xml|bit(\(\d+\))?|bit varying(\(\d+\))?|point|line|lseg|box|path|polygon|circle|tsvector|tsquery|(int4|int8|num|ts|tstz|date)range|(int4|int8|num|ts|tstz|date)multirange)(\[\])*$/;
/** A MySQL COLUMN_TYPE: a name, size/precision, unsigned/zerofill; or an ENUM/SET with its member list. */
const MYSQL_TYPE = /^[a-z][a-z0-9_]*( ?\(\d+(,\d+)?\))?( unsigned)?( zerofill)?$|^(enum|set)\('.*'\)$/is;
/** A SQLite declared type: words, and up to two numbers in parentheses. */
const SQLITE_TYPE = /^[a-z_][a-z0-9_ ]*(\(\s*[-+]?\d+\s*(,\s*[-+]?\d+\s*)?\))?$/i;

function sameDialectType(c: Column, to: DialectName): TargetType | null {
  const t = c.dbType.trim();
  if (to === 'postgres') return PG_BUILTIN.test(t) ? { type: t, kind: c.kind } : null;
  if (to === 'mysql') {
    // MariaDB's JSON is LONGTEXT with a json_valid check: `json` creates exactly that.
    if (c.kind === 'json') return { type: 'json', kind: 'json' };
    return MYSQL_TYPE.test(t) ? { type: t, kind: c.kind } : null;
  }
  // No declared type (introspected as ANY) stores every value as given; `ANY` itself would not.
  if (t === 'ANY') return { type: '', kind: c.kind };
  return SQLITE_TYPE.test(t) ? { type: t, kind: c.kind } : null;
}

// ---------------------------------------------------------------------------- → PostgreSQL

function pgInt(c: Column, from: DialectName): TargetType {
  if (from !== 'mysql') return { type: 'bigint', kind: 'int' };
  const base = baseName(c.dbType);
  const unsigned = /unsigned/i.test(c.dbType);
  const bits =
    base === 'bit'
      ? (typeArgs(c.dbType)[0] ?? 1) + 1 // an unsigned bit(n) needs n + 1 signed bits
      : base === 'year'
        ? 16
        : ({ tinyint: 8, smallint: 16, mediumint: 24, int: 32, integer: 32, bigint: 64 }[base] ?? 64) +
          (unsigned ? 1 : 0);
  if (bits <= 16) return { type: 'smallint', kind: 'int' };
  if (bits <= 32) return { type: 'integer', kind: 'int' };
  if (bits <= 64) return { type: 'bigint', kind: 'int' };
  return { type: 'numeric(20,0)', kind: 'decimal' };
}

function pgPrecision(c: Column, from: DialectName): string {
  const p = typeArgs(c.dbType)[0];
  if (from === 'sqlite' || p === undefined) return '';
  return `(${Math.min(p, 6)})`;
}

function toPostgres(c: Column, from: DialectName): TargetType {
  const args = typeArgs(c.dbType);
  switch (c.kind) {
    case 'int':
      return pgInt(c, from);
    case 'decimal':
      if (from !== 'sqlite' && args.length > 0) {
        return { type: `numeric(${args[0]},${args[1] ?? 0})`, kind: 'decimal' };
      }
      return { type: 'numeric', kind: 'decimal' };
    case 'float':
      return /^(float|real|float4)\b/i.test(c.dbType.trim()) && from !== 'sqlite'
        ? { type: 'real', kind: 'float' }
        : { type: 'double precision', kind: 'float' };
    case 'bool':
      return { type: 'boolean', kind: 'bool' };
    case 'text': {
      const n = declaredLength(c, from);
      if (n !== null && /char/i.test(baseName(c.dbType))) {
        return { type: `character varying(${n})`, kind: 'text' };
      }
      return { type: 'text', kind: 'text' };
    }
    case 'bytes':
      return { type: 'bytea', kind: 'bytes' };
    case 'date':
      return { type: 'date', kind: 'date' };
    case 'time':
      return { type: `time${pgPrecision(c, from)}`, kind: 'time' };
    case 'timestamp':
      return { type: `timestamp${pgPrecision(c, from)}`, kind: 'timestamp' };
    case 'timestamptz':
      return { type: `timestamp${pgPrecision(c, from)} with time zone`, kind: 'timestamptz' };
    case 'json':
      return { type: 'jsonb', kind: 'json' };
    case 'uuid':
      return { type: 'uuid', kind: 'uuid' };
    default:
      return { type: 'text', kind: 'text' };
  }
}

// ---------------------------------------------------------------------------- → MySQL/MariaDB

/** Fractional-second digits of a PostgreSQL type: `(p)`, else PostgreSQL's default of 6. */
function fsp(c: Column, from: DialectName): number {
  const p = from === 'sqlite' ? undefined : typeArgs(c.dbType)[0];
  return Math.min(p ?? 6, 6);
}

function mysqlKeyText(n: number | null, budget: number): string {
  const chars = n ?? budget;
  if (chars < 1 || 4 * chars > MYSQL_KEY_BYTES) {
    throw new TypeMapError(
      `a MySQL key holds at most ${MYSQL_KEY_BYTES} bytes (${MYSQL_KEY_BYTES / 4} utf8mb4 characters): create the table yourself with a shorter key column`,
    );
  }
  return `varchar(${chars})`;
}

function toMysql(c: Column, from: DialectName, keyBudget: number | null): TargetType {
  const args = typeArgs(c.dbType);
  const base = baseName(c.dbType);
  const key = keyBudget !== null;
  switch (c.kind) {
    case 'int':
      if (from === 'postgres' && (base === 'smallint' || base === 'int2'))
        return { type: 'smallint', kind: 'int' };
      if (from === 'postgres' && (base === 'integer' || base === 'int4')) return { type: 'int', kind: 'int' };
      if (from === 'postgres' && base === 'oid') return { type: 'int unsigned', kind: 'int' };
      return { type: 'bigint', kind: 'int' };
    case 'decimal': {
      if (from === 'sqlite' || args.length === 0) return { type: 'decimal(65,30)', kind: 'decimal' };
      const [p, s = 0] = args as [number, number?];
      if (p > 65 || s > 30 || s < 0 || s > p) {
        throw new TypeMapError(
          'MySQL DECIMAL holds at most 65 digits, 30 of them after the point: create the table yourself (e.g. with a varchar column) or drop the column',
        );
      }
      return { type: `decimal(${p},${s})`, kind: 'decimal' };
    }
    case 'float':
      return from === 'postgres' && (base === 'real' || base === 'float4')
        ? { type: 'float', kind: 'float' }
        : { type: 'double', kind: 'float' };
    case 'bool':
      return { type: 'tinyint(1)', kind: 'int' };
    case 'text': {
      const n = declaredLength(c, from);
      if (key) return { type: mysqlKeyText(n, keyBudget), kind: 'text' };
      if (n !== null) return { type: n <= MYSQL_VARCHAR_MAX ? `varchar(${n})` : 'longtext', kind: 'text' };
      // A PostgreSQL enum (a type that is not one of the text types): its labels are at most 63 bytes.
      if (from === 'postgres' && !/^(text|character varying|character|"char"|name|citext)$/.test(base)) {
        return { type: 'varchar(255)', kind: 'text' };
      }
      return { type: 'longtext', kind: 'text' };
    }
    case 'bytes':
      if (key) {
        const n = declaredLength(c, from) ?? keyBudget * 4;
        if (n < 1 || n > MYSQL_KEY_BYTES) {
          throw new TypeMapError(
            `a MySQL key holds at most ${MYSQL_KEY_BYTES} bytes: create the table yourself with a shorter key column`,
          );
        }
        return { type: `varbinary(${n})`, kind: 'bytes' };
      }
      return { type: 'longblob', kind: 'bytes' };
    case 'date':
      return { type: 'date', kind: 'date' };
    case 'time':
      return { type: `time(${fsp(c, from)})`, kind: 'time' };
    case 'timestamp':
    case 'timestamptz':
      // MySQL TIMESTAMP only reaches 2038: a DATETIME holding the UTC wall clock keeps every instant.
      return { type: `datetime(${fsp(c, from)})`, kind: 'timestamp' };
    case 'json':
      return { type: 'json', kind: 'json' };
    case 'uuid':
      return { type: 'char(36)', kind: 'text' };
    default:
      if (from === 'postgres' && c.dbType.trim().endsWith('[]')) return { type: 'json', kind: 'json' };
      if (from === 'postgres' && base.startsWith('interval')) return { type: 'varchar(100)', kind: 'text' };
      return key ? { type: mysqlKeyText(null, keyBudget), kind: 'text' } : { type: 'longtext', kind: 'text' };
  }
}

// ---------------------------------------------------------------------------- → SQLite

const SQLITE_BY_KIND: Record<ColumnKind, string> = {
  int: 'INTEGER',
  decimal: 'TEXT',
  float: 'REAL',
  bool: 'BOOLEAN',
  text: 'TEXT',
  bytes: 'BLOB',
  date: 'DATE',
  time: 'TIME',
  timestamp: 'DATETIME',
  timestamptz: 'TIMESTAMPTZ',
  json: 'JSON',
  uuid: 'UUID',
  other: 'TEXT',
};

function toSqlite(c: Column): TargetType {
  if (c.kind === 'decimal') {
    // NUMERIC affinity stores a decimal as a double: exact up to 15 significant digits, so beyond that TEXT.
    const [p, s = 0] = typeArgs(c.dbType);
    if (p !== undefined && p <= 15) return { type: `DECIMAL(${p},${s})`, kind: 'decimal' };
    return { type: 'TEXT', kind: 'text' };
  }
  const type = SQLITE_BY_KIND[c.kind];
  return { type, kind: c.kind === 'other' ? 'text' : c.kind };
}
