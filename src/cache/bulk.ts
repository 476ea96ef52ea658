/**
 * `fill` and `check` of a packed batch, in terms of a cache's `get` and `store` (every cache implements them
 * this way; the memcached one does it on its worker thread).
 */
import type { CacheEntry, CheckResult, FillResult, GetResult, StoreResult } from './cache.js';
import { type PackedEntries, unpackEntries } from './entry-pack.js';

export interface GetStore {
  get(keys: readonly string[]): Promise<GetResult>;
  store(entries: readonly CacheEntry[], mode: 'add' | 'set'): Promise<StoreResult>;
}

/** The first entry of each key, and every further value of a key packed more than once. */
function distinct(entries: CacheEntry[]): { first: CacheEntry[]; more: Map<string, Buffer[]> | null } {
  const seen = new Set<string>();
  const first: CacheEntry[] = [];
  let more: Map<string, Buffer[]> | null = null;
  for (const e of entries) {
    if (!seen.has(e.key)) {
      seen.add(e.key);
      first.push(e);
      continue;
    }
    more ??= new Map();
    const list = more.get(e.key);
    if (list) list.push(e.value);
    else more.set(e.key, [e.value]);
  }
  return { first, more };
}

function matches(value: Buffer, first: Buffer, others: Buffer[] | undefined): boolean {
  if (value.equals(first)) return true;
  return others?.some((v) => value.equals(v)) ?? false;
}

export async function fillEntries(
  cache: GetStore,
  pack: PackedEntries,
  mode: 'add' | 'set',
): Promise<FillResult> {
  const { first, more } = distinct(unpackEntries(pack));
  const stored = await cache.store(first, mode);
  const result: FillResult = { stored: stored.stored, same: 0, different: [], failed: stored.failed };
  if (stored.existedKeys.length === 0) return result;
  const got = await cache.get(stored.existedKeys);
  const wanted = new Map<string, Buffer>();
  for (const e of first) wanted.set(e.key, e.value);
  for (const key of stored.existedKeys) {
    const value = got.hits.get(key);
    // Gone again between the add and the get (evicted, expired, deleted): the application's next read
    // loads it; nothing wrong is cached.
    if (value === undefined) continue;
    if (matches(value, wanted.get(key)!, more?.get(key))) result.same++;
    else result.different.push(key);
  }
  for (const key of got.failed) result.failed.push(key);
  return result;
}

export async function checkEntries(cache: GetStore, pack: PackedEntries): Promise<CheckResult> {
  const { first, more } = distinct(unpackEntries(pack));
  const got = await cache.get(first.map((e) => e.key));
  const result: CheckResult = { same: 0, missing: [], different: [], failed: got.failed };
  const failed = got.failed.length ? new Set(got.failed) : null;
  for (const e of first) {
    if (failed?.has(e.key)) continue;
    const value = got.hits.get(e.key);
    if (value === undefined) result.missing.push(e.key);
    else if (matches(value, e.value, more?.get(e.key))) result.same++;
    else result.different.push(e.key);
  }
  return result;
}
