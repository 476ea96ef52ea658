/**
 * MemcachedCache, the Cache over a memcached cluster: places keys, groups them per server, runs the store
 * and get passes with retries, and closes every socket it opened.
 */
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client as MemjsClient } from 'memjs';
import { checkEntries, fillEntries, type ItemsGot, type ItemsStored, type PackStore } from '../bulk.js';
import type { Cache, CacheEntry, CheckResult, FillResult, GetResult, StoreResult } from '../cache.js';
import { EntryPackBuilder, type PackedEntries, PackIndex, packEntries, spareBuffers } from '../entry-pack.js';
import { type KetamaFlavour, KetamaRing } from '../ketama.js';
import { KetamaPlacement, type KeyPlacement, keyHashes, ModulaPlacement, ONE_SERVER } from '../placement.js';
import { FrameRouter } from './frame-router.js';
import { GetPass } from './get-pass.js';
import {
  discard,
  failPending,
  harden,
  type MemjsServer,
  openMemjs,
  placeKeysWith,
  restartOpaquesIfHigh,
  serverAddress,
} from './memjs-adapter.js';
import type { PassContext, PassFailures } from './pass.js';
import { StorePass } from './store-pass.js';

/**
 * The memcached cluster over memjs: keys placed by ketama (as the application's client does) or by
 * memjs' own `hash % N`; gets and stores sent as batched quiet requests (GETKQ or SETQ/ADDQ frames
 * closed by a NOOP, one buffer each) on memjs' one socket per server, with a bounded window per
 * server; server failures retried with backoff and then reported as failed keys, never thrown.
 * Everything runs on packed entries (entry-pack.ts), by entry number: keys are placed from their bytes
 * and frames copied from the pack, so the per-entry work makes no string or object.
 */
export interface MemcachedCacheOptions {
  /** `host:port` each, in the order the application lists them (modula placement depends on it). */
  servers: readonly string[];
  /** `ketama` (default flavour libmemcached, see ketama.ts) or memjs' own `modula`. Default modula. */
  distribution?: 'modula' | 'ketama';
  ketamaFlavour?: KetamaFlavour;
  /** SASL; when absent no SASL is attempted (memjs would otherwise read MEMCACHE_USERNAME etc.). */
  username?: string;
  password?: string;
  /** Per request, and for connecting. Default 1000. */
  timeoutMs?: number;
  /** Further attempts after a server failure, waiting 50 ms, 100 ms, 200 ms ... Default 2. */
  retries?: number;
  /** Requests in flight per server: multi-get requests of `getBatchKeys` keys, multi-store ones of `storeBatchKeys`. Default 64. */
  concurrency?: number;
  /** Keys per multi-get request (GETKQ... NOOP in one write). Default 100. */
  getBatchKeys?: number;
  /** Entries per multi-store request (SETQ/ADDQ... NOOP in one write, at most 256 KiB unless one entry is larger). Default 200. */
  storeBatchKeys?: number;
  /**
   * After a server fails every attempt, its keys fail at once (no requests) for this long, so a dead
   * server costs the run one timeout per period rather than per batch. 0 disables. Default 2000.
   */
  deadServerRetryMs?: number;
  /** memjs' and this module's messages (connection errors, failed keys). Default: kept in `recentMessages`. */
  onLog?: (message: string) => void;
  /**
   * Once `fill` or `check` has answered, its pack's buffer is handed to `spareBuffers` (entry-pack.ts) to be
   * packed into again: nothing here refers to it then (frames and results are copies). Only where the packs
   * are built on the same thread; the worker thread hands them back to the main thread instead. Default false.
   */
  recyclePacks?: boolean;
}

const DEFAULTS = {
  timeoutMs: 1000,
  retries: 2,
  concurrency: 64,
  getBatchKeys: 100,
  storeBatchKeys: 200,
  deadServerRetryMs: 2000,
};
const FIRST_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 2000;
const KEPT_MESSAGES = 50;
const EMPTY = Buffer.alloc(0);

export class MemcachedCache implements Cache, PackStore, PassContext {
  readonly description: string;
  readonly placement: KeyPlacement;
  private readonly client: MemjsClient;
  private readonly servers: MemjsServer[];
  private readonly sockets: Set<Socket>[];
  private readonly retries: number;
  private readonly concurrency: number;
  private readonly getBatchKeys: number;
  private readonly storeBatchKeys: number;
  private readonly routers: FrameRouter[];
  private readonly deadServerRetryMs: number;
  private readonly recyclePacks: boolean;
  private readonly downUntil: number[];
  private readonly log: (message: string) => void;
  private readonly messages: string[] = [];
  private closed = false;

