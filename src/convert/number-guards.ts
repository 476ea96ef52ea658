/** Step 3 for numbers: the integer ranges, DECIMAL precision and scale, and float limits a target holds. */
import {
  type Converter,
  type ConvertOptions,
  canonDecimal,
  excerpt,
  INT,
  NON_FINITE,
  ValueError,
} from './converter.js';
import type { Column } from './value.js';

export interface IntRange {
  min: bigint;
  max: bigint;
  /** YEAR: 0 or min..max. */
  orZero?: boolean;
}

const SIGNED_BITS: Record<string, number> = {
  tinyint: 8,
  smallint: 16,
  mediumint: 24,
  int: 32,
  integer: 32,
  bigint: 64,
};

export function intRange(dbType: string): IntRange | null {
  const m = /^(tinyint|smallint|mediumint|integer|int|bigint|year|bit)\b(?:\((\d+)\))?(.*)$/i.exec(
    dbType.trim(),
  );
  if (!m) return null;
  const name = m[1]!.toLowerCase();
  if (name === 'year') return { min: 1901n, max: 2155n, orZero: true };
  if (name === 'bit') return { min: 0n, max: (1n << BigInt(m[2] ?? 1)) - 1n };
  const bits = BigInt(SIGNED_BITS[name]!);
  if (/unsigned/i.test(m[3] ?? '')) return { min: 0n, max: (1n << bits) - 1n };
  return { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n };
}

export function intGuard(to: Column): Converter | null {
  const range = intRange(to.dbType);
  if (!range) return null;
  const { min, max, orZero } = range;
  // Most values are short: compare as numbers when both the value and the bounds allow it exactly.
  const small = max <= BigInt(Number.MAX_SAFE_INTEGER) && min >= BigInt(Number.MIN_SAFE_INTEGER);
  const [nMin, nMax] = [Number(min), Number(max)];
  return (v) => {
    if (typeof v !== 'string') return v;
    let ok: boolean;
    if (v.length <= 15 && small) {
      const n = Number(v);
      ok = (n >= nMin && n <= nMax) || (orZero === true && n === 0);
    } else if (INT.test(v)) {
      const n = BigInt(v);
      ok = (n >= min && n <= max) || (orZero === true && n === 0n);
    } else ok = false;
    if (ok) return v;
    const allowed = `${orZero ? '0 or ' : ''}${min}..${max}`;
    throw new ValueError(`${excerpt(v)} is out of range for ${to.dbType} (${allowed})`);
  };
}

export function decimalGuard(to: Column, options: ConvertOptions): Converter | null {
  const m = /^(?:numeric|decimal|dec|fixed)\s*\((\d+)(?:\s*,\s*(\d+))?\)(.*)$/i.exec(to.dbType.trim());
  const mysql = options.target === 'mysql';
  if (!m && !mysql) return null;
  const precision = m ? Number(m[1]) : 65;
  const scale = m ? Number(m[2] ?? 0) : 30;
  const unsigned = /unsigned/i.test(m?.[3] ?? '');
  return (v) => {
    if (typeof v !== 'string') return v;
    if (NON_FINITE.has(v)) {
      if (mysql) throw new ValueError(`${v} cannot be stored in MySQL ${to.dbType}`);
      return v;
    }
    const c = canonDecimal(v)!;
    const negative = c.startsWith('-');
    const dot = c.indexOf('.');
    const intPart = c.slice(negative ? 1 : 0, dot < 0 ? c.length : dot);
    const fraction = dot < 0 ? 0 : c.length - dot - 1;
    const intDigits = intPart === '0' ? 0 : intPart.length;
    if (intDigits > precision - scale || (unsigned && negative)) {
      throw new ValueError(`${excerpt(v)} is out of range for ${to.dbType}`);
    }
    if (fraction > scale) {
      throw new ValueError(
        `${excerpt(v)} has more than ${scale} decimal places: ${to.dbType} would round it`,
      );
    }
    return v;
  };
}

/** PostgreSQL's single-precision type (`real`, or its internal name `float4`). */
export function isPgSingleFloat(dbType: string): boolean {
  return /^(real|float4)$/i.test(dbType.trim());
}

/**
 * A single-precision target stores a float32: a value that is one arrives unchanged (written as the double
 * it widens to, which both databases read back exactly); any other double would be rounded, and is refused
 * like every value that cannot arrive unchanged (`invalid: skip` rejects its row instead).
 */
export function floatGuard(to: Column, options: ConvertOptions): Converter | null {
  const mysql = options.target === 'mysql';
  const single = mysql ? /^float\b/i.test(to.dbType) : isPgSingleFloat(to.dbType);
  if (!mysql && !single) return null;
  return (v) => {
    if (v === null) return v;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      if (mysql) throw new ValueError(`${String(v)} cannot be stored in MySQL ${to.dbType}`);
      return v;
    }
    if (!single) return v;
    const f = Math.fround(v);
    if (!Number.isFinite(f)) throw new ValueError(`${v} is out of range for ${to.dbType} (single precision)`);
    if (f !== v) {
      throw new ValueError(
        `${v} is not a single-precision value: ${to.dbType} would store ${f} (use a double column, or invalid: skip)`,
      );
    }
    return v;
  };
}
