import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import memjs, { type Client as MemjsClient, type Response as MemjsResponse } from 'memjs';
import { EXPIRY_MAX_UNIX_S, RELATIVE_TTL_MAX_S } from '../plan/expiry.js';
import { checkEntries, fillEntries, type ItemsGot, type ItemsStored, type PackStore } from './bulk.js';
import type { Cache, CacheEntry, CheckResult, FillResult, GetResult, StoreResult } from './cache.js';
import { EntryPackBuilder, type PackedEntries, PackIndex, packEntries, spareBuffers } from './entry-pack.js';
import { type KetamaFlavour, KetamaRing } from './ketama.js';
import { KetamaPlacement, type KeyPlacement, keyHashes, ModulaPlacement, ONE_SERVER } from './placement.js';

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

const OPCODE_GETKQ = 0x0d;
const OPCODE_NOOP = 0x0a;
const OPCODE_SETQ = 0x11;
const OPCODE_ADDQ = 0x12;
const HEADER_BYTES = 24;
/** Flags (4 bytes) and expiry (4 bytes) of a set/add request. */
const STORE_EXTRAS_BYTES = 8;
const MAX_KEY_BYTES = 250;
/** One multi-store request is cut here (unless its first entry alone is larger)... */
const MAX_STORE_REQUEST_BYTES = 256 * 1024;
/** ...and a pass stops sending to a server with this much unanswered, so timeouts measure the server, not the queue. */
const MAX_STORE_INFLIGHT_BYTES = 4 * 1024 * 1024;
/** Opaques are reset before memjs' counter could overflow the unsigned 32-bit field (see `reserveOpaques`). */
const MAX_OPAQUE = 0x3fffffff;
const EMPTY = Buffer.alloc(0);
/** Up to this many bytes, `copyBytes` copies in a loop (measured: a 30-byte key, 40 ns vs 60 ns for Buffer.copy). */
const SHORT_COPY_BYTES = 64;

export class MemcachedCache implements Cache, PackStore {
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
    const timeoutS = (options.timeoutMs ?? DEFAULTS.timeoutMs) / 1000;
    const distribution = options.distribution ?? 'modula';
    this.retries = Math.max(0, options.retries ?? DEFAULTS.retries);
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULTS.concurrency);
    this.getBatchKeys = Math.max(1, options.getBatchKeys ?? DEFAULTS.getBatchKeys);
    this.storeBatchKeys = Math.max(1, options.storeBatchKeys ?? DEFAULTS.storeBatchKeys);
    this.deadServerRetryMs = Math.max(0, options.deadServerRetryMs ?? DEFAULTS.deadServerRetryMs);
    this.recyclePacks = options.recyclePacks ?? false;
    this.log = options.onLog ?? ((message) => this.keep(message));
    this.description = `memcached ${options.servers.join(',')} (${distribution})`;

    const log = this.log;
    this.client = memjs.Client.create(options.servers.join(','), {
      // Never move a key to another server: the application would not look for it there.
      failover: false,
      // memjs counts attempts, not retries: 1 = no retry of its own. Retrying here covers only the
      // failed requests, with backoff, and reports what still fails.
      retries: 1,
      timeout: timeoutS,
      conntimeout: timeoutS,
      expires: 0,
      logger: { log: (...args: unknown[]) => forwardMemjsMessage(args.map(String).join(' '), log) },
      ...(options.username ? { username: options.username, password: options.password ?? '' } : {}),
    });
    this.servers = this.client.servers as unknown as MemjsServer[];
    if (!options.username) {
      for (const server of this.servers) {
        server.username = undefined;
        server.password = undefined;
      }
    }
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
    const client = this.client as unknown as { getServer: (key: string) => number };
    client.getServer = (key) => this.serverIndexFor(key);
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
    for (const server of this.servers) {
      if (hasPending(server)) server.error(new Error('the cache was closed'));
    }
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

  private keep(message: string): void {
    if (this.messages.length >= KEPT_MESSAGES) this.messages.shift();
    this.messages.push(message);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The memcached cache was used after close()');
    // memjs wraps its request counter with `&= 0xffffffff`, which turns negative past 2^31 and then
    // throws when written as an unsigned opaque. Long before that, start again (nothing in flight is
    // that old).
    const client = this.client as unknown as { seq: number };
    if (client.seq > MAX_OPAQUE) client.seq = 0;
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
    pass: (items: number[]) => Promise<Outcome>,
  ): Promise<number[]> {
    if (items.length === 0) return items;
    if (this.deadServerRetryMs > 0 && Date.now() < (this.downUntil[s] ?? 0)) return items;
    const failed: number[] = [];
    let pending = items;
    for (let attempt = 0; ; attempt++) {
      const outcome = await pass(pending);
      for (const i of outcome.failed) failed.push(i);
      if (outcome.failed.length > 0) {
        const server = this.servers[s] as MemjsServer;
        this.note(
          `memcached ${server.host}:${server.port}: ${outcome.failed.length} key(s) refused, ${outcome.refused}`,
        );
      }
      if (outcome.retry.length === 0) {
        this.downUntil[s] = 0;
        return failed;
      }
      if (attempt >= this.retries || this.closed) {
        const server = this.servers[s] as MemjsServer;
        this.note(
          `memcached ${server.host}:${server.port}: ${outcome.retry.length} key(s) failed after ` +
            `${attempt + 1} attempt(s): ${outcome.error}${hintFor(outcome.error)}`,
        );
        if (this.deadServerRetryMs > 0) this.downUntil[s] = Date.now() + this.deadServerRetryMs;
        return failed.concat(outcome.retry);
      }
      await sleep(Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** attempt));
      if (this.closed) return failed.concat(outcome.retry);
      pending = outcome.retry;
    }
  }
}

