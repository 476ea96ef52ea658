/**
 * Row checksums for verification (PLAN.md "Verification").
 *
 * The hash of a row is SHA-1 (hex) of the UTF-8 bytes of its canonical form: the canonical row JSON
 * (`convert/row-json.ts`), which is unambiguous by construction: a fixed key per column, every value
 * self-delimiting (strings quoted and escaped, numbers, `true`/`false`, nested canonical JSON), SQL NULL written
 * as `null` and so distinct from `""` and from `"null"`. One ambiguity is left in that JSON: a json column
 * holding SQL NULL and one holding the JSON value `null` both embed as `null`. So when the table has json
 * columns the hashed form is the row JSON, then `\n`, then one flag per json column in column order (`1` = SQL
 * NULL, `0` = not); the row JSON never contains a raw newline, so the suffix cannot be confused with it.
 * Unequal canonical rows therefore have unequal bytes; only a SHA-1 collision could merge them.
 *
 * A cache value is checked by comparing {@link hashCanonical} of the bytes read back with that of the value
 * expected from the source row (`convert/row-json.ts` `cacheValueEncoder`); for a table without json columns
 * and `value: json` that is the row hash itself.
 *
 * SHA-1 rather than MD5: this is not a security use, and on ~270-byte inputs SHA-1 measured ~1.5x faster than
 * MD5 here (node 20, `crypto.hash` one-shot). Change {@link ROW_HASH_ALGORITHM} and nothing else.
 */
import * as crypto from 'node:crypto';
import { rowJsonEncoder } from '../convert/row-json.js';
import type { Column, Row } from '../convert/value.js';

export const ROW_HASH_ALGORITHM = 'sha1';
/** Hex characters in a row hash. */
export const ROW_HASH_HEX_LENGTH = 40;

// `crypto.hash` (node >= 20.12) is a one-shot without a Hash object: markedly faster for small inputs.
const oneShot: ((algorithm: string, data: string | Buffer, encoding: 'hex') => string) | undefined =
  typeof crypto.hash === 'function' ? crypto.hash : undefined;

/** The row hash of canonical bytes or text (text is hashed as UTF-8). */
export const hashCanonical: (data: string | Buffer) => string = oneShot
  ? (data) => oneShot(ROW_HASH_ALGORITHM, data, 'hex')
  : (data) => crypto.createHash(ROW_HASH_ALGORITHM).update(data).digest('hex');

/** `(row) => hex hash` of the canonical row JSON, precompiled for rows in the order of `columns`. */
export function rowHasher(columns: readonly Column[]): (row: Row) => string {
  const encode = rowJsonEncoder(columns);
  const jsonColumns = columns.flatMap((c, i) => (c.kind === 'json' ? [i] : []));
  if (jsonColumns.length === 0) return (row) => hashCanonical(encode(row));
  return (row) => {
    let flags = '\n';
    for (const i of jsonColumns) flags += row[i] === null ? '1' : '0';
    return hashCanonical(encode(row) + flags);
  };
}

/**
 * An order-independent digest of a multiset of row hashes: the count of hashes and their sum modulo 2^160
 * (each hash read as a 160-bit big-endian number). Order-independent because the two databases may return a
 * batch in different orders (text keys under different collations) and `getMulti` returns the cache's hits
 * in no particular order. A sum, unlike XOR, does not cancel out duplicated rows; the count makes a missing
 * row visible even in the astronomically unlikely case that the sums agree. Digests of disjoint parts combine
 * by {@link RowDigest.addDigest}, so chunk digests add up to a table digest.
 */
export class RowDigest {
  // five 32-bit limbs, most significant first, each kept below 2^32 after every add
  private readonly limbs = [0, 0, 0, 0, 0];
  private rows = 0;

  get count(): number {
    return this.rows;
  }

  add(hash: string): this {
    if (hash.length !== ROW_HASH_HEX_LENGTH) throw new TypeError(`not a row hash: ${JSON.stringify(hash)}`);
    this.addLimbs(hash, 1);
    return this;
  }

  /** Adds the rows of another digest (from {@link digest}). */
  addDigest(digest: string): this {
    const colon = digest.indexOf(':');
    const count = Number(digest.slice(0, colon));
    const sum = digest.slice(colon + 1);
    if (colon < 1 || !Number.isSafeInteger(count) || sum.length !== ROW_HASH_HEX_LENGTH) {
      throw new TypeError(`not a row digest: ${JSON.stringify(digest)}`);
    }
    this.addLimbs(sum, count);
    return this;
  }

  /** `<count>:<40 hex>`; equal multisets of row hashes give equal digests. */
  digest(): string {
    return this.rows + ':' + this.limbs.map((l) => l.toString(16).padStart(8, '0')).join('');
  }

  private addLimbs(hex: string, rows: number): void {
    let carry = 0;
    for (let i = 4; i >= 0; i--) {
      const part = Number('0x' + hex.slice(i * 8, i * 8 + 8));
      if (Number.isNaN(part)) throw new TypeError(`not hexadecimal: ${JSON.stringify(hex)}`);
      const sum = this.limbs[i]! + part + carry;
      carry = sum >= 0x1_0000_0000 ? 1 : 0;
      this.limbs[i] = sum - carry * 0x1_0000_0000;
    }
    this.rows += rows;
  }
}

/** The order-independent digest of a batch's row hashes (see {@link RowDigest}). */
export function batchDigest(hashes: readonly string[]): string {
  const digest = new RowDigest();
  for (const hash of hashes) digest.add(hash);
  return digest.digest();
}
