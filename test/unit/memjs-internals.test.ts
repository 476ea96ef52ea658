// The memjs internals src/cache/memcached/memjs-adapter.ts relies on (its header lists them), checked against
// the installed memjs: an upgrade that renames or reshapes one fails here, naming it, before a run can go
// wrong. No memcached needed: the socket checks talk to a scripted TCP listener in this process.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server as NetServer, Socket } from 'node:net';
import memjs from 'memjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FrameRouter } from '../../src/cache/memcached/frame-router.js';
import { HEADER_BYTES, OPCODE_GETKQ, OPCODE_NOOP, writeHeader } from '../../src/cache/memcached/frames.js';
import {
  connectedSocket,
  discard,
  harden,
  type MemjsServer,
  openMemjs,
  placeKeysWith,
  reserveOpaques,
  sendRequest,
} from '../../src/cache/memcached/memjs-adapter.js';

const PINNED = '1.3.2';
const VERSION = (createRequire(import.meta.url)('memjs/package.json') as { version: string }).version;

/** The failure message: which memjs, which internal, and where it is relied on. */
function internal(what: string): string {
  return `memjs ${VERSION}: ${what}; src/cache/memcached/memjs-adapter.ts relies on it (see its header)`;
}

function open(servers: string[]) {
  const messages: string[] = [];
  return { ...openMemjs(servers, { timeoutMs: 2000, log: (m) => messages.push(m) }), messages };
}

/** Own properties and prototype methods alike, as plain values. */
function fields(object: unknown): Record<string, unknown> {
  return object as Record<string, unknown>;
}

describe('memjs is the version the adapter was written against', () => {
  it(`is pinned at exactly ${PINNED} and installed at it`, () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies.memjs, 'package.json must pin memjs exactly (no ^ or ~)').toBe(PINNED);
    expect(
      VERSION,
      internal(`installed version; re-check every internal the adapter lists against ${VERSION}`),
    ).toBe(PINNED);
  });
});

describe('memjs Client internals', () => {
  it('has its Server objects in `servers`, in list order', () => {
    const { client, servers } = open(['127.0.0.1:11311', 'cache-b:11312']);
    const raw = fields(client);
    expect(Array.isArray(raw.servers), internal('Client#servers is an array')).toBe(true);
    expect(servers, internal('Client#servers holds one Server per listed server')).toHaveLength(2);
    for (const server of servers)
      expect(server, internal('Client#servers[i] is a memjs.Server')).toBeInstanceOf(memjs.Server);
    expect([servers[0]?.host, servers[1]?.host], internal('Server#host, in list order')).toEqual([
      '127.0.0.1',
      'cache-b',
    ]);
    expect([servers[0]?.port, servers[1]?.port], internal('Server#port, a number')).toEqual([11311, 11312]);
  });

  it('counts its requests in `seq`, which reserveOpaques advances', () => {
    const { client } = open(['127.0.0.1:11311']);
    const raw = fields(client);
    expect(typeof raw.seq, internal('Client#seq (the request counter) is a number')).toBe('number');
    const before = raw.seq as number;
    (client as unknown as { incrSeq(): void }).incrSeq();
    expect(raw.seq, internal("Client#seq is what memjs' own requests advance (incrSeq)")).toBe(before + 1);
    const first = reserveOpaques(client, 10);
    expect(first).toBe(before + 2);
    expect(raw.seq, internal('Client#seq is writable')).toBe(before + 11);
  });

  it('places keys through `getServer`, which can be replaced', () => {
    const { client, servers } = open(['127.0.0.1:11311', '127.0.0.1:11312', '127.0.0.1:11313']);
    expect(typeof fields(client).getServer, internal('Client#getServer is a method')).toBe('function');
    placeKeysWith(client, () => 2);
    const chosen = (client as unknown as { server(key: string): unknown }).server('any key');
    expect(chosen, internal("Client#server(key) asks this.getServer(key) for the server's index")).toBe(
      servers[2],
    );
  });
});

