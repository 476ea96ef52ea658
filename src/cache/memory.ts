/**
 * An in-process cache with memcached's semantics, for trying the tool (`npm run demo`) and for plans whose
 * cache is not a shared one. It is NOT shared with any application: its entries live in this process and are
 * gone when the run ends. Warming it proves the cache path (keys, values, read-through, checks) and nothing
 * more; to warm the cache your application reads, use `driver: memcached`.
 *
 * What it replicates of memcached:
 * - keys of 1..250 bytes without whitespace or control characters; other keys are refused (`failed`);
 * - an item size limit (key + value + per-item overhead, 1 MiB like memcached's `-I` default); larger items
 *   are refused (`failed`), never truncated;
 * - `add` stores only where the key has no live value (`existed` otherwise), `set` overwrites;
 * - TTL in seconds, 0 = never expires. The Cache interface's TTL is always a duration: memcached's protocol
 *   rule that an expiry over 30 days is an absolute Unix time is a wire detail, which `memcached/frames.ts`
 *   handles (`expiresField`) so that memcached, too, keeps the entry for the duration. Expiry is checked on access;
 * - a memory limit (64 MiB like memcached's `-m` default) with least-recently-used eviction.
 */
import { checkEntries, fillEntries, type ItemsGot, type ItemsStored, type PackStore } from './bulk.js';
import type { Cache, CacheEntry, CheckResult, FillResult, GetResult, StoreResult } from './cache.js';
import type { PackedEntries, PackIndex } from './entry-pack.js';
import { ONE_SERVER } from './placement.js';

export interface MemoryCacheOptions {
  /** Largest item (key + value + overhead), like memcached's `-I`. Default 1 MiB. */
  maxItemBytes?: number;
  /** Memory for items before the least recently used are evicted, like memcached's `-m`. Default 64 MiB. */
  maxBytes?: number;
  /** The clock, in milliseconds (tests inject one). Default `Date.now`. */
  now?: () => number;
}

export const MEMORY_DEFAULT_ITEM_BYTES = 1024 * 1024;
const MEMORY_DEFAULT_BYTES = 64 * 1024 * 1024;
/** memcached's item header, CAS and suffix, roughly: counted per item against both limits. */
export const ITEM_OVERHEAD_BYTES = 56;
export const MAX_KEY_BYTES = 250;

const BAD_KEY_CHAR = /[\s\x00-\x1f\x7f]/;

interface Item {
  value: Buffer;
  /** Milliseconds since the epoch; Infinity = never. */
  expiresAt: number;
  size: number;
}

export interface MemoryCacheStats {
  items: number;
  bytes: number;
  evictions: number;
}

export class MemoryCache implements Cache, PackStore {
  readonly description = 'in-process memory cache (not shared with any application)';
  readonly placement = ONE_SERVER;
  private readonly maxItemBytes: number;
  private readonly maxBytes: number;
  private readonly now: () => number;
  /** In recency order: the first entry is the least recently used. */
  private readonly items = new Map<string, Item>();
  private bytes = 0;
  private evictions = 0;

  constructor(options: MemoryCacheOptions = {}) {
    this.maxItemBytes = options.maxItemBytes ?? MEMORY_DEFAULT_ITEM_BYTES;
    this.maxBytes = Math.max(options.maxBytes ?? MEMORY_DEFAULT_BYTES, this.maxItemBytes);
    this.now = options.now ?? Date.now;
  }

  /** Whether memcached would accept the key. */
  static validKey(key: string): boolean {
    if (key.length === 0 || BAD_KEY_CHAR.test(key)) return false;
    return key.length * 3 <= MAX_KEY_BYTES || Buffer.byteLength(key) <= MAX_KEY_BYTES;
  }

  async get(keys: readonly string[]): Promise<GetResult> {
    const result: GetResult = { hits: new Map(), failed: [] };
    const now = this.now();
    for (const key of keys) {
      const value = this.read(key, now);
      if (value === null) result.failed.push(key);
      else if (value !== undefined) result.hits.set(key, value);
    }
    return result;
  }

