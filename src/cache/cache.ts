/**
 * What the engine needs of a cache cluster. `memcached.ts` implements it over memjs; the engine never imports
 * memjs. Keys here are final (prefix applied, length-checked); values are bytes.
 */

export interface CacheEntry {
  key: string;
  value: Buffer;
  /** Seconds; 0 = no expiry. */
  ttl: number;
}

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
  /** Keys whose server could not be reached after retries: not warmed. */
  failed: string[];
}

export interface Cache {
  /** Human-readable list of servers, for messages. */
  readonly description: string;
  get(keys: readonly string[]): Promise<GetResult>;
  /** `add` stores only where the key has no value; `set` overwrites. */
  store(entries: readonly CacheEntry[], mode: 'add' | 'set'): Promise<StoreResult>;
  close(): Promise<void>;
}
