// Key placement from a key's bytes in a pack must name the same server as from the key string: ketama
// (the ring's MD5 word) and modula (memjs' own hashCode % N, over UTF-16 code units, also past ASCII).
// A lone surrogate cannot be packed (UTF-8 has no form for it): a pack holds U+FFFD in its place.
import memjs from 'memjs';
import { describe, expect, it } from 'vitest';
import { EntryPackBuilder, PackIndex } from '../../src/cache/entry-pack.js';
import { KetamaRing, ketamaKeyHash, ketamaKeyHashOfBytes } from '../../src/cache/ketama.js';
import {
  KetamaPlacement,
  type KeyPlacement,
  keyHashes,
  ModulaPlacement,
  ONE_SERVER,
} from '../../src/cache/placement.js';
import { randomKey, seeded } from '../helpers/random.js';

const SERVERS = ['10.0.0.1:11211', '10.0.0.2:11211', '10.0.0.3:11211', '10.0.0.4:11212', '10.0.0.5:11211'];

/** Keys like the application's, plus random ASCII and non-ASCII ones (2-, 3- and 4-byte UTF-8). */
function sampleKeys(count: number): string[] {
  const rand = seeded(99);
  const keys: string[] = [];
  for (let k = 0; k < count; k++) keys.push(k % 2 === 0 ? `prefix:order:${100000 + k}` : randomKey(rand, 61));
  return keys;
}

function packOf(keys: readonly string[]): PackIndex {
  const b = new EntryPackBuilder();
  for (const key of keys) b.add(key, `value of ${key}`, 0);
  return new PackIndex(b.finish());
}

/** The server of each key placed from its string, and from its bytes in a pack. */
function bothWays(
  placement: KeyPlacement,
  keys: readonly string[],
): { fromStrings: number[]; fromBytes: number[] } {
  const pack = packOf(keys);
  const hashes = keyHashes(pack, placement);
  return {
    fromStrings: keys.map((key) => placement.serverFor(placement.hash(key))),
    fromBytes: Array.from(hashes, (hash) => placement.serverFor(hash)),
  };
}

describe('placement from key bytes', () => {
  const keys = sampleKeys(20_000);

  it('ketama: the hash of the bytes is the ring hash of the string, and the server the ring names', () => {
    const ring = new KetamaRing(SERVERS);
    const placement = new KetamaPlacement(ring);
    const pack = packOf(keys);
    for (const [i, key] of keys.entries()) {
      expect(ketamaKeyHashOfBytes(pack.buf, pack.keyStart(i), pack.keyEnd(i)), key).toBe(ketamaKeyHash(key));
    }
    const { fromStrings, fromBytes } = bothWays(placement, keys);
    expect(fromBytes).toEqual(fromStrings);
    expect(fromStrings).toEqual(keys.map((key) => ring.serverIndexFor(key)));
    expect(new Set(fromBytes).size).toBe(SERVERS.length);
  });

  it("modula: memjs' hashCode % N from the string and from the bytes, for every server count", () => {
    for (const n of [2, 3, 5, 7]) {
      const { fromStrings, fromBytes } = bothWays(new ModulaPlacement(n), keys);
      expect(fromBytes, `${n} servers`).toEqual(fromStrings);
      expect(fromStrings, `${n} servers`).toEqual(keys.map((key) => memjs.Utils.hashCode(key) % n));
    }
  });

  it('modula: the hash equals memjs hashCode, including at the int32 extremes', () => {
    const placement = new ModulaPlacement(3);
    // Strings whose Java hash is Integer.MIN_VALUE (Math.abs keeps it 2^31) or near it.
    const edge = ['polygenelubricants', 'GydZG_', 'DESIGNING WORKHOUSES', ''];
    for (const key of [...edge, ...keys.slice(0, 2000)]) {
      expect(placement.hash(key), key).toBe(memjs.Utils.hashCode(key));
    }
    const pack = packOf(edge);
    expect(Array.from(keyHashes(pack, placement))).toEqual(edge.map((key) => memjs.Utils.hashCode(key)));
  });

  it('places a key with a lone surrogate as its packed form, with U+FFFD in its place', () => {
    const lone = ['a\ud800b', 'x\udc00', '\ud83d'];
    const packed = lone.map((key) => Buffer.from(key, 'utf8').toString());
    expect(packed).toEqual(['a\ufffdb', 'x\ufffd', '\ufffd']);
    for (const placement of [new ModulaPlacement(5), new KetamaPlacement(new KetamaRing(SERVERS))]) {
      const hashes = Array.from(keyHashes(packOf(lone), placement));
      expect(hashes).toEqual(packed.map((key) => placement.hash(key)));
    }
  });

  it('one server: every key on server 0', () => {
    const { fromStrings, fromBytes } = bothWays(ONE_SERVER, keys.slice(0, 500));
    expect(new Set([...fromStrings, ...fromBytes])).toEqual(new Set([0]));
  });
});