export function createMemcachedCache(options: MemcachedCacheOptions): Cache {
  return new MemcachedCache(options);
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

/** The result of one pass over a server's items: `retry` failed for a server reason, `failed` for good. */
interface Outcome {
  retry: number[];
  failed: number[];
  /** The last server failure, for the message when retries are spent. */
  error: string;
  /** The first key refused for a key reason and why, for one message per pass. */
  refused: string;
}

function newOutcome(): Outcome {
  return { retry: [], failed: [], error: '', refused: '' };
}

/**
 * memjs logs one line per failed request ("MemJS: Server <...> failed after ...", "MemJS SET: Value
 * too large"): thousands when a server dies. Those are summed up per server and pass here instead.
 */
function forwardMemjsMessage(message: string, log: (message: string) => void): void {
  if (!/^MemJS( [A-Z]+)?: /.test(message)) log(message);
}

/**
 * memcached reads an expiry over 30 days as a Unix time: a long TTL must be sent as one. The plan refuses a
 * TTL that ends past EXPIRY_MAX_UNIX_S (`ttlProblem`); one that gets there while a long run goes on is held at
 * it rather than wrapped into the past.
 */
export function expiresField(ttl: number, nowMs = Date.now()): number {
  if (!(ttl > 0)) return 0;
  const seconds = Math.ceil(ttl);
  if (seconds <= RELATIVE_TTL_MAX_S) return seconds;
  return Math.min(Math.floor(nowMs / 1000) + seconds, EXPIRY_MAX_UNIX_S);
}

/**
 * One multi-store request in flight: its frames carry the opaques `first`, `first + 1`, ... and the
 * closing NOOP the next one, so an error answer (quiet stores answer only on error) names its entry.
 */
interface StoreRequest {
  /** Item index of each frame. */
  frames: number[];
  first: number;
  /** 1 where the frame was answered (with an error, or "exists"). */
  answered: Uint8Array;
  bytes: number;
}

/**
 * add/set of a server's entries as multi-store requests: up to `storeBatchKeys` SETQ/ADDQ frames
 * closed by a NOOP, written as one buffer, at most `concurrency` such requests (and 4 MiB) in flight.
 * memcached answers a quiet store only when it fails (ADDQ on a taken key: KEY_EXISTS), so once the
 * NOOP is back, every frame not answered was stored. memjs' per-request add/set tops out near 100k/s.
 */
class StorePass {
  private next = 0;
  private inFlight = 0;
  private inFlightBytes = 0;
  private pumping = false;
  private broken = false;
  private readonly outcome: Outcome = newOutcome();
  private resolve: (outcome: Outcome) => void = () => {};
  private readonly opcode: number;
  private lastTtl = Number.NaN;
  private lastExpires = 0;

  constructor(
    private readonly client: MemjsClient,
    private readonly server: MemjsServer,
    private readonly router: FrameRouter,
    private readonly pack: PackIndex,
    private readonly items: readonly number[],
    private readonly mode: 'add' | 'set',
    private readonly result: ItemsStored,
    private readonly cache: MemcachedCache,
  ) {
    this.opcode = mode === 'add' ? OPCODE_ADDQ : OPCODE_SETQ;
  }

  run(): Promise<Outcome> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.pump();
    });
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const { items } = this;
    if (this.broken) {
      // The socket failed every request on it: don't queue more behind a dead connection, retry them later.
      while (this.next < items.length) this.outcome.retry.push(items[this.next++] as number);
    }
    const window = this.cache.requestWindow();
    const socket = this.server.connected ? this.server._socket : undefined;
    socket?.cork();
    try {
      while (
        this.next < items.length &&
        this.inFlight < window &&
        (this.inFlight === 0 || this.inFlightBytes < MAX_STORE_INFLIGHT_BYTES)
      ) {
        this.send();
      }
    } finally {
      socket?.uncork();
      this.pumping = false;
    }
    if (this.inFlight === 0 && this.next >= items.length) this.resolve(this.outcome);
  }

  /** Sends the next request: entries from `next` while they fit, keys memcached would reject refused here. */
  private send(): void {
    const { items, pack } = this;
    const frames: number[] = [];
    let size = HEADER_BYTES;
    const limit = this.cache.multiStoreKeys();
    while (this.next < items.length && frames.length < limit) {
      const item = items[this.next] as number;
      const keyStart = pack.keyStart(item);
      const keyBytes = pack.keyEnd(item) - keyStart;
      const frame = HEADER_BYTES + STORE_EXTRAS_BYTES + pack.valueEnd(item) - keyStart;
      if (frames.length > 0 && size + frame > MAX_STORE_REQUEST_BYTES) break;
      this.next++;
      if (keyBytes === 0 || keyBytes > MAX_KEY_BYTES) {
        // memcached closes the connection on such a key, failing everything in flight with it.
        this.refuse(item, `the key is ${keyBytes} bytes (1 to ${MAX_KEY_BYTES} allowed)`);
        continue;
      }
      frames.push(item);
      size += frame;
    }
    if (frames.length === 0) return;

    const first = reserveOpaques(this.client, frames.length + 1);
    const buf = Buffer.allocUnsafe(size);
    let offset = 0;
    for (let f = 0; f < frames.length; f++) {
      const item = frames[f] as number;
      const keyStart = pack.keyStart(item);
      const valueEnd = pack.valueEnd(item);
      const keyBytes = pack.keyEnd(item) - keyStart;
      const body = STORE_EXTRAS_BYTES + valueEnd - keyStart;
      offset = writeHeader(buf, offset, this.opcode, keyBytes, STORE_EXTRAS_BYTES, body, first + f);
      writeUInt32(buf, offset, 0);
      writeUInt32(buf, offset + 4, this.expires(pack.ttl(item)));
      offset += STORE_EXTRAS_BYTES;
      // The key and its value lie next to each other in the pack as in the frame: one copy for both.
      offset += copyBytes(pack.buf, keyStart, valueEnd, buf, offset);
    }
    const noop = first + frames.length;
    writeHeader(buf, offset, OPCODE_NOOP, 0, 0, 0, noop);

    const request: StoreRequest = { frames, first, answered: new Uint8Array(frames.length), bytes: size };
    const route: Route = { first, end: noop, onFrame: (response) => this.onFrame(request, response) };
    this.router.add(route);
    this.server.onResponse(noop, () => {
      this.router.remove(route);
      this.settle(request, null);
    });
    this.server.onError(noop, (err: unknown) => {
      this.router.remove(route);
      this.settle(request, err);
    });
    this.inFlight++;
    this.inFlightBytes += size;
    this.server.write(buf);
  }

  /** An answer to one frame: always a failure of some kind for a quiet store. */
  private onFrame(request: StoreRequest, response: MemjsResponse): void {
    const index = response.header.opaque - request.first;
    const item = request.frames[index] as number;
    request.answered[index] = 1;
    const status = response.header.status;
    if (status === STATUS_SUCCESS) this.result.stored++;
    else if (this.mode === 'add' && (status === STATUS_KEY_EXISTS || status === STATUS_NOT_STORED)) {
      this.result.existed.push(item);
    } else if (TRANSIENT_STATUS.has(status)) {
      this.outcome.retry.push(item);
      this.outcome.error = `memcached answered ${statusText(status)}`;
    } else this.refuse(item, statusText(status));
  }

  /** The NOOP arrived (err null: every frame not answered was stored) or the connection failed. */
  private settle(request: StoreRequest, err: unknown): void {
    this.inFlight--;
    this.inFlightBytes -= request.bytes;
    const { frames, answered } = request;
    if (err === null) {
      let stored = 0;
      for (let f = 0; f < frames.length; f++) if (answered[f] === 0) stored++;
      this.result.stored += stored;
    } else {
      // Whether an unanswered frame was stored is unknown: send it again.
      this.broken = true;
      this.outcome.error = describe(err);
      for (let f = 0; f < frames.length; f++)
        if (answered[f] === 0) this.outcome.retry.push(frames[f] as number);
    }
    this.pump();
  }

  private refuse(item: number, why: string): void {
    this.outcome.failed.push(item);
    if (this.outcome.refused === '') {
      this.outcome.refused = `first ${JSON.stringify(this.pack.key(item))}: ${why}`;
    }
  }

  private expires(ttl: number): number {
    if (ttl !== this.lastTtl) {
      this.lastTtl = ttl;
      this.lastExpires = expiresField(ttl);
    }
    return this.lastExpires;
  }
}

