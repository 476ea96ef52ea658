/**
 * Conversions from a source column's values to a target column's, driven by the target column's kind and
 * type (docs/plan.md "What equal means"). Built once per column pair; the row loop only calls the returned
 * function. A pair with no safe conversion is refused up front, and a value that does not fit fails with
 * `ValueError`, which the engine turns into a DataError naming table, key and column.
 *
 * A converter is up to three steps, chosen once per column pair:
 * 1. zero dates (a date/timestamp source, zero-dates.ts): MySQL's `0000-00-00`, `2024-00-10` have no
 *    equivalent anywhere: an error, or NULL with `zeroDates: null` (each one reported through
 *    `onZeroDateNull`, so it is counted). Never 1970-01-01 or 0001-01-01.
 * 2. the kind conversion (identity for the same kind): kind-conversions.ts, PostgreSQL arrays in
 *    pg-array-json.ts.
 * 3. what the target column can hold, from its database type ({@link targetGuards}: number-guards.ts,
 *    text-guards.ts, time-guards.ts): integer ranges (BIGINT UNSIGNED max into a PostgreSQL bigint is an
 *    error, not a wrap), DECIMAL precision and scale (more decimals than the scale would be rounded by the
 *    database: an error), text length and ENUM/SET members,
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
 *   spaces for MySQL (blankPadded in text-guards.ts).
 * - PostgreSQL arrays -> MySQL JSON: a JSON array (nested for multi-dimensional arrays; numbers as numbers,
 *   booleans as true/false, json elements embedded, everything else as strings, NULL as null); arrays with
 *   explicit bounds (`[0:2]={…}`) are refused. Arrays into a text column keep PostgreSQL's text form.
 * - PostgreSQL interval -> MySQL TIME when it is `[-]H:MM:SS[.f]` (within TIME's range); other intervals
 *   (`1 day 02:00:00`) only into a text column, as PostgreSQL prints them. MySQL TIME beyond 24:00:00 or
 *   negative -> a PostgreSQL interval column (same text); into PostgreSQL `time` it is an error.
 * - uuid <-> 16-byte binary (BINARY(16)) and uuid <-> text.
 * - json -> text keeps the JSON text as stored.
 */
import { type Converter, type ConvertOptions, chain, identity } from './converter.js';
import { kindConverter } from './kind-conversions.js';
import { decimalGuard, floatGuard, intGuard } from './number-guards.js';
import { bytesGuard, textGuard } from './text-guards.js';
import { dateRangeGuard, fractionGuard, fsp, mysqlTimestampGuard, timeRangeGuard } from './time-guards.js';
import type { Column } from './value.js';
import { zeroDateGuard } from './zero-dates.js';

export { type Converter, type ConvertOptions, isIdentity, ValueError } from './converter.js';
export { intRange, isPgSingleFloat } from './number-guards.js';
export { pgCharacterLength } from './text-guards.js';

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