describe('memjs Server internals', () => {
  it('has the fields the adapter reads and writes', () => {
    vi.stubEnv('MEMCACHE_USERNAME', 'from-env');
    vi.stubEnv('MEMCACHE_PASSWORD', 'from-env');
    try {
      const [server] = open(['127.0.0.1:11311']).servers;
      const raw = fields(server);
      for (const name of ['username', 'password']) {
        expect(
          Object.hasOwn(raw, name),
          internal(`Server#${name} is an own field (SASL is tried when set)`),
        ).toBe(true);
        expect(raw[name], internal(`Server#${name} is cleared when no SASL is configured`)).toBeUndefined();
      }
      expect(raw.connected, internal('Server#connected is false before connecting')).toBe(false);
      expect(raw._socket, internal('Server#_socket is absent before connecting')).toBeUndefined();
      expect(Buffer.isBuffer(raw.responseBuffer), internal('Server#responseBuffer is a Buffer')).toBe(true);
      expect(typeof raw.errorCallbacks, internal('Server#errorCallbacks is an object keyed by opaque')).toBe(
        'object',
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it.each([
    ['sock', 2],
    ['error', 1],
    ['respond', 1],
    ['onResponse', 2],
    ['onError', 2],
    ['write', 1],
    ['removeAllListeners', 1],
  ])('has the method %s(%i arguments)', (name, arity) => {
    const [server] = open(['127.0.0.1:11311']).servers;
    const method = fields(server)[name];
    expect(typeof method, internal(`Server#${name} is a method`)).toBe('function');
    expect(
      (method as (...args: unknown[]) => unknown).length,
      internal(`Server#${name} takes ${arity} argument(s)`),
    ).toBe(arity);
  });
});

/** A TCP listener whose connections are handed to `onConnection`. */
async function listen(onConnection: (socket: Socket) => void): Promise<{ net: NetServer; port: number }> {
  const net = createServer(onConnection);
  await new Promise<void>((resolve) => net.listen(0, '127.0.0.1', resolve));
  const address = net.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return { net, port: address.port };
}

/** A response frame: magic 0x81, the opcode, status 0, the opaque; `value` as its body with 4 bytes of flags. */
function answer(opcode: number, opaque: number, value = ''): Buffer {
  const extras = value === '' ? 0 : 4;
  const body = Buffer.concat([Buffer.alloc(extras), Buffer.from(value)]);
  const frame = Buffer.alloc(HEADER_BYTES + body.length);
  frame[0] = 0x81;
  frame[1] = opcode;
  frame[4] = extras;
  frame.writeUInt32BE(body.length, 8);
  frame.writeUInt32BE(opaque, 12);
  body.copy(frame, HEADER_BYTES);
  return frame;
}

/** One GETKQ of key `k` with opaque `first`, then a NOOP with `first + 1`. */
function getRequest(first: number): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES * 2 + 1);
  const at = writeHeader(buf, 0, OPCODE_GETKQ, 1, 0, 1, first);
  buf[at] = 'k'.charCodeAt(0);
  writeHeader(buf, at + 1, OPCODE_NOOP, 0, 0, 0, first + 1);
  return buf;
}

describe('memjs Server behaviour the adapter builds on, over a socket', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  async function connect(onConnection: (socket: Socket) => void) {
    const { net, port } = await listen(onConnection);
    const { client, servers } = open([`127.0.0.1:${port}`]);
    const server = servers[0] as MemjsServer;
    const router = new FrameRouter();
    const sockets = harden(server, router);
    cleanups.push(() => {
      client.close();
      for (const socket of sockets) discard(socket);
      net.close();
    });
    return { client, server, router, sockets };
  }

  it('hands every answer to respond() through the instance, and keys callbacks by opaque', async () => {
    const { client, server, router, sockets } = await connect((socket) => {
      let got = 0;
      socket.on('data', (data) => {
        got += data.length;
        if (got < HEADER_BYTES * 2 + 1) return;
        const first = data.readUInt32BE(12);
        socket.write(Buffer.concat([answer(OPCODE_GETKQ, first, 'v'), answer(OPCODE_NOOP, first + 1)]));
      });
    });
    const first = reserveOpaques(client, 2);
    const hits: string[] = [];
    router.add({ first, end: first + 1, onFrame: (response) => hits.push(response.val.toString()) });
    const done = new Promise<unknown>((resolve, reject) => {
      sendRequest(server, getRequest(first), first + 1, () => resolve('answered'), reject);
    });
    expect(
      Object.keys(server.errorCallbacks),
      internal('Server#onError(seq) files the callback in errorCallbacks[seq]'),
    ).toEqual([String(first + 1)]);
    expect(await done).toBe('answered');
    expect(
      hits,
      internal('Server#respond, replaced on the instance, sees each answer (memjs calls this.respond)'),
    ).toEqual(['v']);
    expect(Object.keys(server.errorCallbacks), internal('an answered request leaves errorCallbacks')).toEqual(
      [],
    );
    const socket = connectedSocket(server);
    expect(socket, internal('Server#_socket is the socket once Server#connected')).toBeInstanceOf(Socket);
    expect(
      sockets.has(socket as Socket),
      internal('Server#sock(sasl, go), replaced, sets Server#_socket'),
    ).toBe(true);
  });

  it('fails the requests in flight through error() when the server closes the connection', async () => {
    const { client, server, router } = await connect((socket) => socket.on('data', () => socket.destroy()));
    const first = reserveOpaques(client, 2);
    router.add({ first, end: first + 1, onFrame: () => {} });
    const failure = await new Promise<unknown>((resolve) => {
      sendRequest(server, getRequest(first), first + 1, () => resolve('answered'), resolve);
    });
    expect(String(failure), internal('Server#error(err) calls each errorCallbacks entry')).toMatch(
      /connection closed by the server/,
    );
    expect(
      server.responseBuffer.length,
      internal('Server#responseBuffer is reset by the replaced error()'),
    ).toBe(0);
    expect(Object.keys(server.errorCallbacks), internal('Server#error(err) empties errorCallbacks')).toEqual(
      [],
    );
    expect(connectedSocket(server), internal('Server#error(err) drops Server#_socket')).toBeUndefined();
  });
});
