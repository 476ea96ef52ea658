/** Step 3 for text and bytes: lengths, CHAR padding, ENUM/SET members and NUL a target column holds. */
import { type Converter, type ConvertOptions, chain, excerpt, ValueError } from './converter.js';
import type { Column } from './value.js';

/** Code points in a string (a JS string's length counts UTF-16 units). */
function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

const MYSQL_TEXT_BYTES: Record<string, number> = { tinytext: 255, text: 65_535, mediumtext: 16_777_215 };
const MYSQL_BLOB_BYTES: Record<string, number> = { tinyblob: 255, blob: 65_535, mediumblob: 16_777_215 };

/** `enum('a','b''c')` -> ['a', "b'c"]. */
function memberList(list: string): string[] {
  const out: string[] = [];
  const re = /'((?:[^'\\]|''|\\.)*)'/g;
  for (let m = re.exec(list); m; m = re.exec(list))
    out.push(m[1]!.replaceAll("''", "'").replace(/\\(.)/g, '$1'));
  return out;
}

const TRAILING_SPACES = / +$/;
const SPACE = 32;

/**
 * CHAR(n) compares without its trailing spaces in both databases, and each stores it its own way:
 * PostgreSQL pads the value to n characters (and prints it padded), MySQL strips trailing spaces on read.
 * The converted value is what the target will hold and return, so the checks and the cache see the target's
 * form: padded for PostgreSQL `character(n)`, stripped for MySQL `char(n)`. Trailing spaces are the only
 * difference CHAR ignores; the length check that follows counts the value without them.
 */
function blankPadded(to: Column, options: ConvertOptions): Converter | null {
  if (options.target === 'postgres') {
    const n = pgCharacterLength(to.dbType);
    if (n === null) return null;
    return (v) => {
      if (typeof v !== 'string') return v;
      const s = v.charCodeAt(v.length - 1) === SPACE ? v.replace(TRAILING_SPACES, '') : v;
      const length = codePoints(s);
      return length < n ? s + ' '.repeat(n - length) : s;
    };
  }
  if (options.target === 'mysql' && /^(?:char|character|nchar)(?:\s*\(\d+\))?$/i.test(to.dbType.trim())) {
    return (v) =>
      typeof v === 'string' && v.charCodeAt(v.length - 1) === SPACE ? v.replace(TRAILING_SPACES, '') : v;
  }
  return null;
}

/**
 * n of a PostgreSQL `character(n)` (1 for `character` alone), whose values PostgreSQL pads to n; null for any
 * other type (`bpchar` without a length keeps values as written).
 */
export function pgCharacterLength(dbType: string): number | null {
  const m = /^(?:character|char|bpchar)(?:\s*\((\d+)\))?$/i.exec(dbType.trim());
  if (!m) return null;
  if (m[1] !== undefined) return Number(m[1]);
  return /^bpchar$/i.test(dbType.trim()) ? null : 1;
}

export function textGuard(to: Column, options: ConvertOptions): Converter | null {
  const checks: Converter[] = [];
  const type = to.dbType.trim();
  if (options.target === 'postgres') {
    checks.push((v) => {
      if (typeof v === 'string' && v.includes('\0'))
        throw new ValueError('text containing a NUL character (0x00) cannot be stored in PostgreSQL');
      return v;
    });
  }
  const padded = blankPadded(to, options);
  if (padded) checks.push(padded);
  const length = /^(?:varchar|char|character varying|character|nvarchar|nchar)\s*\((\d+)\)/i.exec(type);
  if (length) {
    const max = Number(length[1]);
    checks.push((v) => {
      if (typeof v === 'string' && v.length > max && codePoints(v) > max)
        throw new ValueError(`${codePoints(v)} characters do not fit in ${to.dbType}`);
      return v;
    });
  }
  const bytes = options.target === 'mysql' ? MYSQL_TEXT_BYTES[type.toLowerCase()] : undefined;
  if (bytes !== undefined) {
    checks.push((v) => {
      if (typeof v === 'string' && v.length * 3 > bytes && Buffer.byteLength(v) > bytes)
        throw new ValueError(`${Buffer.byteLength(v)} bytes do not fit in ${to.dbType} (${bytes} bytes)`);
      return v;
    });
  }
  const enumType = /^enum\s*\((.*)\)$/is.exec(type);
  if (enumType) {
    const members = new Set(memberList(enumType[1]!));
    checks.push((v) => {
      if (typeof v === 'string' && !members.has(v))
        throw new ValueError(`'${excerpt(v)}' is not one of the values of ${to.dbType}`);
      return v;
    });
  }
  const setType = /^set\s*\((.*)\)$/is.exec(type);
  if (setType) {
    // MySQL stores a SET's members in definition order, once each: write them that way, so the value
    // read back is the one written.
    const members = memberList(setType[1]!);
    checks.push((v) => {
      if (typeof v !== 'string' || v === '') return v;
      const given = new Set(v.split(','));
      for (const g of given) {
        if (!members.includes(g)) throw new ValueError(`'${excerpt(g)}' is not a member of ${to.dbType}`);
      }
      return members.filter((m) => given.has(m)).join(',');
    });
  }
  return chain(checks);
}

export function bytesGuard(to: Column, options: ConvertOptions): Converter | null {
  if (options.target !== 'mysql') return null;
  const type = to.dbType.trim().toLowerCase();
  const fixed = /^binary\((\d+)\)/.exec(type);
  if (fixed) {
    const n = Number(fixed[1]);
    return (v) => {
      if (Buffer.isBuffer(v) && v.length !== n)
        throw new ValueError(`${v.length} bytes into ${to.dbType}: MySQL would pad or refuse them`);
      return v;
    };
  }
  const varying = /^varbinary\((\d+)\)/.exec(type);
  const max = varying ? Number(varying[1]) : MYSQL_BLOB_BYTES[type];
  if (max === undefined) return null;
  return (v) => {
    if (Buffer.isBuffer(v) && v.length > max)
      throw new ValueError(`${v.length} bytes do not fit in ${to.dbType} (${max} bytes)`);
    return v;
  };
}
