/** The store pass: add/set of one server's packed entries as pipelined multi-store requests. */
import type { Client as MemjsClient, Response as MemjsResponse } from 'memjs';
import type { ItemsStored } from '../bulk.js';
import type { PackIndex } from '../entry-pack.js';
import type { FrameRouter, Route } from './frame-router.js';
import {
  copyBytes,
  expiresField,
  HEADER_BYTES,
  MAX_KEY_BYTES,
  OPCODE_ADDQ,
  OPCODE_NOOP,
  OPCODE_SETQ,
  STATUS_KEY_EXISTS,
  STATUS_NOT_STORED,
  STATUS_SUCCESS,
  STORE_EXTRAS_BYTES,
  statusText,
  TRANSIENT_STATUS,
  writeHeader,
  writeUInt32,
} from './frames.js';
import { connectedSocket, type MemjsServer, reserveOpaques, sendRequest } from './memjs-adapter.js';
import { describe, newPassFailures, type PassContext, type PassFailures } from './pass.js';

/** One multi-store request is cut here (unless its first entry alone is larger)... */
const MAX_STORE_REQUEST_BYTES = 256 * 1024;
/** ...and a pass stops sending to a server with this much unanswered, so timeouts measure the server, not the queue. */
const MAX_STORE_INFLIGHT_BYTES = 4 * 1024 * 1024;

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
 * NOOP is back, every frame not answered was stored. A request per entry (memjs' own add/set) would
 * cost a round trip and a callback per entry.
 */
export class StorePass {
  private next = 0;
  private inFlight = 0;
  private inFlightBytes = 0;
  private pumping = false;
  private broken = false;
  private readonly failures: PassFailures = newPassFailures();
  private resolve: (failures: PassFailures) => void = () => {};
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
    private readonly cache: PassContext,
  ) {
    this.opcode = mode === 'add' ? OPCODE_ADDQ : OPCODE_SETQ;
  }

  run(): Promise<PassFailures> {
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
      while (this.next < items.length) this.failures.retry.push(items[this.next++] as number);
    }
    const window = this.cache.requestWindow();
    const socket = connectedSocket(this.server);
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
    if (this.inFlight === 0 && this.next >= items.length) this.resolve(this.failures);
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
    this.inFlight++;
    this.inFlightBytes += size;
    sendRequest(
      this.server,
      buf,
      noop,
      () => {
        this.router.remove(route);
        this.settle(request, null);
      },
      (err: unknown) => {
        this.router.remove(route);
        this.settle(request, err);
      },
    );
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
      this.failures.retry.push(item);
      this.failures.error = `memcached answered ${statusText(status)}`;
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
      this.failures.error = describe(err);
      for (let f = 0; f < frames.length; f++)
        if (answered[f] === 0) this.failures.retry.push(frames[f] as number);
    }
    this.pump();
  }

  private refuse(item: number, why: string): void {
    this.failures.failed.push(item);
    if (this.failures.refused === '') {
      this.failures.refused = `first ${JSON.stringify(this.pack.key(item))}: ${why}`;
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