  constructor(options: MemcachedCacheOptions) {
    if (options.servers.length === 0) throw new Error('cache.servers lists no memcached server');
    const distribution = options.distribution ?? 'modula';
    this.retries = Math.max(0, options.retries ?? DEFAULTS.retries);
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULTS.concurrency);
    this.getBatchKeys = Math.max(1, options.getBatchKeys ?? DEFAULTS.getBatchKeys);
    this.storeBatchKeys = Math.max(1, options.storeBatchKeys ?? DEFAULTS.storeBatchKeys);
    this.deadServerRetryMs = Math.max(0, options.deadServerRetryMs ?? DEFAULTS.deadServerRetryMs);
    this.recyclePacks = options.recyclePacks ?? false;
    this.log = options.onLog ?? ((message) => this.keep(message));
    this.description = `memcached ${options.servers.join(',')} (${distribution})`;

    const opened = openMemjs(options.servers, {
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      username: options.username,
      password: options.password,
      log: this.log,
    });
    this.client = opened.client;
    this.servers = opened.servers;
    this.routers = this.servers.map(() => new FrameRouter());
    this.sockets = this.servers.map((server, s) => harden(server, this.routers[s] as FrameRouter));
    this.downUntil = this.servers.map(() => 0);

    if (this.servers.length === 1) this.placement = ONE_SERVER;
    else if (distribution === 'ketama') {
      const flavour = options.ketamaFlavour ?? 'libmemcached';
      this.placement = new KetamaPlacement(new KetamaRing(options.servers, { flavour }));
    } else this.placement = new ModulaPlacement(this.servers.length);
    // The passes write to a server directly; should anything call memjs' per-key methods, it places
    // keys as we do.
    placeKeysWith(this.client, (key) => this.serverIndexFor(key));
  }

  /** The server index (in `servers` order) a key is stored on. */
  serverIndexFor(key: string): number {
    return this.placement.serverFor(this.placement.hash(key));
  }

  /** The last messages from memjs and from failed requests, when no `onLog` was given. */
  recentMessages(): readonly string[] {
    return this.messages;
  }

  async get(keys: readonly string[]): Promise<GetResult> {
    // Packed (with empty values), the keys take the one path gets have; placed from the strings, as
    // `serverIndexFor` places them.
    const b = new EntryPackBuilder();
    for (const key of keys) b.add(key, EMPTY, 0);
    const pack = new PackIndex(b.finish());
    const got = await this.getItems(pack, this.hashesOf(keys), allEntries(pack.count));
    const hits = new Map<string, Buffer>();
    for (let i = 0; i < keys.length; i++) {
      const value = got.values[i];
      if (value !== undefined) hits.set(keys[i] as string, value);
    }
    return { hits, failed: got.failed.map((i) => keys[i] as string) };
  }

  /** Stores every entry (an entry whose key is there twice, twice), through the packed path. */
  async store(entries: readonly CacheEntry[], mode: 'add' | 'set'): Promise<StoreResult> {
    const pack = new PackIndex(packEntries(entries));
    const keys = entries.map((e) => e.key);
    const stored = await this.storeItems(pack, this.hashesOf(keys), allEntries(pack.count), mode);
    return storeResult(stored, (i) => keys[i] as string);
  }

  /** `store` of packed entries (the cache worker's). */
  async storePack(entries: PackedEntries, mode: 'add' | 'set'): Promise<StoreResult> {
    const pack = new PackIndex(entries);
    const stored = await this.storeItems(pack, keyHashes(pack, this.placement), allEntries(pack.count), mode);
    return storeResult(stored, (i) => pack.key(i));
  }

  async getItems(pack: PackIndex, hashes: Uint32Array, items: ArrayLike<number>): Promise<ItemsGot> {
    this.assertOpen();
    const got: ItemsGot = { values: new Array(pack.count), failed: [] };
    const groups = this.groupByServer(hashes, items);
    await Promise.all(
      groups.map(async (group, s) => {
        const failed = await this.withRetries(s, group, (pending) =>
          new GetPass(
            this.client,
            this.servers[s] as MemjsServer,
            this.routers[s] as FrameRouter,
            pack,
            pending,
            got.values,
            this,
          ).run(),
        );
        for (const i of failed) got.failed.push(i);
      }),
    );
    return got;
  }

  async storeItems(
    pack: PackIndex,
    hashes: Uint32Array,
    items: ArrayLike<number>,
    mode: 'add' | 'set',
  ): Promise<ItemsStored> {
    this.assertOpen();
    const result: ItemsStored = { stored: 0, existed: [], failed: [] };
    const groups = this.groupByServer(hashes, items);
    await Promise.all(
      groups.map(async (group, s) => {
        const failed = await this.withRetries(s, group, (pending) =>
          new StorePass(
            this.client,
            this.servers[s] as MemjsServer,
            this.routers[s] as FrameRouter,
            pack,
            pending,
            mode,
            result,
            this,
          ).run(),
        );
        for (const i of failed) result.failed.push(i);
      }),
    );
    return result;
  }

  async fill(entries: PackedEntries, mode: 'add' | 'set'): Promise<FillResult> {
    const result = await fillEntries(this, entries, mode);
    this.recycle(entries);
    return result;
  }

  async check(entries: PackedEntries): Promise<CheckResult> {
    const result = await checkEntries(this, entries);
    this.recycle(entries);
    return result;
  }

  private recycle(entries: PackedEntries): void {
    if (this.recyclePacks) spareBuffers.give(entries.bytes.buffer as ArrayBuffer);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const server of this.servers) failPending(server, 'the cache was closed');
    this.client.close();
    // end() lets a healthy server close cleanly; a hung one would keep the socket (and the process) alive.
    const open = this.sockets.flatMap((set) => [...set]).filter((socket) => !socket.destroyed);
    await Promise.race([
      Promise.all(open.map((socket) => new Promise((resolve) => socket.once('close', resolve)))),
      sleep(200, undefined, { ref: false }),
    ]);
    for (const socket of open) discard(socket);
  }

  /** @internal for the passes */
  requestWindow(): number {
    return this.concurrency;
  }

  /** @internal for the passes */
  multiGetKeys(): number {
    return this.getBatchKeys;
  }

  /** @internal for the passes */
  multiStoreKeys(): number {
    return this.storeBatchKeys;
  }

  /** @internal for the passes */
  note(message: string): void {
    this.log(message);
  }

  private address(s: number): string {
    return serverAddress(this.servers[s] as MemjsServer);
  }

  private keep(message: string): void {
    if (this.messages.length >= KEPT_MESSAGES) this.messages.shift();
    this.messages.push(message);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The memcached cache was used after close()');
    restartOpaquesIfHigh(this.client);
  }

  /**
   * The placement hashes of key strings. The same as of their packed bytes, but for a lone surrogate, which
   * UTF-8 cannot carry (packed, it becomes U+FFFD): a key given as a string is placed as memjs places it.
   */
  private hashesOf(keys: readonly string[]): Uint32Array {
    const hashes = new Uint32Array(keys.length);
    for (let i = 0; i < keys.length; i++) hashes[i] = this.placement.hash(keys[i] as string);
    return hashes;
  }

  /** The items, per server index. */
  private groupByServer(hashes: Uint32Array, items: ArrayLike<number>): number[][] {
    const groups: number[][] = this.servers.map(() => []);
    for (let p = 0; p < items.length; p++) {
      const item = items[p] as number;
      groups[this.placement.serverFor(hashes[item] as number)]?.push(item);
    }
    return groups;
  }

  /**
   * Runs passes over a server's items until none fails for a server reason or the retries are spent;
   * returns the indices that failed (for a key reason at once, for a server reason after the retries).
   */
  private async withRetries(
    s: number,
    items: number[],
    pass: (items: number[]) => Promise<PassFailures>,
  ): Promise<number[]> {
    if (items.length === 0) return items;
    if (this.deadServerRetryMs > 0 && Date.now() < (this.downUntil[s] ?? 0)) return items;
    const failed: number[] = [];
    let pending = items;
    for (let attempt = 0; ; attempt++) {
      const failures = await pass(pending);
      for (const i of failures.failed) failed.push(i);
      if (failures.failed.length > 0) {
        this.note(
          `memcached ${this.address(s)}: ${failures.failed.length} key(s) refused, ${failures.refused}`,
        );
      }
      if (failures.retry.length === 0) {
        this.downUntil[s] = 0;
        return failed;
      }
      if (attempt >= this.retries || this.closed) {
        this.note(
          `memcached ${this.address(s)}: ${failures.retry.length} key(s) failed after ` +
            `${attempt + 1} attempt(s): ${failures.error}${hintFor(failures.error)}`,
        );
        if (this.deadServerRetryMs > 0) this.downUntil[s] = Date.now() + this.deadServerRetryMs;
        return failed.concat(failures.retry);
      }
      await sleep(Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** attempt));
      if (this.closed) return failed.concat(failures.retry);
      pending = failures.retry;
    }
  }
}

/** A `StoreResult` from entry numbers, with the keys `keyOf` names. */
function storeResult(stored: ItemsStored, keyOf: (item: number) => string): StoreResult {
  return {
    stored: stored.stored,
    existed: stored.existed.length,
    existedKeys: stored.existed.map(keyOf),
    failed: stored.failed.map(keyOf),
  };
}

/** The entry numbers 0..count-1. */
function allEntries(count: number): Int32Array {
  const items = new Int32Array(count);
  for (let i = 0; i < count; i++) items[i] = i;
  return items;
}

/** What to do about a failure, where the message alone would not say. */
function hintFor(error: string): string {
  if (/authentication failed/i.test(error)) return ' (SASL: check cache.username and cache.password)';
  return '';
}
