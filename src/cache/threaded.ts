/**
 * The memcached cluster on a worker thread: key placement (an MD5 per key for ketama), request frames,
 * sockets and the comparison of values run there, so the main thread's only cache work per row is to
 * render the key and value into a packed batch, and another core shares the pipeline. Batches cross as
 * transferred buffers (no copy); results come back as counts and key lists. Used only when
 * MIGRATE_CACHE_THREAD=1 asks for it (open.ts): where the databases and memcached share the cores, a run is
 * faster and smaller without it.
 */
import { Worker } from 'node:worker_threads';
import type { Cache, CacheEntry, CheckResult, FillResult, GetResult, StoreResult } from './cache.js';
import { type PackedEntries, packEntries, spareBuffers, unpackEntries } from './entry-pack.js';
import type { MemcachedCacheOptions } from './memcached/memcached-cache.js';

/** What the worker is started with: the options without the log callback (messages come back as events). */
export type WorkerOptions = Omit<MemcachedCacheOptions, 'onLog'>;

type Body =
  | { op: 'get'; keys: readonly string[] }
  | { op: 'store'; pack: PackedEntries; mode: 'add' | 'set' }
  | { op: 'fill'; pack: PackedEntries; mode: 'add' | 'set' }
  | { op: 'check'; pack: PackedEntries }
  | { op: 'close' };

export type Request = Body & { id: number };

export type Reply =
  /** `spare`: the request's pack buffer, handed back to build in again (entry-pack.ts spareBuffers). */
  | { id: number; ok: true; result: unknown; spare?: ArrayBuffer }
  | { id: number; ok: false; message: string }
  | { log: string };

/** `get`'s hits travel packed; the rest of its result as is. */
export interface PackedGetResult {
  hits: PackedEntries;
  failed: string[];
}

/** The worker's young generation (V8's default is several times larger). */
const WORKER_YOUNG_MB = 8;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** The compiled worker next to this module; absent when running from TypeScript sources (tests). */
export function workerScript(): URL | null {
  return import.meta.url.endsWith('.js') ? new URL('./cache-worker.js', import.meta.url) : null;
}

export class ThreadedCache implements Cache {
  readonly description: string;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;
  private closed = false;

  constructor(options: MemcachedCacheOptions, script: URL) {
    if (options.servers.length === 0) throw new Error('cache.servers lists no memcached server');
    this.description = `memcached ${options.servers.join(',')} (${options.distribution ?? 'modula'})`;
    const { onLog, ...workerOptions } = options;
    this.worker = new Worker(script, {
      workerData: workerOptions satisfies WorkerOptions,
      // Its live data is small (a batch or two of keys; values stay in the transferred buffers): a small
      // young generation keeps its memory down at no cost in speed.
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
    });
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => {
      if ('log' in reply) {
        onLog?.(reply.log);
        return;
      }
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if (reply.ok && reply.spare) spareBuffers.give(reply.spare);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new Error(reply.message));
    });
    const fail = (error: Error) => {
      this.dead ??= error;
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', (err) => fail(new Error(`the cache worker thread failed: ${err.message}`)));
    this.worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`the cache worker thread exited (code ${code})`));
    });
  }

  private call<T>(request: Body, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.closed) return Promise.reject(new Error('The memcached cache was used after close()'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      // Referenced while a request is out, so the process waits for the answer.
      this.worker.ref();
      this.worker.postMessage({ ...request, id }, transfer);
    });
  }

  async get(keys: readonly string[]): Promise<GetResult> {
    const r = await this.call<PackedGetResult>({ op: 'get', keys });
    const hits = new Map<string, Buffer>();
    for (const e of unpackEntries(r.hits)) hits.set(e.key, e.value);
    return { hits, failed: r.failed };
  }

  store(entries: readonly CacheEntry[], mode: 'add' | 'set'): Promise<StoreResult> {
    const pack = packEntries(entries);
    return this.call({ op: 'store', pack, mode }, [transferable(pack)]);
  }

  fill(pack: PackedEntries, mode: 'add' | 'set'): Promise<FillResult> {
    return this.call({ op: 'fill', pack, mode }, [transferable(pack)]);
  }

  check(pack: PackedEntries): Promise<CheckResult> {
    return this.call({ op: 'check', pack }, [transferable(pack)]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.dead) await this.call({ op: 'close' }).catch(() => undefined);
    this.closed = true;
    await this.worker.terminate();
  }
}

/** The pack's buffer, which the pack owns whole (EntryPackBuilder allocates it so). */
export function transferable(pack: PackedEntries): ArrayBuffer {
  return pack.bytes.buffer as ArrayBuffer;
}