/** Takes `count` consecutive opaques from memjs' request counter (shared with its own requests). */
function reserveOpaques(client: MemjsClient, count: number): number {
  const counter = client as unknown as { seq: number };
  if (counter.seq + count > MAX_OPAQUE) counter.seq = 0;
  const first = counter.seq + 1;
  counter.seq += count;
  return first;
}

/** Opaques [first, end) of a request in flight, whose answers memjs has no callback for. */
interface Route {
  first: number;
  end: number;
  onFrame: (response: MemjsResponse) => void;
}

/**
 * Per server: hands the answers to individual frames of multi-store and multi-get requests to their
 * pass. memjs keeps one callback per opaque and drops answers it has none for; registering one per
 * frame would cost a callback entry (and memjs' timeout bookkeeping) per entry stored or read.
 */
class FrameRouter {
  private routes: Route[] = [];

  add(route: Route): void {
    this.routes.push(route);
  }

  remove(route: Route): void {
    const i = this.routes.indexOf(route);
    if (i >= 0) this.routes.splice(i, 1);
  }

  clear(): void {
    this.routes = [];
  }

  /** True when the answer belonged to a frame of a request in flight. */
  dispatch(response: MemjsResponse): boolean {
    const opaque = response.header.opaque;
    // Answers come in request order: the oldest request in flight is nearly always the one.
    for (const route of this.routes) {
      if (opaque >= route.first && opaque < route.end) {
        route.onFrame(response);
        return true;
      }
    }
    return false;
  }
}

