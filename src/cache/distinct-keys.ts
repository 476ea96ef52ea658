/**
 * The distinct keys of a packed batch, found from the key bytes: an open-addressing table of entry numbers,
 * probed by each key's placement hash (computed for every entry anyway), with the bytes compared only where
 * two hashes are equal. A `Set` of key strings would make a string per entry and hash it once more.
 */
import type { PackIndex } from './entry-pack.js';

export interface DistinctKeys {
  /** The first entry of each key, in pack order: the one stored. */
  first: Int32Array;
  /**
   * Per entry, the next entry packed with the same key (-1: none): from each first entry, a chain through
   * the further values of its key, accepted too when the key's value is compared. Null when no key repeats.
   */
  next: Int32Array | null;
}

/** The smallest table; also keeps the shift below 32 (a shift by 32 is a shift by 0 in JavaScript). */
const MIN_SLOTS = 16;
/** 2^32 / golden ratio: spreads hashes that differ only in their low bits (memjs' hash of "key:1", "key:2"). */
const FIBONACCI = 0x9e3779b1;

/** Entry number + 1 per slot (0: empty). Reused from batch to batch: the worker handles one at a time. */
let slots = new Int32Array(MIN_SLOTS);

/** `hashes[i]` is entry i's key hash: equal keys must have equal hashes. */
export function distinctKeys(pack: PackIndex, hashes: Uint32Array): DistinctKeys {
  const count = pack.count;
  // At most half full: probe sequences stay short.
  let size = MIN_SLOTS;
  while (size < 2 * count) size *= 2;
  if (slots.length < size) slots = new Int32Array(size);
  else slots.fill(0, 0, size);
  const table = slots;
  const mask = size - 1;
  const shift = Math.clz32(size) + 1;

  const first = new Int32Array(count);
  let distinct = 0;
  let next: Int32Array | null = null;
  for (let i = 0; i < count; i++) {
    const hash = hashes[i]!;
    let slot = Math.imul(hash, FIBONACCI) >>> shift;
    for (;;) {
      const seen = table[slot]! - 1;
      if (seen < 0) {
        table[slot] = i + 1;
        first[distinct++] = i;
        break;
      }
      if (hashes[seen] === hash && pack.sameKey(seen, i)) {
        next ??= new Int32Array(count).fill(-1);
        next[i] = next[seen]!;
        next[seen] = i;
        break;
      }
      slot = (slot + 1) & mask;
    }
  }
  return { first: first.subarray(0, distinct), next };
}
