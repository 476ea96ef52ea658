/** Step 1 of a converter: MySQL's zero dates, an error or NULL (convert.ts). */
import { type Converter, type ConvertOptions, ValueError } from './converter.js';
import type { Column } from './value.js';

/** `0000-00-00…` or a zero month or day (`2024-00-10`): MySQL's zero and zero-in-date values. */
function isZeroDate(v: string): boolean {
  return (
    v.length >= 10 &&
    v.charCodeAt(4) === 45 &&
    ((v.charCodeAt(5) === 48 && v.charCodeAt(6) === 48) || (v.charCodeAt(8) === 48 && v.charCodeAt(9) === 48))
  );
}

export function zeroDateGuard(from: Column, options: ConvertOptions): Converter | null {
  if (from.kind !== 'date' && from.kind !== 'timestamp' && from.kind !== 'timestamptz') return null;
  const toNull = options.zeroDates === 'null';
  const counted = options.onZeroDateNull;
  return (v) => {
    if (typeof v !== 'string' || !isZeroDate(v)) return v;
    if (toNull) {
      counted?.();
      return null;
    }
    throw new ValueError(
      `MySQL zero date '${v}' has no real date to convert to; set \`zeroDates: null\` to write NULL instead`,
    );
  };
}
