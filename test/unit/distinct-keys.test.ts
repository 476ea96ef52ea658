// The distinct keys of a pack, found from its bytes by hash, must be what a Set of key strings finds: the
// first entry of each key in pack order, and every further entry of a key as one of its alternatives, also
// when hashes collide (forced here: equal hashes for different keys).

import { describe, expect, it } from 'vitest';
import { distinctKeys } from '../../src/cache/distinct-keys.js';
import { EntryPackBuilder, PackIndex } from '../../src/cache/entry-pack.js';
import { KetamaRing } from '../../src/cache/ketama.js';
import { KetamaPlacement, keyHashes, ModulaPlacement } from '../../src/cache/placement.js';
import { seeded } from '../helpers/random.js';

function packOf(keys: readonly string[]): PackIndex {
  const b = new EntryPackBuilder();
  for (const [i, key] of keys.entries()) b.add(key, `v${i}`, 0);
  return new PackIndex(b.finish());
}

/** The string way: first entry of each key, and the further entries per first entry. */
function reference(keys: readonly string[]): { first: number[]; more: Map<number, number[]> } {
  const firstOf = new Map<string, number>();
  const first: number[] = [];
  const more = new Map<number, number[]>();
  for (const [i, key] of keys.entries()) {
    const f = firstOf.get(key);
    if (f === undefined) {
      firstOf.set(key, i);
      first.push(i);
    } else more.set(f, [...(more.get(f) ?? []), i]);
  }
  return { first, more };
}

/** distinctKeys' answer in the reference's form (a chain's order is not part of the contract). */
function found(pack: PackIndex, hashes: Uint32Array): { first: number[]; more: Map<number, number[]> } {
  const { first, next } = distinctKeys(pack, hashes);
  const more = new Map<number, number[]>();
  for (const f of first) {
    const chain: number[] = [];
    for (let j = next?.[f] ?? -1; j >= 0; j = next?.[j] ?? -1) chain.push(j);
    if (chain.length > 0)
      more.set(
        f,
        chain.sort((a, b) => a - b),
      );
  }
  return { first: Array.from(first), more };
}

/** Keys drawn from a pool of `distinct`, so that many repeat. */
function repeatingKeys(count: number, distinct: number): string[] {
  const rand = seeded(5);
  return Array.from(
    { length: count },
    () => `prefix:order:${rand() % distinct}${rand() % 7 === 0 ? 'é' : ''}`,
  );
}

describe('distinctKeys', () => {
  it('finds what a Set of the key strings finds, with ketama and modula hashes', () => {
    const keys = repeatingKeys(6000, 2500);
    const pack = packOf(keys);
    const want = reference(keys);
    expect(want.more.size).toBeGreaterThan(500);
    const ring = new KetamaRing(['10.0.0.1:11211', '10.0.0.2:11211', '10.0.0.3:11211']);
    for (const placement of [new KetamaPlacement(ring), new ModulaPlacement(3)]) {
      expect(found(pack, keyHashes(pack, placement))).toEqual(want);
    }
  });

  it('compares the bytes where hashes collide: every hash equal, or a few values for many keys', () => {
    const keys = repeatingKeys(800, 300);
    const pack = packOf(keys);
    const want = reference(keys);
    expect(found(pack, new Uint32Array(keys.length))).toEqual(want);
    expect(
      found(
        pack,
        Uint32Array.from(keys, (key) => key.length % 3),
      ),
    ).toEqual(want);
    // Keys that differ only in their last byte, all with one hash.
    const near = ['k:1', 'k:2', 'k:1', 'k:3', 'k:2', 'k:', 'k:1'];
    expect(found(packOf(near), new Uint32Array(near.length).fill(0xffffffff))).toEqual(reference(near));
  });

  it('reports no chains when no key repeats, and handles an empty pack', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `k:${i}`);
    const pack = packOf(keys);
    const { first, next } = distinctKeys(pack, keyHashes(pack, new ModulaPlacement(2)));
    expect(Array.from(first)).toEqual(keys.map((_, i) => i));
    expect(next).toBeNull();
    const empty = packOf([]);
    expect(Array.from(distinctKeys(empty, new Uint32Array(0)).first)).toEqual([]);
  });

  it('starts each batch from an empty table (the table is reused: a smaller batch after a larger one)', () => {
    const large = repeatingKeys(5000, 4000);
    const largePack = packOf(large);
    found(largePack, keyHashes(largePack, new ModulaPlacement(2)));
    const small = ['a', 'b', 'a'];
    expect(found(packOf(small), new Uint32Array(3))).toEqual(reference(small));
    expect(found(largePack, new Uint32Array(large.length).fill(7))).toEqual(reference(large));
  });
});
