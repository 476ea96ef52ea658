/**
 * Read-through warming, as the application's cache-aside path does it: look the keys up, load the misses
 * with ONE batched loader call, store them (`add`: never clobber a value the application wrote meanwhile;
 * `set`: overwrite). Concurrent loads of the same key are collapsed into one.
 */
import type { Cache } from './cache.js';

export interface ReadThroughResult {
  /** Values that were already in the cache. */
  hits: Map<string, Buffer>;
  /** Values loaded for misses (and stored, unless `failed` or `existed` says otherwise). */
  loaded: Map<string, Buffer>;
  /** Misses the loader did not return (no such row). */
  absent: string[];
  /** Keys `add` found taken when storing (someone wrote them between the get and the add). */
  existed: number;
  stored: number;
  /** Keys whose server failed after retries: not warmed. */
  failed: string[];
}

export type Loader = (missing: string[]) => Promise<Map<string, Buffer>>;

export class ReadThrough {
  private readonly inflight = new Map<string, Promise<Buffer | undefined>>();

  constructor(
    private readonly cache: Cache,
    private readonly mode: 'add' | 'set',
    private readonly ttl: number,
  ) {}

  async fetch(keys: readonly string[], load: Loader): Promise<ReadThroughResult> {
    const got = await this.cache.get(keys);
    const failedSet = new Set(got.failed);
    const result: ReadThroughResult = {
      hits: got.hits,
      loaded: new Map(),
      absent: [],
      existed: 0,
      stored: 0,
      failed: [...got.failed],
    };
    const mine: string[] = [];
    const waits: [string, Promise<Buffer | undefined>][] = [];
    for (const key of keys) {
      if (got.hits.has(key) || failedSet.has(key)) continue;
      const pending = this.inflight.get(key);
      if (pending) waits.push([key, pending]);
      else mine.push(key);
    }
    if (mine.length > 0) await this.loadAndStore(mine, load, result);
    for (const [key, pending] of waits) {
      const value = await pending;
      if (value) result.loaded.set(key, value);
      else result.absent.push(key);
    }
    return result;
  }

  private async loadAndStore(keys: string[], load: Loader, result: ReadThroughResult): Promise<void> {
    const loading = load(keys);
    let settle!: () => void;
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    for (const key of keys) {
      this.inflight.set(
        key,
        loading.then(
          async (m) => {
            await done;
            return m.get(key);
          },
          () => undefined,
        ),
      );
    }
    try {
      const values = await loading;
      const entries = [];
      for (const key of keys) {
        const value = values.get(key);
        if (value === undefined) result.absent.push(key);
        else {
          result.loaded.set(key, value);
          entries.push({ key, value, ttl: this.ttl });
        }
      }
      const stored = await this.cache.store(entries, this.mode);
      result.stored += stored.stored;
      result.existed += stored.existed;
      result.failed.push(...stored.failed);
    } finally {
      settle();
      for (const key of keys) this.inflight.delete(key);
    }
  }
}
