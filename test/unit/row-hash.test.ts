import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rowJsonEncoder } from '../../src/convert/row-json.js';
import type { Column, ColumnKind, Row } from '../../src/convert/value.js';
import {
  batchDigest,
  hashCanonical,
  ROW_HASH_ALGORITHM,
  ROW_HASH_HEX_LENGTH,
  RowDigest,
  rowHasher,
} from '../../src/verify/row-hash.js';

function col(name: string, kind: ColumnKind): Column {
  return { name, kind, dbType: kind, nullable: true };
}

describe('rowHasher', () => {
  it('hashes the canonical row JSON: equal to hashing the json cache value', () => {
    const cols = [col('id', 'int'), col('name', 'text')];
    const row: Row = ['7', 'é😀'];
    const hash = rowHasher(cols)(row);
    expect(hash).toMatch(new RegExp(`^[0-9a-f]{${ROW_HASH_HEX_LENGTH}}$`));
    const json = rowJsonEncoder(cols)(row);
    expect(hash).toBe(createHash(ROW_HASH_ALGORITHM).update(json, 'utf8').digest('hex'));
    expect(hashCanonical(Buffer.from(json, 'utf8'))).toBe(hash);
    expect(hashCanonical(json)).toBe(hash);
  });

  it('keeps NULL, empty string and the text "null" apart', () => {
    const hash = rowHasher([col('t', 'text')]);
    const hashes = new Set([hash([null]), hash(['']), hash(['null'])]);
    expect(hashes.size).toBe(3);
    const bytes = rowHasher([col('b', 'bytes')]);
    expect(bytes([null])).not.toBe(bytes([Buffer.alloc(0)]));
    const json = rowHasher([col('j', 'json')]);
    // SQL NULL vs the JSON value null: both embed as `null` in the row JSON, the hash still tells them apart
    expect(json([null])).not.toBe(json(['null']));
    expect(json(['null'])).not.toBe(json(['"null"']));
    const two = rowHasher([col('a', 'json'), col('n', 'int'), col('b', 'json')]);
    const variants: Row[] = [
      [null, '1', 'null'],
      ['null', '1', null],
      [null, '1', null],
      ['null', '1', 'null'],
    ];
    expect(new Set(variants.map(two)).size).toBe(4);
    // equal JSON documents still hash alike
    expect(two(['{"x": 1.0}', '1', null])).toBe(two(['{"x":1}', '+1', null]));
  });

  it('is the hash of the row JSON plus the SQL NULL flags of json columns', () => {
    const cols = [col('id', 'int'), col('doc', 'json')];
    const row: Row = ['1', '{"a": 1}'];
    const expected = createHash(ROW_HASH_ALGORITHM).update('{"id":1,"doc":{"a":1}}\n0').digest('hex');
    expect(rowHasher(cols)(row)).toBe(expected);
  });

  it('does not confuse values moved between columns', () => {
    const hash = rowHasher([col('a', 'text'), col('b', 'text')]);
    const rows: Row[] = [
      ['ab', ''],
      ['a', 'b'],
      ['', 'ab'],
      ['a,"b":"', ''],
      ['a', null],
      [null, 'a'],
      ['a","b":"b', null],
    ];
    expect(new Set(rows.map(hash)).size).toBe(rows.length);
  });

  it('hashes equal data from different databases alike', () => {
    const cols = [
      col('id', 'int'),
      col('price', 'decimal'),
      col('paid', 'bool'),
      col('at', 'timestamptz'),
      col('meta', 'json'),
    ];
    const hash = rowHasher(cols);
    // as MySQL (session in UTC) and PostgreSQL would hand them over
    const mysql: Row = ['42', '12.50', true, '2024-03-15 12:34:56.123400', '{"b": [1, 2], "a": 1.0}'];
    const pg: Row = ['42', '12.5', true, '2024-03-15 18:04:56.1234+05:30', '{"a": 1, "b": [1, 2]}'];
    expect(hash(mysql)).toBe(hash(pg));
    expect(hash(mysql)).not.toBe(
      hash(['42', '12.51', true, '2024-03-15 12:34:56.1234', '{"a":1,"b":[1,2]}']),
    );
  });

  it('distinguishes every single byte value', () => {
    const hash = rowHasher([col('b', 'bytes')]);
    const hashes = new Set(Array.from({ length: 256 }, (_, i) => hash([Buffer.from([i])])));
    expect(hashes.size).toBe(256);
  });
});

describe('batchDigest', () => {
  const hash = rowHasher([col('id', 'int')]);
  const hashes = ['1', '2', '3', '4'].map((id) => hash([id]));

  it('is order-independent', () => {
    expect(batchDigest(hashes)).toBe(batchDigest([...hashes].reverse()));
    expect(batchDigest(hashes)).toMatch(new RegExp(`^4:[0-9a-f]{${ROW_HASH_HEX_LENGTH}}$`));
  });

  it('sees a missing, extra, changed or duplicated row', () => {
    const base = batchDigest(hashes);
    expect(batchDigest(hashes.slice(1))).not.toBe(base);
    expect(batchDigest([...hashes, hash(['5'])])).not.toBe(base);
    expect(batchDigest([hashes[0]!, hashes[1]!, hashes[2]!, hash(['5'])])).not.toBe(base);
    // duplicates do not cancel out (as they would with XOR)
    const [a, b] = [hashes[0]!, hashes[1]!];
    expect(batchDigest([a, a, b, b])).not.toBe(batchDigest([]));
    expect(batchDigest([a, a])).not.toBe(batchDigest([b, b]));
  });

  it('is 0:0… for an empty batch', () => {
    expect(batchDigest([])).toBe('0:' + '0'.repeat(ROW_HASH_HEX_LENGTH));
  });

  it('sums modulo 2^160 with carries', () => {
    const max = 'f'.repeat(ROW_HASH_HEX_LENGTH);
    const one = '0'.repeat(ROW_HASH_HEX_LENGTH - 1) + '1';
    expect(batchDigest([max, one])).toBe('2:' + '0'.repeat(ROW_HASH_HEX_LENGTH));
    expect(batchDigest([max, max])).toBe('2:' + 'f'.repeat(ROW_HASH_HEX_LENGTH - 1) + 'e');
    const carry = '0000000' + 'f'.repeat(ROW_HASH_HEX_LENGTH - 7);
    const sum = (BigInt('0x' + carry) * 2n).toString(16).padStart(ROW_HASH_HEX_LENGTH, '0');
    expect(batchDigest([carry, carry])).toBe('2:' + sum);
  });

  it('combines digests of parts into the digest of the whole', () => {
    const whole = batchDigest(hashes);
    const combined = new RowDigest()
      .addDigest(batchDigest(hashes.slice(0, 1)))
      .addDigest(batchDigest(hashes.slice(1)))
      .digest();
    expect(combined).toBe(whole);
    const digest = new RowDigest();
    for (const h of hashes) digest.add(h);
    expect(digest.count).toBe(4);
    expect(digest.digest()).toBe(whole);
  });

  it('rejects what is not a row hash', () => {
    expect(() => batchDigest(['abc'])).toThrow(TypeError);
    expect(() => batchDigest(['z'.repeat(ROW_HASH_HEX_LENGTH)])).toThrow(TypeError);
    expect(() => new RowDigest().addDigest('nope')).toThrow(TypeError);
  });
});
