import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import memjs, { type Client as MemjsClient, type Response as MemjsResponse } from 'memjs';
import { checkEntries, fillEntries } from './bulk.js';
import type { Cache, CacheEntry, CheckResult, FillResult, GetResult, StoreResult } from './cache.js';
import type { PackedEntries } from './entry-pack.js';
import { type KetamaFlavour, KetamaRing } from './ketama.js';

/**
 * The memcached cluster over memjs: keys placed by ketama (as the application's client does) or by
 * memjs' own `hash % N`; gets and stores sent as batched quiet requests (GETKQ or SETQ/ADDQ frames
 * closed by a NOOP, one buffer each) on memjs' one socket per server, with a bounded window per
 * server; server failures retried with backoff and then reported as failed keys, never thrown.
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
const THIRTY_DAYS_S = 60 * 60 * 24 * 30;
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

export class MemcachedCache implements Cache {
  readonly description: string;
  private readonly client: MemjsClient;
  private readonly servers: MemjsServer[];
  private readonly sockets: Set<Socket>[];
  private readonly placeKey: (key: string) => number;
  private readonly retries: number;
  private readonly concurrency: number;
  private readonly getBatchKeys: number;
  private readonly storeBatchKeys: number;
  private readonly routers: FrameRouter[];
  private readonly deadServerRetryMs: number;
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

    const client = this.client as unknown as { getServer: (key: string) => number };
    if (distribution === 'ketama') {
      const ring = new KetamaRing(options.servers, { flavour: options.ketamaFlavour ?? 'libmemcached' });
      this.placeKey = (key) => ring.serverIndexFor(key);
    } else {
      const modula = client.getServer.bind(client);
      this.placeKey = this.servers.length === 1 ? () => 0 : modula;
    }
    // The passes write to a server directly; should anything call memjs' per-key methods, it places
    // keys as we do.
    client.getServer = (key) => this.placeKey(key);
  }

  /** The server index (in `servers` order) a key is stored on. */
  serverIndexFor(key: string): number {
    return this.placeKey(key);
  }

  /** The last messages from memjs and from failed requests, when no `onLog` was given. */
  recentMessages(): readonly string[] {
    return this.messages;
  }

  async get(keys: readonly string[]): Promise<GetResult> {
    this.assertOpen();
    const result: GetResult = { hits: new Map(), failed: [] };
    const groups = this.groupByServer(keys.length, (i) => keys[i] ?? '');
    await Promise.all(
      groups.map(async (items, s) => {
        const failed = await this.withRetries(s, items, (pending) =>
          new GetPass(this.client, this.servers[s] as MemjsServer, keys, pending, result.hits, this).run(),
        );
        for (const i of failed) result.failed.push(keys[i] ?? '');
      }),
    );
    return result;
  }

  async store(entries: readonly CacheEntry[], mode: 'add' | 'set'): Promise<StoreResult> {
    this.assertOpen();
    const result: StoreResult = { stored: 0, existed: 0, existedKeys: [], failed: [] };
    const groups = this.groupByServer(entries.length, (i) => entries[i]?.key ?? '');
    await Promise.all(
      groups.map(async (items, s) => {
        const failed = await this.withRetries(s, items, (pending) =>
          new StorePass(
            this.client,
            this.servers[s] as MemjsServer,
            this.routers[s] as FrameRouter,
            entries,
            pending,
            mode,
            result,
            this,
          ).run(),
        );
        for (const i of failed) result.failed.push(entries[i]?.key ?? '');
      }),
    );
    return result;
  }

  fill(entries: PackedEntries, mode: 'add' | 'set'): Promise<FillResult> {
    return fillEntries(this, entries, mode);
  }

  check(entries: PackedEntries): Promise<CheckResult> {
    return checkEntries(this, entries);
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

  /** Indices of the items, per server index. */
  private groupByServer(count: number, keyAt: (i: number) => string): number[][] {
    const groups: number[][] = this.servers.map(() => []);
    for (let i = 0; i < count; i++) groups[this.placeKey(keyAt(i))]?.push(i);
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

/** memcached reads an expiry over 30 days as a Unix time: a long TTL must be sent as one. */
export function expiresField(ttl: number, nowMs = Date.now()): number {
  if (!(ttl > 0)) return 0;
  const seconds = Math.ceil(ttl);
  return seconds > THIRTY_DAYS_S ? Math.floor(nowMs / 1000) + seconds : seconds;
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
    private readonly entries: readonly CacheEntry[],
    private readonly items: readonly number[],
    private readonly mode: 'add' | 'set',
    private readonly result: StoreResult,
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
    const { items, entries } = this;
    const frames: number[] = [];
    const keyBytes: number[] = [];
    let size = HEADER_BYTES;
    const limit = this.cache.multiStoreKeys();
    while (this.next < items.length && frames.length < limit) {
      const item = items[this.next] as number;
      const entry = entries[item] as CacheEntry;
      const bytes = Buffer.byteLength(entry.key);
      const frame = HEADER_BYTES + STORE_EXTRAS_BYTES + bytes + entry.value.length;
      if (frames.length > 0 && size + frame > MAX_STORE_REQUEST_BYTES) break;
      this.next++;
      if (bytes === 0 || bytes > MAX_KEY_BYTES) {
        // memcached closes the connection on such a key, failing everything in flight with it.
        this.refuse(item, `the key is ${bytes} bytes (1 to ${MAX_KEY_BYTES} allowed)`);
        continue;
      }
      frames.push(item);
      keyBytes.push(bytes);
      size += frame;
    }
    if (frames.length === 0) return;

    const first = reserveOpaques(this.client, frames.length + 1);
    const buf = Buffer.allocUnsafe(size);
    let offset = 0;
    for (let f = 0; f < frames.length; f++) {
      const entry = entries[frames[f] as number] as CacheEntry;
      const kb = keyBytes[f] as number;
      buf.fill(0, offset, offset + HEADER_BYTES);
      buf[offset] = 0x80;
      buf[offset + 1] = this.opcode;
      buf.writeUInt16BE(kb, offset + 2);
      buf[offset + 4] = STORE_EXTRAS_BYTES;
      buf.writeUInt32BE(STORE_EXTRAS_BYTES + kb + entry.value.length, offset + 8);
      buf.writeUInt32BE(first + f, offset + 12);
      buf.writeUInt32BE(0, offset + HEADER_BYTES);
      buf.writeUInt32BE(this.expires(entry.ttl), offset + HEADER_BYTES + 4);
      offset += HEADER_BYTES + STORE_EXTRAS_BYTES;
      offset += buf.write(entry.key, offset);
      offset += entry.value.copy(buf, offset);
    }
    const noop = first + frames.length;
    buf.fill(0, offset, offset + HEADER_BYTES);
    buf[offset] = 0x80;
    buf[offset + 1] = OPCODE_NOOP;
    buf.writeUInt32BE(noop, offset + 12);

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
      this.result.existed++;
      this.result.existedKeys.push((this.entries[item] as CacheEntry).key);
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
      this.outcome.refused = `first ${JSON.stringify(this.entries[item]?.key)}: ${why}`;
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
 * Per server: hands the answers to individual frames of multi-store requests to their pass. memjs
 * keeps one callback per opaque and drops answers it has none for; registering one per frame would
 * cost a callback entry (and memjs' timeout bookkeeping) per entry stored.
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
 * closed by a NOOP, written as one buffer, at most `concurrency` such requests in flight.
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
    private readonly keys: readonly string[],
    private readonly items: readonly number[],
    private readonly hits: Map<string, Buffer>,
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

  private send(start: number, end: number): void {
    const { client, server, keys, items, hits } = this;
    client.incrSeq();
    const seq = client.seq;
    const onResponse: QuietHandler = (response) => {
      if (response.header.totalBodyLength === 0) {
        // The NOOP: every hit before it has arrived; memjs now drops this request's callbacks.
        this.inFlight--;
        this.pump();
        return;
      }
      const status = response.header.status;
      if (status === 0) hits.set(response.key.toString(), response.val);
      else if (status !== 1)
        this.cache.note(`memcached ${server.host}:${server.port}: get answered status ${status}`);
    };
    onResponse.quiet = true;
    server.onResponse(seq, onResponse);
    server.onError(seq, (err: unknown) => {
      this.inFlight--;
      this.broken = true;
      this.outcome.error = describe(err);
      for (let p = start; p < end; p++) {
        const item = items[p] as number;
        if (!hits.has(keys[item] ?? '')) this.outcome.retry.push(item);
      }
      this.pump();
    });
    server.write(multiGetRequest(keys, items, start, end, seq));
  }
}

/** GETKQ for each key of items[start..end), then NOOP, all with the same opaque. */
function multiGetRequest(
  keys: readonly string[],
  items: readonly number[],
  start: number,
  end: number,
  seq: number,
) {
  let size = HEADER_BYTES;
  for (let p = start; p < end; p++) size += HEADER_BYTES + Buffer.byteLength(keys[items[p] as number] ?? '');
  const buf = Buffer.alloc(size);
  let offset = 0;
  for (let p = start; p < end; p++) {
    const key = keys[items[p] as number] ?? '';
    const keyBytes = buf.write(key, offset + HEADER_BYTES);
    buf[offset] = 0x80;
    buf[offset + 1] = OPCODE_GETKQ;
    buf.writeUInt16BE(keyBytes, offset + 2);
    buf.writeUInt32BE(keyBytes, offset + 8);
    buf.writeUInt32BE(seq, offset + 12);
    offset += HEADER_BYTES + keyBytes;
  }
  buf[offset] = 0x80;
  buf[offset + 1] = OPCODE_NOOP;
  buf.writeUInt32BE(seq, offset + 12);
  return buf;
}

const STATUS_SUCCESS = 0x00;
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

type QuietHandler = ((response: MemjsResponse) => void) & { quiet?: boolean };

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
  onResponse(seq: number, fn: QuietHandler): void;
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
 * It also lets `router` see the answers to frames of multi-store requests before memjs drops them.
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
