/**
 * `fill` and `check` of a packed batch, in terms of a cache's store and get of a pack's entries (every
 * cache implements them this way; the memcached one does it on its worker thread). Entries are handled by
 * number, straight from the pack's bytes: a key becomes a string only where it is reported.
 */
import type { CheckResult, FillResult } from './cache.js';
import { distinctKeys } from './distinct-keys.js';
import { type PackedEntries, PackIndex } from './entry-pack.js';
import { type KeyPlacement, keyHashes } from './placement.js';

/** What `fill` and `check` need of a cache. `hashes` are the entries' key hashes by its `placement`. */
export interface PackStore {
  readonly placement: KeyPlacement;
  /** Stores the entries numbered `items` (`add` or `set`). */
  storeItems(
    pack: PackIndex,
    hashes: Uint32Array,
    items: ArrayLike<number>,
    mode: 'add' | 'set',
  ): Promise<ItemsStored>;
  /** Reads the keys of the entries numbered `items`. */
  getItems(pack: PackIndex, hashes: Uint32Array, items: ArrayLike<number>): Promise<ItemsGot>;
}

/** `StoreResult` by entry number. */
export interface ItemsStored {
  stored: number;
  /** `add` only: the entries whose key already had a value (left alone). */
  existed: number[];
  /** Entries not stored: refused, or their server failed after retries. */
  failed: number[];
}

/** `GetResult` by entry number. */
export interface ItemsGot {
  /** Per entry number: the value found for its key; undefined for a miss, a failure or an entry not asked. */
  values: (Buffer | undefined)[];
  /** Entries whose server could not answer after retries. */
  failed: number[];
}

/** The pack's entries with their key hashes, and its distinct keys. */
function prepare(cache: PackStore, entries: PackedEntries) {
  const pack = new PackIndex(entries);
  const hashes = keyHashes(pack, cache.placement);
  return { pack, hashes, ...distinctKeys(pack, hashes) };
}

/** Whether `value` is the one packed for entry `item`'s key, or one of its further ones (`next` chain). */
function matches(pack: PackIndex, value: Buffer, item: number, next: Int32Array | null): boolean {
  if (pack.valueIs(item, value)) return true;
  if (next === null) return false;
  for (let j = next[item]!; j >= 0; j = next[j]!) if (pack.valueIs(j, value)) return true;
  return false;
}

export async function fillEntries(
  cache: PackStore,
  entries: PackedEntries,
  mode: 'add' | 'set',
): Promise<FillResult> {
  const { pack, hashes, first, next } = prepare(cache, entries);
  const stored = await cache.storeItems(pack, hashes, first, mode);
  const result: FillResult = {
    stored: stored.stored,
    same: 0,
    different: [],
    failed: stored.failed.map((i) => pack.key(i)),
  };
  if (stored.existed.length === 0) return result;
  const got = await cache.getItems(pack, hashes, stored.existed);
  for (const item of stored.existed) {
    const value = got.values[item];
    // Gone again between the add and the get (evicted, expired, deleted): the application's next read
    // loads it; nothing wrong is cached.
    if (value === undefined) continue;
    if (matches(pack, value, item, next)) result.same++;
    else result.different.push(pack.key(item));
  }
  for (const item of got.failed) result.failed.push(pack.key(item));
  return result;
}

export async function checkEntries(cache: PackStore, entries: PackedEntries): Promise<CheckResult> {
  const { pack, hashes, first, next } = prepare(cache, entries);
  const got = await cache.getItems(pack, hashes, first);
  const result: CheckResult = { same: 0, missing: [], different: [], failed: [] };
  const failed = new Uint8Array(pack.count);
  for (const item of got.failed) {
    failed[item] = 1;
    result.failed.push(pack.key(item));
  }
  for (const item of first) {
    if (failed[item] === 1) continue;
    const value = got.values[item];
    if (value === undefined) result.missing.push(pack.key(item));
    else if (matches(pack, value, item, next)) result.same++;
    else result.different.push(pack.key(item));
  }
  return result;
}
