/** Key values <-> the text kept in checkpoints, and the `id=42` form shown to users. */
import type { Row, Value } from '../convert/value.js';

export function encodeKey(values: readonly Value[]): string {
  return JSON.stringify(values.map((v) => (Buffer.isBuffer(v) ? { $hex: v.toString('hex') } : v)));
}

export function decodeKey(text: string): Row {
  const parsed = JSON.parse(text) as (Value | { $hex: string })[];
  return parsed.map((v) =>
    v !== null && typeof v === 'object' && '$hex' in v ? Buffer.from(v.$hex, 'hex') : (v as Value),
  );
}

export function keyOf(row: Row, key: readonly number[]): Row {
  return key.map((i) => row[i] ?? null);
}

export function showKey(names: readonly string[], values: readonly Value[]): string {
  return names
    .map((n, i) => {
      const v = values[i] ?? null;
      const text = Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : String(v);
      return `${n}=${text}`;
    })
    .join(',');
}

function part(v: Value): string {
  if (v === null) return '\u0000';
  return Buffer.isBuffer(v) ? v.toString('hex') : String(v);
}

/** A Map key for a row's key values (unambiguous within one table: values of a column share a kind). */
export function keyStringer(key: readonly number[]): (row: Row) => string {
  if (key.length === 1) {
    const k = key[0]!;
    return (row) => part(row[k] ?? null);
  }
  return (row) => {
    let s = '';
    for (let i = 0; i < key.length; i++) s += `${part(row[key[i]!] ?? null)}\u0001`;
    return s;
  };
}