/**
 * Gets of a server's keys as multi-get requests: `getBatchKeys` GETKQ frames (answered only on a hit)
 * closed by a NOOP, written as one buffer, at most `concurrency` such requests in flight. As in a
 * multi-store request, each frame carries its own opaque, so a hit names its entry without its key
 * being read back.
 */
class GetPass {
  private next = 0;
  private inFlight = 0;
  private pumping = false;
  private broken = false;
  private readonly outcome: Outcome = newOutcome();
  private resolve: (outcome: Outcome) => void = () => {};

  constructor(
    private readonly client: MemjsClient,
    private readonly server: MemjsServer,
    private readonly router: FrameRouter,
    private readonly pack: PackIndex,
    private readonly items: readonly number[],
    private readonly values: (Buffer | undefined)[],
    private readonly cache: MemcachedCache,
  ) {}

  run(): Promise<Outcome> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.pump();
    });
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const { items } = this;
    if (this.broken) {
      while (this.next < items.length) this.outcome.retry.push(items[this.next++] as number);
    }
    const window = this.cache.requestWindow();
    const size = this.cache.multiGetKeys();
    try {
      while (this.next < items.length && this.inFlight < window) {
        const start = this.next;
        const end = Math.min(items.length, start + size);
        this.next = end;
        this.inFlight++;
        this.send(start, end);
      }
    } finally {
      this.pumping = false;
    }
    if (this.inFlight === 0 && this.next >= items.length) this.resolve(this.outcome);
  }

  /** GETKQ for each entry of items[start..end), with the opaques first, first + 1, ..., then the NOOP. */
  private send(start: number, end: number): void {
    const { pack, items, values } = this;
    let size = HEADER_BYTES;
    for (let p = start; p < end; p++) {
      const item = items[p] as number;
      size += HEADER_BYTES + pack.keyEnd(item) - pack.keyStart(item);
    }
    const first = reserveOpaques(this.client, end - start + 1);
    const noop = first + end - start;
    const buf = Buffer.allocUnsafe(size);
    let offset = 0;
    for (let p = start; p < end; p++) {
      const item = items[p] as number;
      const keyStart = pack.keyStart(item);
      const keyBytes = pack.keyEnd(item) - keyStart;
      offset = writeHeader(buf, offset, OPCODE_GETKQ, keyBytes, 0, keyBytes, first + p - start);
      offset += copyBytes(pack.buf, keyStart, keyStart + keyBytes, buf, offset);
    }
    writeHeader(buf, offset, OPCODE_NOOP, 0, 0, 0, noop);

    const route: Route = { first, end: noop, onFrame: (response) => this.onFrame(start, first, response) };
    this.router.add(route);
    this.server.onResponse(noop, () => {
      // Every hit before the NOOP has arrived.
      this.router.remove(route);
      this.inFlight--;
      this.pump();
    });
    this.server.onError(noop, (err: unknown) => {
      this.router.remove(route);
      this.inFlight--;
      this.broken = true;
      this.outcome.error = describe(err);
      for (let p = start; p < end; p++) {
        const item = items[p] as number;
        if (values[item] === undefined) this.outcome.retry.push(item);
      }
      this.pump();
    });
    this.server.write(buf);
  }

  /** A hit (a miss is not answered), or an error for one key. */
  private onFrame(start: number, first: number, response: MemjsResponse): void {
    const status = response.header.status;
    if (status === STATUS_SUCCESS)
      this.values[this.items[start + response.header.opaque - first] as number] = response.val;
    else if (status !== STATUS_KEY_NOT_FOUND)
      this.cache.note(`memcached ${this.server.host}:${this.server.port}: get answered status ${status}`);
  }
}

