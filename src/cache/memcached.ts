import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import memjs, { type Client as MemjsClient, type Response as MemjsResponse } from 'memjs';
import type { Cache, CacheEntry, GetResult, StoreResult } from './cache.js';
import { type KetamaFlavour, KetamaRing } from './ketama.js';

/**
 * The memcached cluster over memjs: keys placed by ketama (as the application's client does) or by
 * memjs' own `hash % N`, requests pipelined on memjs' one socket per server with a bounded window per
 * server, server failures retried with backoff and then reported as failed keys, never thrown.
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
  /** Requests in flight per server: single add/set requests, or multi-get requests of `getBatchKeys` keys. Default 64. */
  concurrency?: number;
  /** Keys per multi-get request (GETKQ... NOOP in one write). Default 100. */
  getBatchKeys?: number;
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
  deadServerRetryMs: 2000,
};
const FIRST_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 2000;
const THIRTY_DAYS_S = 60 * 60 * 24 * 30;
const KEPT_MESSAGES = 50;

const OPCODE_GETKQ = 0x0d;
const OPCODE_NOOP = 0x0a;
const HEADER_BYTES = 24;
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
  private readonly deadServerRetryMs: number;
  private readonly downUntil: number[];
  private readonly log: (message: string) => void;
  private readonly messages: string[] = [];
  private closed = false;
  private placedKey: string | undefined;
  private placedServer = 0;

  constructor(options: MemcachedCacheOptions) {
    if (options.servers.length === 0) throw new Error('cache.servers lists no memcached server');
    const timeoutS = (options.timeoutMs ?? DEFAULTS.timeoutMs) / 1000;
    const distribution = options.distribution ?? 'modula';
    this.retries = Math.max(0, options.retries ?? DEFAULTS.retries);
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULTS.concurrency);
    this.getBatchKeys = Math.max(1, options.getBatchKeys ?? DEFAULTS.getBatchKeys);
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
    this.sockets = this.servers.map((server) => harden(server));
    this.downUntil = this.servers.map(() => 0);

    const client = this.client as unknown as { getServer: (key: string) => number };
    if (distribution === 'ketama') {
      const ring = new KetamaRing(options.servers, { flavour: options.ketamaFlavour ?? 'libmemcached' });
      this.placeKey = (key) => ring.serverIndexFor(key);
    } else {
      const modula = client.getServer.bind(client);
      this.placeKey = this.servers.length === 1 ? () => 0 : modula;
    }
    // memjs routes every request through getServer: the override makes its placement ours, and skips
    // hashing again a key whose server a pass has just looked up (see `placing`).
    client.getServer = (key) => (key === this.placedKey ? this.placedServer : this.placeKey(key));
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
    const result: StoreResult = { stored: 0, existed: 0, failed: [] };
    const groups = this.groupByServer(entries.length, (i) => entries[i]?.key ?? '');
    const expiry = new ExpiryOptions();
    await Promise.all(
      groups.map(async (items, s) => {
        const failed = await this.withRetries(s, items, (pending) =>
          new StorePass(
            this.client,
            this.servers[s] as MemjsServer,
            s,
            entries,
            pending,
            mode,
            expiry,
            result,
            this,
          ).run(),
        );
        for (const i of failed) result.failed.push(entries[i]?.key ?? '');
      }),
    );
    return result;
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

  /** @internal for the passes: the server of the key about to be handed to memjs, known from grouping. */
  placing(key: string, server: number): void {
    this.placedKey = key;
    this.placedServer = server;
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
  note(message: string): void {
    this.log(message);
  }

  private keep(message: string): void {
    if (this.messages.length >= KEPT_MESSAGES) this.messages.shift();
    this.messages.push(message);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The memcached cache was used after close()');
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
            `${attempt + 1} attempt(s): ${outcome.error}`,
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

/** Per-request memjs options, one object per distinct TTL (memjs only reads `expires`). */
class ExpiryOptions {
  private readonly byTtl = new Map<number, { expires: number }>();

  for(ttl: number): { expires: number } {
    let options = this.byTtl.get(ttl);
    if (options === undefined) {
      options = { expires: expiresField(ttl) };
      this.byTtl.set(ttl, options);
    }
    return options;
  }
}

/** memcached reads an expiry over 30 days as a Unix time: a long TTL must be sent as one. */
export function expiresField(ttl: number, nowMs = Date.now()): number {
  if (!(ttl > 0)) return 0;
  const seconds = Math.ceil(ttl);
  return seconds > THIRTY_DAYS_S ? Math.floor(nowMs / 1000) + seconds : seconds;
}

/**
 * One in-flight slot of a window: its callback is made once per slot, not per key, and reports which
 * item it was carrying.
 */
interface Slot {
  item: number;
  callback: (err: unknown, success: boolean | null) => void;
}

/** add/set of a server's entries, at most `concurrency` requests in flight. */
class StorePass {
  private next = 0;
  private inFlight = 0;
  private pumping = false;
  private broken = false;
  private refillQueued = false;
  private readonly free: Slot[] = [];
  private readonly outcome: Outcome = newOutcome();
  private resolve: (outcome: Outcome) => void = () => {};

  constructor(
    private readonly client: MemjsClient,
    private readonly server: MemjsServer,
    private readonly serverIndex: number,
    private readonly entries: readonly CacheEntry[],
    private readonly items: readonly number[],
    private readonly mode: 'add' | 'set',
    private readonly expiry: ExpiryOptions,
    private readonly result: StoreResult,
    private readonly cache: MemcachedCache,
  ) {
    const slots = Math.min(cache.requestWindow(), items.length);
    for (let i = 0; i < slots; i++) {
      const slot: Slot = { item: -1, callback: (err, success) => this.settle(slot, err, success) };
      this.free.push(slot);
    }
  }

  run(): Promise<Outcome> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.pump();
    });
  }

  private settle(slot: Slot, err: unknown, success: boolean | null): void {
    const item = slot.item;
    this.inFlight--;
    this.free.push(slot);
    if (err) {
      classify(err, item, this.outcome, this.entries[item]?.key);
      if (isServerFailure(err)) this.broken = true;
    } else if (success) {
      this.result.stored++;
    } else {
      this.result.existed++;
    }
    // memjs settles every response of a received chunk in one go: refill once after them, so the
    // freed slots go out corked, in one write, rather than one write per response.
    if (!this.refillQueued) {
      this.refillQueued = true;
      process.nextTick(this.refill);
    }
  }

  private readonly refill = (): void => {
    this.refillQueued = false;
    this.pump();
  };

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const { items, entries } = this;
    if (this.broken) {
      // The socket failed every request on it: don't queue more behind a dead connection, retry them later.
      while (this.next < items.length) this.outcome.retry.push(items[this.next++] as number);
    }
    const socket = this.server.connected ? this.server._socket : undefined;
    socket?.cork();
    try {
      while (this.next < items.length) {
        const slot = this.free.pop();
        if (slot === undefined) break;
        const item = items[this.next++] as number;
        const entry = entries[item] as CacheEntry;
        slot.item = item;
        this.inFlight++;
        this.cache.placing(entry.key, this.serverIndex);
        if (this.mode === 'add')
          this.client.add(entry.key, entry.value, this.expiry.for(entry.ttl), slot.callback);
        else this.client.set(entry.key, entry.value, this.expiry.for(entry.ttl), slot.callback);
      }
    } finally {
      socket?.uncork();
      this.pumping = false;
    }
    if (this.inFlight === 0 && this.next >= items.length) this.resolve(this.outcome);
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

/** memjs reports a memcached status as `MemJS <OP>: <text>`; anything else is the connection failing. */
const STATUS_ERROR = /^MemJS [A-Z]+: (.*)$/;
const TRANSIENT_STATUS = new Set(['Out of memory', 'Busy', 'Temporary failure', 'Internal error']);

function isServerFailure(err: unknown): boolean {
  return !(err instanceof Error && STATUS_ERROR.test(err.message));
}

function classify(err: unknown, item: number, outcome: Outcome, key: string | undefined): void {
  const status = err instanceof Error ? STATUS_ERROR.exec(err.message)?.[1] : undefined;
  if (status === undefined || TRANSIENT_STATUS.has(status)) {
    outcome.retry.push(item);
    outcome.error = describe(err);
  } else {
    // e.g. "Value too large": retrying cannot help.
    outcome.failed.push(item);
    if (outcome.refused === '') outcome.refused = `first ${JSON.stringify(key)}: ${status}`;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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
 */
function harden(server: MemjsServer): Set<Socket> {
  const sockets = new Set<Socket>();
  const originalSock = server.sock;
  const originalError = server.error;

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
    originalError.call(server, err);
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
