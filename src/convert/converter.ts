/** What a converter is, and what its steps share: ValueError, the identity, chaining, the number patterns. */
import type { DialectName } from '../db/dialect.js';
import { canonicalizer } from './canonical.js';
import type { Value } from './value.js';

export type Converter = (value: Value) => Value;

/** A single value that cannot be converted; the engine adds table, key and column. */
export class ValueError extends Error {}

export interface ConvertOptions {
  /** MySQL zero dates: an error (default) or NULL. */
  zeroDates?: 'error' | 'null';
  /** The target database, for the limits of its types; unknown: only the limits common to all. */
  target?: DialectName;
  /** Called for each zero date written as NULL (`zeroDates: null`), so the engine can count them. */
  onZeroDateNull?: () => void;
}

export const identity: Converter = (v) => v;

/** True for the converter that returns every value as it is. */
export function isIdentity(c: Converter): boolean {
  return c === identity;
}

export const INT = /^-?\d+$/;
export const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)$/;
export const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

export function excerpt(v: Value): string {
  const s = Buffer.isBuffer(v) ? `0x${v.subarray(0, 16).toString('hex')}` : String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

export const canonDecimal = canonicalizer('decimal');

export function chain(steps: (Converter | null)[]): Converter | null {
  const list = steps.filter((s): s is Converter => s !== null && s !== identity);
  if (list.length === 0) return null;
  if (list.length === 1) return list[0]!;
  if (list.length === 2) {
    const [a, b] = list as [Converter, Converter];
    return (v) => b(a(v));
  }
  return (v) => {
    let out = v;
    for (const step of list) out = step(out);
    return out;
  };
}