/** A request header at `at` (data type, vbucket and CAS zero); returns where its body starts. */
function writeHeader(
  buf: Buffer,
  at: number,
  opcode: number,
  keyBytes: number,
  extrasBytes: number,
  bodyBytes: number,
  opaque: number,
): number {
  buf[at] = 0x80;
  buf[at + 1] = opcode;
  buf[at + 2] = keyBytes >>> 8;
  buf[at + 3] = keyBytes & 255;
  buf[at + 4] = extrasBytes;
  buf[at + 5] = 0;
  buf[at + 6] = 0;
  buf[at + 7] = 0;
  writeUInt32(buf, at + 8, bodyBytes);
  writeUInt32(buf, at + 12, opaque);
  writeUInt32(buf, at + 16, 0);
  writeUInt32(buf, at + 20, 0);
  return at + HEADER_BYTES;
}

/** Big-endian, byte by byte: cheaper per frame than Buffer's checked writeUInt32BE. */
function writeUInt32(buf: Buffer, at: number, value: number): void {
  buf[at] = value >>> 24;
  buf[at + 1] = (value >>> 16) & 255;
  buf[at + 2] = (value >>> 8) & 255;
  buf[at + 3] = value & 255;
}

/**
 * Copies src[start..end) into dst at `at`; returns the byte count. A key alone is copied in a loop, which
 * for a few dozen bytes costs less than a call into Buffer.copy.
 */
