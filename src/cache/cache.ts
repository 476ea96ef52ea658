/**
 * What the engine needs of a cache cluster. `memcached/memcached-cache.ts` implements it over memjs; the
 * engine never imports memjs. Keys here are final (prefix applied, length-checked); values are bytes.
 */

import type { CacheEntry } from './entry.js';
import type { PackedEntries } from './entry-pack.js';

export type { CacheEntry };

export interface GetResult {
  /** Keys found, with their values. */
  hits: Map<string, Buffer>;
  /** Keys whose server could not answer after retries (neither hit nor miss is known). */
  failed: string[];
}

export interface StoreResult {
  /** Entries the servers stored. */
  stored: number;
  /** `add` only: entries left alone because the key already had a value (never clobbered). */
  existed: number;
  /** The keys counted in `existed`. */
  existedKeys: string[];
  /** Keys whose server could not be reached after retries: not warmed. */
  failed: string[];
}

export interface FillResult {
  /** Entries stored. */
  stored: number;
  /** `add` found the key taken, by the same value (or one of the values packed for that key). */
  same: number;
  /** `add` found the key taken by a different value (left alone: never clobbered). */
  different: string[];
  /** Keys whose server failed after retries: not warmed (nor checked). */
  failed: string[];
}

export interface CheckResult {
  /** Keys holding the value packed for them (or one of the values, when a key is packed more than once). */
  same: number;
  missing: string[];
  different: string[];
  /** Keys whose server failed after retries: not checked. */
  failed: string[];
}

export interface Cache {
  /** Human-readable list of servers, for messages. */
  readonly description: string;
  get(keys: readonly string[]): Promise<GetResult>;
  /** `add` stores only where the key has no value; `set` overwrites. */
  store(entries: readonly CacheEntry[], mode: 'add' | 'set'): Promise<StoreResult>;
  /**
   * Warms a batch whose values are known: stores every entry (`add` or `set`); where `add` finds a key
   * taken, reads it and compares it with the entry's value. Counted per distinct key. The pack is the
   * cache's from then on (its buffer may be moved to another thread, or packed into again once answered).
   */
  fill(entries: PackedEntries, mode: 'add' | 'set'): Promise<FillResult>;
  /** Reads every key of the batch and compares it with the value(s) packed for it. The pack, as for fill. */
  check(entries: PackedEntries): Promise<CheckResult>;
  close(): Promise<void>;
}
