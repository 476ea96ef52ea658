/**
 * Which server of the list holds a key, from the key as a string or straight from its UTF-8 bytes in a
 * packed batch (the same server either way). A placement works from a 32-bit hash of the key, which a batch
 * also finds its repeated keys by (distinct-keys.ts): one hash per entry serves both.
 */
import type { PackIndex } from './entry-pack.js';
import { type KetamaRing, ketamaKeyHash, ketamaKeyHashOfBytes } from './ketama.js';

export interface KeyPlacement {
  /** The key's hash: equal keys, equal hashes. */
  hash(key: string): number;
  /** `hash` of the key whose UTF-8 is `bytes[start..end)`. */
  hashBytes(bytes: Buffer, start: number, end: number): number;
  /** The index (in the server list's order) of the server holding the keys of this hash. */
  serverFor(hash: number): number;
}

/** Ketama consistent hashing (ketama.ts): the hash is the key's position on the continuum. */
export class KetamaPlacement implements KeyPlacement {
  constructor(private readonly ring: KetamaRing) {}

  hash(key: string): number {
    return ketamaKeyHash(key);
  }

  hashBytes(bytes: Buffer, start: number, end: number): number {
    return ketamaKeyHashOfBytes(bytes, start, end);
  }

  serverFor(hash: number): number {
    return this.ring.serverIndexForHash(hash);
  }
}

/**
 * memjs' own placement, `hashCode(key) % N`, where hashCode is Java's String.hashCode over the key's UTF-16
 * code units, made non-negative (memjs' utils.hashCode). With one server every key goes to it, whatever the
 * distribution; the hash then serves the dedupe alone, for a fraction of an MD5's cost.
 */
export class ModulaPlacement implements KeyPlacement {
  constructor(private readonly servers: number) {}

  hash(key: string): number {
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (Math.imul(31, h) + key.charCodeAt(i)) | 0;
    return Math.abs(h);
  }

  hashBytes(bytes: Buffer, start: number, end: number): number {
    let h = 0;
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      // Past ASCII, UTF-8 bytes are not the UTF-16 code units memjs hashes: hash the key as memjs sees it.
      if (b >= 0x80) return this.hash(bytes.toString('utf8', start, end));
      h = (Math.imul(31, h) + b) | 0;
    }
    return Math.abs(h);
  }

  serverFor(hash: number): number {
    return hash % this.servers;
  }
}

/** Every key on one server (an in-process cache, a one-server list). */
export const ONE_SERVER: KeyPlacement = new ModulaPlacement(1);

/** The placement hash of every entry's key. */
export function keyHashes(pack: PackIndex, placement: KeyPlacement): Uint32Array {
  const hashes = new Uint32Array(pack.count);
  for (let i = 0; i < pack.count; i++)
    hashes[i] = placement.hashBytes(pack.buf, pack.keyStart(i), pack.keyEnd(i));
  return hashes;
}