function copyBytes(src: Buffer, start: number, end: number, dst: Buffer, at: number): number {
  const n = end - start;
  if (n > SHORT_COPY_BYTES) return src.copy(dst, at, start, end);
  for (let i = 0; i < n; i++) dst[at + i] = src[start + i] as number;
  return n;
}

const STATUS_SUCCESS = 0x00;
const STATUS_KEY_NOT_FOUND = 0x01;
const STATUS_KEY_EXISTS = 0x02;
const STATUS_NOT_STORED = 0x05;
/** Out of memory, internal error, busy, temporary failure: worth another attempt. */
const TRANSIENT_STATUS = new Set([0x82, 0x84, 0x85, 0x86]);
const STATUS_TEXT: Record<number, string> = {
  1: 'key not found',
  2: 'key exists',
  3: 'value too large',
  4: 'invalid arguments',
  5: 'item not stored',
  32: 'authentication error',
  129: 'unknown command',
  130: 'out of memory',
  131: 'not supported',
  132: 'internal error',
  133: 'busy',
  134: 'temporary failure',
};

function statusText(status: number): string {
  return `${STATUS_TEXT[status] ?? 'error'} (status 0x${status.toString(16).padStart(2, '0')})`;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What to do about a failure, where the message alone would not say. */
function hintFor(error: string): string {
  if (/authentication failed/i.test(error)) return ' (SASL: check cache.username and cache.password)';
  return '';
}

// ---------------------------------------------------------------------------------------------
// memjs 1.3.2 internals relied on (lib/memjs/server.js), and the repairs made per Server instance.

/** The parts of a memjs Server used here, beyond its typings. */
interface MemjsServer {
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  connected: boolean;
  _socket?: Socket;
  responseBuffer: Buffer;
  errorCallbacks: Record<number, (err: unknown) => void>;
  sock(sasl: boolean, go: (socket: Socket) => void): void;
  error(err: unknown): void;
  respond(response: MemjsResponse): void;
  onResponse(seq: number, fn: (response: MemjsResponse) => void): void;
  onError(seq: number, fn: (err: unknown) => void): void;
  write(blob: Buffer): void;
  removeAllListeners(event: string): void;
}

/**
 * Fixes three memjs behaviours that bite under bulk load, and tracks every socket so close() can end
 * them all:
 * - when the server closes the connection (restart, kill), memjs fails nothing: requests in flight
 *   would wait forever. A socket's close now fails them.
 * - after an error or timeout memjs keeps the partial response bytes and (on timeout) only end()s the
 *   old socket, whose late data and 'close' event still reach the server object: the next
 *   connection's responses would be parsed after garbage, and its socket forgotten. Errors now
 *   destroy and detach every socket of the server and reset the buffer.
 * - a failed SASL handshake leaves an 'authenticated' listener that would later write stale requests.
 * It also lets `router` see the answers to frames of multi-store and multi-get requests before memjs
 * drops them.
 */
function harden(server: MemjsServer, router: FrameRouter): Set<Socket> {
  const sockets = new Set<Socket>();
  const originalSock = server.sock;
  const originalError = server.error;
  const originalRespond = server.respond;

  server.sock = (sasl, go) => {
    const before = server._socket;
    originalSock.call(server, sasl, go);
    const socket = server._socket;
    if (socket === undefined || socket === before) return;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.once('close', () => {
      sockets.delete(socket);
      if (hasPending(server)) server.error(new Error('connection closed by the server'));
    });
  };

  server.error = (err) => {
    for (const socket of sockets) discard(socket);
    sockets.clear();
    server.responseBuffer = EMPTY;
    server.removeAllListeners('authenticated');
    // The requests' error callbacks (called next) account for their frames.
    router.clear();
    originalError.call(server, err);
  };

  server.respond = (response) => {
    if (!router.dispatch(response)) originalRespond.call(server, response);
  };

  return sockets;
}

function hasPending(server: MemjsServer): boolean {
  for (const _ in server.errorCallbacks) return true;
  return false;
}

function discard(socket: Socket): void {
  socket.removeAllListeners('data');
  socket.removeAllListeners('close');
  socket.removeAllListeners('timeout');
  socket.on('error', () => {});
  socket.destroy();
}
