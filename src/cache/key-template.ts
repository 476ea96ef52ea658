/**
 * Cache keys: `prefix + template`, the template's `{column}` placeholders filled with the canonical text of
 * the row's values. Compiled once per table into a function the row loop calls.
 * The template's syntax is the plan's (plan/key-template-syntax.ts).
 * memcached refuses keys over 250 bytes and keys with whitespace or control characters: such a key is
 * skipped for the cache (the row is still migrated), or with `longKeys: hash` replaced by
 * `prefix + "sha1:" + hex(sha1(rendered template))`.
 */
import { createHash } from 'node:crypto';
import { canonicalizer } from '../convert/canonical.js';
import type { Column, Row, Value } from '../convert/value.js';
import { parseTemplate } from '../plan/key-template-syntax.js';

const MAX_KEY_BYTES = 250;

export type KeySkipReason = 'key-too-long' | 'key-has-space-or-control' | 'key-has-null';
export interface KeySkip {
  skip: KeySkipReason;
}
const SKIP_TOO_LONG: KeySkip = { skip: 'key-too-long' };
const SKIP_BAD_CHAR: KeySkip = { skip: 'key-has-space-or-control' };
const SKIP_NULL: KeySkip = { skip: 'key-has-null' };

export type KeyRenderer = (row: Row) => string | KeySkip;

// Space, control characters (C0, DEL, C1) and the Unicode line/paragraph separators.
const BAD_KEY_CHAR = /[\s\x00-\x1f\x7f-\x9f]/;

export function compileKeyTemplate(
  template: string,
  prefix: string,
  columns: readonly Column[],
  longKeys: 'skip' | 'hash',
): KeyRenderer {
  const parsed = parseTemplate(template);
  const literals = parsed.literals;
  const slots = parsed.columns.map((name) => {
    const index = columns.findIndex((c) => c.name === name);
    if (index < 0) throw new Error(`unknown column {${name}}`);
    return { index, text: canonicalizer(columns[index]!.kind) as (v: Value) => string | null };
  });
  const tail = literals[slots.length]!;
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

/** Where a row's fields lie in its line of COPY text, by column index (CopyJson during `lines`). */
export interface FieldBounds {
  fieldStart(column: number): number;
  fieldEnd(column: number): number;
}

/**
 * A key written as UTF-8 straight from a row's COPY text, with no string per row: for a template whose
 * placeholders are all integer columns, whose canonical text is their digits as PostgreSQL prints them.
 * `render` returns the key's length in bytes, written at `at` (room for `maxBytes` is the caller's), or -1
 * where the string renderer decides instead: a NULL, digits not in canonical form, a key over 250 bytes.
 */
export interface KeyBytesRenderer {
  maxBytes: number;
  render(text: Buffer, fields: FieldBounds, out: Buffer, at: number): number;
}

/** Characters of a 64-bit integer at most: a sign and 19 digits (and a digit to spare). */
const INT_CHARS = 21;

/** The byte renderer of a template, when it has one (see KeyBytesRenderer); the same keys as compileKeyTemplate. */
export function compileKeyBytes(
  template: string,
  prefix: string,
  columns: readonly Column[],
): KeyBytesRenderer | null {
  const parsed = parseTemplate(template);
  const slots: number[] = [];
  for (const name of parsed.columns) {
    const index = columns.findIndex((c) => c.name === name);
    if (index < 0 || columns[index]!.kind !== 'int') return null;
    slots.push(index);
  }
  if (slots.length === 0) return null;
  const literals = parsed.literals.map((text, i) => Buffer.from(i === 0 ? prefix + text : text));
  // A space or control in the fixed text makes every key one the string renderer skips or hashes.
  if (BAD_KEY_CHAR.test(prefix + parsed.literals.join(''))) return null;
  const fixed = literals.reduce((n, b) => n + b.length, 0);
  return {
    maxBytes: fixed + slots.length * INT_CHARS,
    render(text, fields, out, at) {
      let n = at;
      for (let i = 0; i < slots.length; i++) {
        const literal = literals[i]!;
        for (let k = 0; k < literal.length; k++) out[n++] = literal[k]!;
        const start = fields.fieldStart(slots[i]!);
        const end = fields.fieldEnd(slots[i]!);
        if (!canonicalDigits(text, start, end)) return -1;
        for (let k = start; k < end; k++) out[n++] = text[k]!;
      }
      const tail = literals[slots.length]!;
      for (let k = 0; k < tail.length; k++) out[n++] = tail[k]!;
      return n - at > MAX_KEY_BYTES ? -1 : n - at;
    },
  };
}

/** `-?(0|[1-9][0-9]*)` but not `-0`, at most INT_CHARS long: what canonicalInt returns unchanged. */
function canonicalDigits(text: Buffer, start: number, end: number): boolean {
  if (end - start > INT_CHARS) return false;
  let i = text[start] === 45 ? start + 1 : start;
  if (i === end || (text[i] === 48 && (end - i > 1 || i > start))) return false;
  for (; i < end; i++) {
    const c = text[i]!;
    if (c < 48 || c > 57) return false;
  }
  return true;
}

export function isSkip(k: string | KeySkip): k is KeySkip {
  return typeof k !== 'string';
}
