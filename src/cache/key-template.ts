/**
 * Cache keys: `prefix + template`, the template's `{column}` placeholders filled with the canonical text of
 * the row's values. Compiled once per table into a function the row loop calls.
 * memcached refuses keys over 250 bytes and keys with whitespace or control characters: such a key is
 * skipped for the cache (the row is still migrated), or with `longKeys: hash` replaced by
 * `prefix + "sha1:" + hex(sha1(rendered template))`.
 */
import { createHash } from 'node:crypto';
import { canonicalizer } from '../convert/canonical.js';
import type { Column, Row, Value } from '../convert/value.js';

export const MAX_KEY_BYTES = 250;

export type KeySkipReason = 'key-too-long' | 'key-has-space-or-control' | 'key-has-null';
export interface KeySkip {
  skip: KeySkipReason;
}
const SKIP_TOO_LONG: KeySkip = { skip: 'key-too-long' };
const SKIP_BAD_CHAR: KeySkip = { skip: 'key-has-space-or-control' };
const SKIP_NULL: KeySkip = { skip: 'key-has-null' };

export type KeyRenderer = (row: Row) => string | KeySkip;

/** The `{name}` placeholders of a template, in order (a name may repeat). */
export function templateColumns(template: string): string[] {
  return [...template.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]!);
}

// Space, control characters (C0, DEL, C1) and the Unicode line/paragraph separators.
const BAD_KEY_CHAR = /[\s\x00-\x1f\x7f-\x9f]/;

export function compileKeyTemplate(
  template: string,
  prefix: string,
  columns: readonly Column[],
  longKeys: 'skip' | 'hash',
): KeyRenderer {
  const literals: string[] = [];
  const slots: { index: number; text: (v: Value) => string | null }[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{([^{}]+)\}/g)) {
    literals.push(template.slice(last, m.index));
    const index = columns.findIndex((c) => c.name === m[1]);
    if (index < 0) throw new Error(`unknown column {${m[1]}}`);
    slots.push({ index, text: canonicalizer(columns[index]!.kind) });
    last = m.index + m[0].length;
  }
  const tail = template.slice(last);
  const simplePrefix = prefix;

  return (row) => {
    let body = '';
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      const v = row[slot.index] ?? null;
      if (v === null) return SKIP_NULL;
      body += literals[i]! + slot.text(v);
    }
    body += tail;
    const key = simplePrefix + body;
    const tooLong = key.length > MAX_KEY_BYTES / 4 && Buffer.byteLength(key) > MAX_KEY_BYTES;
    const bad = BAD_KEY_CHAR.test(key);
    if (!tooLong && !bad) return key;
    if (longKeys === 'hash') return `${simplePrefix}sha1:${createHash('sha1').update(body).digest('hex')}`;
    return tooLong ? SKIP_TOO_LONG : SKIP_BAD_CHAR;
  };
}

export function isSkip(k: string | KeySkip): k is KeySkip {
  return typeof k !== 'string';
}
