/**
 * The engine's one representation of a value, whichever driver read it. Each dialect decodes its driver's
 * output into this form (per column kind) and encodes it back for writing, so rows from PostgreSQL, MySQL
 * and SQLite compare, hash and serialise alike.
 *
 * | kind        | Value                                                                      |
 * |-------------|----------------------------------------------------------------------------|
 * | int         | string of decimal digits, optional leading `-` (never a JS number)         |
 * | decimal     | string as the database printed it, e.g. `-12.50` (never a JS number)       |
 * | float       | number (a double; float4 widened exactly), or string `NaN`/`Infinity`/`-Infinity` |
 * | bool        | boolean                                                                    |
 * | text        | string, byte-exact (no trimming, no normalisation)                         |
 * | bytes       | Buffer                                                                     |
 * | date        | `YYYY-MM-DD` (or `infinity`/`-infinity`, `YYYY-MM-DD BC` from PostgreSQL)  |
 * | time        | `HH:MM:SS[.ffffff]`                                                        |
 * | timestamp   | `YYYY-MM-DD HH:MM:SS[.ffffff]`, no zone (a wall-clock reading)             |
 * | timestamptz | `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC (an instant)                          |
 * | json        | string: the JSON text (numbers kept exactly as written)                    |
 * | uuid        | lowercase string with dashes                                               |
 * | other       | string: the database's text form                                           |
 * NULL is `null` for every kind.
 */
export type Value = null | string | number | boolean | Buffer;

/** A row: values in the order of the column list it was read or written with. */
export type Row = Value[];

export const columnKinds = [
  'int',
  'decimal',
  'float',
  'bool',
  'text',
  'bytes',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'json',
  'uuid',
  'other',
] as const;
export type ColumnKind = (typeof columnKinds)[number];

export interface Column {
  name: string;
  kind: ColumnKind;
  /** The database's own type name, e.g. `numeric(12,2)`, `bigint unsigned`, `varchar(32)`. */
  dbType: string;
  nullable: boolean;
  /**
   * The database the column was described by, when its dialect sets it: values between two PostgreSQL
   * columns of the same type need no checks (convert.ts).
   */
  origin?: 'postgres';
}