  async store(entries: readonly CacheEntry[], mode: 'add' | 'set'): Promise<StoreResult> {
    const result: StoreResult = { stored: 0, existed: 0, existedKeys: [], failed: [] };
    const now = this.now();
    for (const { key, value, ttl } of entries) {
      const outcome = this.write(key, value, ttl, mode, now);
      if (outcome === 'stored') result.stored++;
      else if (outcome === 'existed') {
        result.existed++;
        result.existedKeys.push(key);
      } else result.failed.push(key);
    }
    return result;
  }

  async getItems(pack: PackIndex, _hashes: Uint32Array, items: ArrayLike<number>): Promise<ItemsGot> {
    const got: ItemsGot = { values: new Array(pack.count), failed: [] };
    const now = this.now();
    for (let p = 0; p < items.length; p++) {
      const item = items[p]!;
      const value = this.read(pack.key(item), now);
      if (value === null) got.failed.push(item);
      else got.values[item] = value;
    }
    return got;
  }

  async storeItems(
    pack: PackIndex,
    _hashes: Uint32Array,
    items: ArrayLike<number>,
    mode: 'add' | 'set',
  ): Promise<ItemsStored> {
    const result: ItemsStored = { stored: 0, existed: [], failed: [] };
    const now = this.now();
    for (let p = 0; p < items.length; p++) {
      const item = items[p]!;
      const outcome = this.write(pack.key(item), pack.value(item), pack.ttl(item), mode, now);
      if (outcome === 'stored') result.stored++;
      else if (outcome === 'existed') result.existed.push(item);
      else result.failed.push(item);
    }
    return result;
  }

  stats(): MemoryCacheStats {
    return { items: this.items.size, bytes: this.bytes, evictions: this.evictions };
  }

  fill(entries: PackedEntries, mode: 'add' | 'set'): Promise<FillResult> {
    return fillEntries(this, entries, mode);
  }

  check(entries: PackedEntries): Promise<CheckResult> {
    return checkEntries(this, entries);
  }

  async close(): Promise<void> {
    this.items.clear();
    this.bytes = 0;
  }

  /** The key's value (now the most recently used), undefined on a miss, null for a key memcached would refuse. */
  private read(key: string, now: number): Buffer | undefined | null {
    if (!MemoryCache.validKey(key)) return null;
    const item = this.live(key, now);
    if (!item) return undefined;
    this.items.delete(key);
    this.items.set(key, item);
    return item.value;
  }

  private write(
    key: string,
    value: Buffer,
    ttl: number,
    mode: 'add' | 'set',
    now: number,
  ): 'stored' | 'existed' | 'failed' {
    const size = Buffer.byteLength(key) + value.length + ITEM_OVERHEAD_BYTES;
    if (!MemoryCache.validKey(key) || size > this.maxItemBytes) return 'failed';
    if (mode === 'add' && this.live(key, now)) return 'existed';
    this.remove(key);
    // A copy: the caller's buffer may be reused, as memcached holds its own bytes.
    this.items.set(key, { value: Buffer.from(value), expiresAt: expiresAt(ttl, now), size });
    this.bytes += size;
    this.evict();
    return 'stored';
  }

  /** The key's item unless it has expired (an expired item is dropped, as memcached does on access). */
  private live(key: string, now: number): Item | undefined {
    const item = this.items.get(key);
    if (item && item.expiresAt <= now) {
      this.remove(key);
      return undefined;
    }
    return item;
  }

  private remove(key: string): void {
    const item = this.items.get(key);
    if (!item) return;
    this.items.delete(key);
    this.bytes -= item.size;
  }

  private evict(): void {
    for (const [key] of this.items) {
      if (this.bytes <= this.maxBytes) return;
      this.remove(key);
      this.evictions++;
    }
  }
}

/** TTL seconds -> expiry time in ms; 0 = never; negative = already expired (memcached's reading). */
function expiresAt(ttl: number, now: number): number {
  if (ttl === 0) return Number.POSITIVE_INFINITY;
  return ttl > 0 ? now + Math.ceil(ttl) * 1000 : now;
}
