// Packed cache batches: what goes in comes out (keys, text and byte values, TTLs), across buffer growth,
// with `undo` taking back exactly the last entry; the index of a pack finds every entry's bytes.
import { describe, expect, it } from 'vitest';
import { EntryPackBuilder, PackIndex, packEntries, unpackEntries } from '../../src/cache/entry-pack.js';

describe('EntryPackBuilder', () => {
  it('round-trips keys, UTF-8 text values, byte values and TTLs, growing past its first buffer', () => {
    const b = new EntryPackBuilder(1024);
    const want: { key: string; value: Buffer; ttl: number }[] = [];
    for (let i = 0; i < 3000; i++) {
      const key = [`order:${i}`, `order:${i}:ключ`, `long:${i}:${'k'.repeat(90)}`, `order:${i}😀`][i % 4]!;
      const text = i % 3 === 0 ? `{"note":"é\\t\\"q\\" ${'x'.repeat(i % 50)}","emoji":"😀"}` : null;
      const bytes = Buffer.from([i & 255, 0, 255, (i >> 8) & 255]);
      const ttl = [0, 600, 2_592_001, -1, 1.5][i % 5]!;
      const size = b.add(key, text ?? bytes, ttl);
      const value = text === null ? bytes : Buffer.from(text, 'utf8');
      expect(size).toBe(value.length);
      want.push({ key, value, ttl });
    }
    expect(b.count).toBe(3000);
    const pack = b.finish();
    // The pack owns its whole ArrayBuffer from offset 0 (so it can be transferred).
    expect(pack.bytes.byteOffset).toBe(0);
    const got = unpackEntries(pack);
    expect(got.map((e) => ({ key: e.key, value: Buffer.from(e.value), ttl: e.ttl }))).toEqual(want);
  });

  it('undo takes back the last entry only', () => {
    const b = new EntryPackBuilder();
    b.add('a', 'one', 1);
    b.add('b', 'two-too-large', 2);
    b.undo();
    b.add('c', Buffer.from('three'), 3);
    expect(() => {
      b.undo();
      b.undo();
    }).toThrow(/nothing to take back/);
    b.add('d', '', 4);
    const got = unpackEntries(b.finish());
    expect(got.map((e) => [e.key, e.value.toString(), e.ttl])).toEqual([
      ['a', 'one', 1],
      ['d', '', 4],
    ]);
  });

  it('packEntries packs entry objects; a damaged pack is refused', () => {
    const pack = packEntries([
      { key: 'k1', value: Buffer.from('v1'), ttl: 10 },
      { key: 'k2', value: Buffer.alloc(0), ttl: 0 },
    ]);
    expect(unpackEntries(pack).map((e) => [e.key, e.value.toString()])).toEqual([
      ['k1', 'v1'],
      ['k2', ''],
    ]);
    expect(() => unpackEntries({ bytes: pack.bytes.subarray(0, pack.bytes.length - 1), count: 2 })).toThrow();
    expect(() => unpackEntries({ bytes: pack.bytes, count: 1 })).toThrow(/malformed/);
  });
});

describe('PackIndex', () => {
  it("finds each entry's key, value and TTL bytes in place", () => {
    const entries = [
      { key: 'order:1', value: Buffer.from('{"id":1}'), ttl: 600 },
      { key: 'ключ:2', value: Buffer.alloc(0), ttl: 0 },
      { key: '', value: Buffer.from([0, 255, 10]), ttl: -1 },
      { key: 'order:1', value: Buffer.from('{"id":1,"v":2}'), ttl: 2_592_001.5 },
    ];
    const pack = packEntries(entries);
    const index = new PackIndex(pack);
    expect(index.count).toBe(4);
    // A view of the pack's own bytes, not a copy.
    expect(index.buf.buffer).toBe(pack.bytes.buffer);
    for (const [i, e] of entries.entries()) {
      expect(index.key(i)).toBe(e.key);
      expect(index.keyEnd(i) - index.keyStart(i)).toBe(Buffer.byteLength(e.key));
      expect(index.value(i)).toEqual(e.value);
      expect(index.valueEnd(i) - index.keyEnd(i)).toBe(e.value.length);
      expect(index.ttl(i)).toBe(e.ttl);
      expect(index.valueIs(i, e.value)).toBe(true);
    }
    expect(index.sameKey(0, 3)).toBe(true);
    expect(index.sameKey(0, 1)).toBe(false);
    expect(index.sameKey(2, 2)).toBe(true);
    expect(index.valueIs(0, entries[3]!.value)).toBe(false);
    expect(index.valueIs(0, Buffer.from('{"id":2}'))).toBe(false);
    expect(index.valueIs(1, Buffer.from('x'))).toBe(false);
    expect(unpackEntries(pack)).toEqual(entries);
  });

  it('keys of the same length that differ in one byte are different keys', () => {
    const index = new PackIndex(
      packEntries([
        { key: 'k:1000', value: Buffer.from('a'), ttl: 0 },
        { key: 'k:1001', value: Buffer.from('a'), ttl: 0 },
        { key: 'k:100', value: Buffer.from('a'), ttl: 0 },
      ]),
    );
    expect(index.sameKey(0, 1)).toBe(false);
    expect(index.sameKey(0, 2)).toBe(false);
  });

  it('reads a pack within a larger buffer, and refuses a malformed one', () => {
    const pack = packEntries([
      { key: 'a', value: Buffer.from('1'), ttl: 5 },
      { key: 'b', value: Buffer.from('22'), ttl: 6 },
    ]);
    const larger = new Uint8Array(pack.bytes.length + 10);
    larger.set(pack.bytes, 3);
    const index = new PackIndex({ bytes: larger.subarray(3, 3 + pack.bytes.length), count: 2 });
    expect([index.key(1), index.value(1).toString(), index.ttl(1)]).toEqual(['b', '22', 6]);

    expect(() => new PackIndex({ bytes: pack.bytes, count: 1 })).toThrow(/malformed/);
    expect(() => new PackIndex({ bytes: pack.bytes, count: 3 })).toThrow(RangeError);
    expect(() => new PackIndex({ bytes: pack.bytes.subarray(0, pack.bytes.length - 1), count: 2 })).toThrow(
      /malformed/,
    );
    expect(new PackIndex({ bytes: new Uint8Array(0), count: 0 }).count).toBe(0);
  });
});
