// Packed cache batches: what goes in comes out (keys, text and byte values, TTLs), across buffer growth,
// with `undo` taking back exactly the last entry.
import { describe, expect, it } from 'vitest';
import { EntryPackBuilder, packEntries, unpackEntries } from '../../src/cache/entry-pack.js';

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
