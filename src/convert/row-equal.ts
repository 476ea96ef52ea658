/**
 * Equality of two rows in canonical form, without building the canonical text when it is not needed: equal
 * values (the common case: both sides decoded the same text) compare with `===` or as bytes, and only
 * values that differ as written are compared in canonical form (`12.50` vs `12.5`, JSON key order, a
 * timestamp's zone suffix).
 */
import { canonicalizer } from './canonical.js';
import type { Column, Row, Value } from './value.js';

type ValueEquals = (a: Value, b: Value) => boolean;

function valueEquals(column: Column): ValueEquals {
  const canon = canonicalizer(column.kind);
  return (a, b) => {
    if (a === b) return true;
    if (a === null || b === null) return false;
    if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
    return canon(a) === canon(b);
  };
}

/** Per table: `equals(a, b)` over all columns, and `differing(a, b)` naming the columns that differ. */
export function rowEquality(columns: readonly Column[]): {
  equals: (a: Row, b: Row) => boolean;
  differing: (a: Row, b: Row) => string[];
} {
  const eq = columns.map(valueEquals);
  const n = eq.length;
  return {
    equals(a, b) {
      for (let i = 0; i < n; i++) if (!eq[i]!(a[i] ?? null, b[i] ?? null)) return false;
      return true;
    },
    differing(a, b) {
      const out: string[] = [];
      for (let i = 0; i < n; i++) if (!eq[i]!(a[i] ?? null, b[i] ?? null)) out.push(columns[i]!.name);
      return out;
    },
  };
}
