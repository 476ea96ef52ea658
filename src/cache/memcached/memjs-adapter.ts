/**
 * The one place that reaches into memjs beyond its documented Client API. What it relies on is memjs 1.3.2's
 * (lib/memjs/memjs.js, lib/memjs/server.js), pinned exactly in package.json and checked by
 * test/unit/memjs-internals.test.ts, which fails when any of it changes:
 * - Client: `servers` (its Server objects, in list order); `seq` (the request counter memjs sends as the
 *   opaque: ranges of it are taken here); `getServer(key)` (replaced, as memjs' comments invite).
 * - Server fields: `host`, `port`; `username`, `password` (cleared so that no SASL is read from the
 *   environment); `connected` and `_socket` (the socket once connected); `responseBuffer` (bytes not yet
 *   parsed); `errorCallbacks` (the requests pending, by opaque).
 * - Server methods: `sock(sasl, go)`, `error(err)` and `respond(response)`, replaced per instance (memjs calls
 *   them through `this`); `onResponse(seq, fn)`, `onError(seq, fn)`, `write(buf)`; the 'authenticated' event.
 */
import type { Socket } from 'node:net';
import memjs, { type Client as MemjsClient, type Response as MemjsResponse } from 'memjs';
import type { FrameRouter } from './frame-router.js';

/** The parts of a memjs Server used here, beyond its typings. */
export interface MemjsServer {
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

export interface MemjsOptions {
  timeoutMs: number;
  /** SASL; when absent no SASL is attempted (memjs would otherwise read MEMCACHE_USERNAME etc.). */
  username?: string | undefined;
  password?: string | undefined;
  log: (message: string) => void;
}

/** Opaques are reset before memjs' counter could overflow the unsigned 32-bit field (see `reserveOpaques`). */
const MAX_OPAQUE = 0x3fffffff;
const EMPTY = Buffer.alloc(0);

/** A memjs client for `servers` (`host:port` each) and its Server objects, in the same order. */
export function openMemjs(
  servers: readonly string[],
  options: MemjsOptions,
): { client: MemjsClient; servers: MemjsServer[] } {
  const timeoutS = options.timeoutMs / 1000;
  const { log } = options;
  const client = memjs.Client.create(servers.join(','), {
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
  const memjsServers = client.servers as unknown as MemjsServer[];
  if (!options.username) {
    for (const server of memjsServers) {
      server.username = undefined;
      server.password = undefined;
    }
  }
  return { client, servers: memjsServers };
}

/**
 * memjs logs one line per failed request ("MemJS: Server <...> failed after ...", "MemJS SET: Value
 * too large"): thousands when a server dies. Those are summed up per server and pass instead.
 */
function forwardMemjsMessage(message: string, log: (message: string) => void): void {
  if (!/^MemJS( [A-Z]+)?: /.test(message)) log(message);
}

/** Makes memjs' own per-key methods, should anything call them, place keys as `serverIndexFor` does. */
export function placeKeysWith(client: MemjsClient, serverIndexFor: (key: string) => number): void {
  (client as unknown as { getServer: (key: string) => number }).getServer = serverIndexFor;
}

/** Takes `count` consecutive opaques from memjs' request counter (shared with its own requests). */
export function reserveOpaques(client: MemjsClient, count: number): number {
  const counter = client as unknown as { seq: number };
  if (counter.seq + count > MAX_OPAQUE) counter.seq = 0;
  const first = counter.seq + 1;
  counter.seq += count;
  return first;
}

/**
 * memjs wraps its request counter with `&= 0xffffffff`, which turns negative past 2^31 and then throws
 * when written as an unsigned opaque. Long before that, start again (nothing in flight is that old).
 */
export function restartOpaquesIfHigh(client: MemjsClient): void {
  const counter = client as unknown as { seq: number };
  if (counter.seq > MAX_OPAQUE) counter.seq = 0;
}

/** `host:port` of a server, as memjs parsed it (without any credentials the list carried). */
export function serverAddress(server: MemjsServer): string {
  return `${server.host}:${server.port}`;
}

/** The server's socket when it is connected (and authenticated), else undefined. */
export function connectedSocket(server: MemjsServer): Socket | undefined {
  return server.connected ? server._socket : undefined;
}

/**
 * Writes a request (connecting first if need be); `onAnswer` runs when the answer to its last frame
 * (opaque `last`) arrives, `onFailure` when the connection fails or times out first.
 */
export function sendRequest(
  server: MemjsServer,
  buf: Buffer,
  last: number,
  onAnswer: () => void,
  onFailure: (err: unknown) => void,
): void {
  server.onResponse(last, onAnswer);
  server.onError(last, onFailure);
  server.write(buf);
}

/** Fails every request in flight on the server (they would otherwise wait for ever). */
export function failPending(server: MemjsServer, why: string): void {
  if (hasPending(server)) server.error(new Error(why));
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
export function harden(server: MemjsServer, router: FrameRouter): Set<Socket> {
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
      failPending(server, 'connection closed by the server');
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

/** Destroys a socket memjs opened, and stops its late events from reaching the server object. */
export function discard(socket: Socket): void {
  socket.removeAllListeners('data');
  socket.removeAllListeners('close');
  socket.removeAllListeners('timeout');
  socket.on('error', () => {});
  socket.destroy();
}
