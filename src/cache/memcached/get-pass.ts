/** The get pass: reads of one server's packed keys as pipelined multi-get requests. */
import type { Client as MemjsClient, Response as MemjsResponse } from 'memjs';
import type { PackIndex } from '../entry-pack.js';
import type { FrameRouter, Route } from './frame-router.js';
import {
  copyBytes,
  HEADER_BYTES,
  OPCODE_GETKQ,
  OPCODE_NOOP,
  STATUS_KEY_NOT_FOUND,
  STATUS_SUCCESS,
  writeHeader,
} from './frames.js';
import { type MemjsServer, reserveOpaques, sendRequest, serverAddress } from './memjs-adapter.js';
import { describe, newPassFailures, type PassContext, type PassFailures } from './pass.js';

/**
 * Gets of a server's keys as multi-get requests: `getBatchKeys` GETKQ frames (answered only on a hit)
 * closed by a NOOP, written as one buffer, at most `concurrency` such requests in flight. As in a
 * multi-store request, each frame carries its own opaque, so a hit names its entry without its key
 * being read back.
 */
export class GetPass {
  private next = 0;
  private inFlight = 0;
  private pumping = false;
  private broken = false;
  private readonly failures: PassFailures = newPassFailures();
  private resolve: (failures: PassFailures) => void = () => {};

  constructor(
    private readonly client: MemjsClient,
    private readonly server: MemjsServer,
    private readonly router: FrameRouter,
    private readonly pack: PackIndex,
    private readonly items: readonly number[],
    private readonly values: (Buffer | undefined)[],
    private readonly cache: PassContext,
  ) {}

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
      while (this.next < items.length) this.failures.retry.push(items[this.next++] as number);
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
    if (this.inFlight === 0 && this.next >= items.length) this.resolve(this.failures);
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
    sendRequest(
      this.server,
      buf,
      noop,
      () => {
        // Every hit before the NOOP has arrived.
        this.router.remove(route);
        this.inFlight--;
        this.pump();
      },
      (err: unknown) => {
        this.router.remove(route);
        this.inFlight--;
        this.broken = true;
        this.failures.error = describe(err);
        for (let p = start; p < end; p++) {
          const item = items[p] as number;
          if (values[item] === undefined) this.failures.retry.push(item);
        }
        this.pump();
      },
    );
  }

  /** A hit (a miss is not answered), or an error for one key. */
  private onFrame(start: number, first: number, response: MemjsResponse): void {
    const status = response.header.status;
    if (status === STATUS_SUCCESS)
      this.values[this.items[start + response.header.opaque - first] as number] = response.val;
    else if (status !== STATUS_KEY_NOT_FOUND)
      this.cache.note(`memcached ${serverAddress(this.server)}: get answered status ${status}`);
  }
}
