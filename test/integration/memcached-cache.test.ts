// MemcachedCache against real memcached servers: TEST_MEMCACHED_SERVERS (comma list, default the pool of
// scripts/services.sh). Placement is checked by asking each server directly over the text protocol.
// Failure cases use servers this file starts (and kills) itself, with the `memcached` binary.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import memjs from 'memjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CacheEntry } from '../../src/cache/cache.js';
import { EntryPackBuilder } from '../../src/cache/entry-pack.js';
import { KetamaRing } from '../../src/cache/ketama.js';
import { MemcachedCache, type MemcachedCacheOptions } from '../../src/cache/memcached/memcached-cache.js';

const POOL = (process.env.TEST_MEMCACHED_SERVERS ?? '127.0.0.1:51211,127.0.0.1:51212,127.0.0.1:51213')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s.length > 0);
const MEMCACHED_BIN = process.env.TEST_MEMCACHED_BIN ?? 'memcached';
const RUN = `${process.pid}-${Date.now().toString(36)}`;

let prefixCount = 0;
/** A key prefix no other test (or parallel run) uses. */
function uniquePrefix(name: string): string {
  return `cmtest:${RUN}:${name}:${prefixCount++}:`;
}

const caches: MemcachedCache[] = [];
const usedKeys: string[] = [];
const started: ChildProcess[] = [];

function openCache(options: Partial<MemcachedCacheOptions> = {}): MemcachedCache {
  const cache = new MemcachedCache({ servers: POOL, distribution: 'ketama', timeoutMs: 2000, ...options });
  caches.push(cache);
  return cache;
}

function entriesFor(prefix: string, count: number, value: (i: number) => Buffer, ttl = 600): CacheEntry[] {
  const entries: CacheEntry[] = [];
  for (let i = 0; i < count; i++) entries.push({ key: `${prefix}${i}`, value: value(i), ttl });
  for (const e of entries) usedKeys.push(e.key);
  return entries;
}

afterEach(async () => {
  await Promise.all(caches.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(POOL.map((server) => textDeleteAll(server, usedKeys)));
});

describe('MemcachedCache on the test pool', () => {
  it('stores every key on the server the ketama ring names, and only there', async () => {
    const cache = openCache();
    const entries = entriesFor(uniquePrefix('ketama'), 600, (i) => Buffer.from(`value-${i}`));
    const result = await cache.store(entries, 'set');
    expect(result).toEqual({ stored: 600, existed: 0, existedKeys: [], failed: [] });

    const ring = new KetamaRing(POOL);
    const keys = entries.map((e) => e.key);
    const onServer = await Promise.all(POOL.map((server) => textGetMany(server, keys)));
    const perServer = POOL.map(() => 0);
    for (const [i, key] of keys.entries()) {
      const owner = ring.serverIndexFor(key);
      perServer[owner] = (perServer[owner] ?? 0) + 1;
      const holders = onServer.flatMap((found, s) => (found.has(key) ? [s] : []));
      expect(holders, key).toEqual([owner]);
      expect(onServer[owner]?.get(key)?.toString()).toBe(`value-${i}`);
    }
    // Every server of the pool took part.
    for (const count of perServer) expect(count).toBeGreaterThan(0);
  });

  it("keeps memjs' own hash % N placement for distribution: modula", async () => {
    const cache = openCache({ distribution: 'modula' });
    const entries = entriesFor(uniquePrefix('modula'), 300, (i) => Buffer.from(String(i)));
    expect((await cache.store(entries, 'set')).stored).toBe(300);
    const keys = entries.map((e) => e.key);
    const onServer = await Promise.all(POOL.map((server) => textGetMany(server, keys)));
    for (const key of keys) {
      const owner = memjs.Utils.hashCode(key) % POOL.length;
      expect(
        onServer.flatMap((found, s) => (found.has(key) ? [s] : [])),
        key,
      ).toEqual([owner]);
    }
  });

  it('add never clobbers a live value and counts it as existed', async () => {
    const cache = openCache();
    const prefix = uniquePrefix('add');
    const entries = entriesFor(prefix, 200, (i) => Buffer.from(`new-${i}`));
    const ring = new KetamaRing(POOL);
    // Every tenth key already has a value, written behind the cache's back on its server.
    const existing = entries.filter((_, i) => i % 10 === 0);
    for (const e of existing) await textSet(POOL[ring.serverIndexFor(e.key)] ?? '', e.key, 'old', 600);

    const result = await cache.store(entries, 'add');
    expect({ ...result, existedKeys: [...result.existedKeys].sort() }).toEqual({
      stored: 180,
      existed: 20,
      existedKeys: existing.map((e) => e.key).sort(),
      failed: [],
    });

    const got = await cache.get(entries.map((e) => e.key));
    expect(got.failed).toEqual([]);
    for (const [i, e] of entries.entries()) {
      expect(got.hits.get(e.key)?.toString()).toBe(i % 10 === 0 ? 'old' : `new-${i}`);
    }

    // set, by contrast, overwrites.
    expect(await cache.store(existing, 'set')).toEqual({
      stored: 20,
      existed: 0,
      existedKeys: [],
      failed: [],
    });
    const after = await cache.get(existing.map((e) => e.key));
    for (const e of existing) expect(after.hits.get(e.key)).toEqual(e.value);
  });

  it("recyclePacks: a filled or checked pack's buffer is packed into again, and what was stored stays intact", async () => {
    const packOf = (prefix: string, fill: string) => {
      const b = new EntryPackBuilder(4 << 20);
      for (const e of entriesFor(prefix, 300, (i) => Buffer.from(`${fill}-${i}-${fill.repeat(40)}`))) {
        b.add(e.key, e.value, e.ttl);
      }
      return b.finish();
    };
    for (const recyclePacks of [true, false]) {
      const cache = openCache({ recyclePacks });
      const [p1, p2, p3] = [uniquePrefix('recycle'), uniquePrefix('recycle'), uniquePrefix('recycle')];
      const first = packOf(p1, 'a');
      expect(await cache.fill(first, 'set')).toMatchObject({ stored: 300, failed: [] });
      const second = packOf(p2, 'b');
      // Built in the first pack's buffer (over its bytes) only when recycled.
      expect(second.bytes.buffer === first.bytes.buffer).toBe(recyclePacks);
      expect(await cache.check(second)).toMatchObject({ same: 0, failed: [] });
      expect(await cache.fill(second, 'set')).toMatchObject({ stored: 300, failed: [] });
      const third = packOf(p3, 'c');
      expect(third.bytes.buffer === second.bytes.buffer).toBe(recyclePacks);
      // The servers hold each pack's values as they were when it was filled.
      const got = await cache.get([0, 150, 299].flatMap((i) => [`${p1}${i}`, `${p2}${i}`]));
      for (const i of [0, 150, 299]) {
        expect(got.hits.get(`${p1}${i}`)?.toString()).toBe(`a-${i}-${'a'.repeat(40)}`);
        expect(got.hits.get(`${p2}${i}`)?.toString()).toBe(`b-${i}-${'b'.repeat(40)}`);
      }
    }
  });

  it('round-trips 5000 binary values (all 256 byte values, empty, 200 KB) and reports misses as neither hit nor failed', async () => {
    const cache = openCache();
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, b) => b));
    const entries = entriesFor(uniquePrefix('binary'), 5000, (i) => {
      if (i === 0) return Buffer.alloc(0);
      if (i === 1) return Buffer.alloc(200 * 1024, 0xa5);
      // The 256 byte values in a different rotation for every key, plus the key number.
      const rotated = Buffer.concat([allBytes.subarray(i % 256), allBytes.subarray(0, i % 256)]);
      return Buffer.concat([rotated, Buffer.from(`#${i}\r\nEND\r\n`)]);
    });
    const stored = await cache.store(entries, 'set');
    expect(stored).toEqual({ stored: 5000, existed: 0, existedKeys: [], failed: [] });

    const missing = Array.from({ length: 50 }, (_, i) => `${entries[0]?.key}:missing:${i}`);
    const got = await cache.get([...entries.map((e) => e.key), ...missing]);
    expect(got.failed).toEqual([]);
    for (const key of missing) expect(got.hits.has(key)).toBe(false);
    const notFound: string[] = [];
    for (const e of entries) {
      const value = got.hits.get(e.key);
      if (value === undefined) notFound.push(e.key);
      else expect(value.equals(e.value), e.key).toBe(true);
    }
    await expectEvicted(notFound, entries.length);
  });

  it('honours TTLs, including ones over 30 days (sent as a Unix time)', async () => {
    const cache = openCache();
    const prefix = uniquePrefix('ttl');
    const short = entriesFor(`${prefix}short:`, 20, () => Buffer.from('x'), 1);
    const long = entriesFor(`${prefix}long:`, 20, () => Buffer.from('y'), 90 * 24 * 3600);
    const none = entriesFor(`${prefix}none:`, 20, () => Buffer.from('z'), 0);
    await cache.store([...short, ...long, ...none], 'set');
    await sleep(2500);
    const got = await cache.get([...short, ...long, ...none].map((e) => e.key));
    for (const e of short) expect(got.hits.has(e.key)).toBe(false);
    for (const e of [...long, ...none]) expect(got.hits.has(e.key)).toBe(true);
  });
});

describe('MemcachedCache fill and check of packed batches on the test pool', () => {
  /** A pack of [key, value] pairs; keys memcached refuses are not recorded for cleanup. */
  function pack(entries: readonly [string, string][]) {
    const b = new EntryPackBuilder();
    for (const [key, value] of entries) {
      b.add(key, value, 600);
      if (key.length > 0 && key.length <= 250) usedKeys.push(key);
    }
    return b.finish();
  }

  for (const distribution of ['ketama', 'modula'] as const) {
    it(`${distribution}: a key packed more than once is stored once, with its first value; add and check accept any of its values`, async () => {
      const cache = openCache({ distribution });
      const prefix = uniquePrefix(`packed-${distribution}`);
      const owner = (key: string) =>
        distribution === 'ketama'
          ? new KetamaRing(POOL).serverIndexFor(key)
          : memjs.Utils.hashCode(key) % POOL.length;
      const keys = Array.from({ length: 1000 }, (_, i) => `${prefix}${i}${i % 10 === 0 ? ':é' : ''}`);
      // Every key with its first value; then again with another value; every third key a third time.
      const entries: [string, string][] = keys.map((key, i) => [key, `first-${i}`]);
      for (const [i, key] of keys.entries()) entries.push([key, `second-${i}`]);
      for (const [i, key] of keys.entries()) if (i % 3 === 0) entries.push([key, `third-${i}`]);
      const tooLong = `${prefix}${'x'.repeat(251)}`;
      entries.splice(500, 0, ['', 'refused: empty key'], [tooLong, 'refused: over 250 bytes']);

      const filled = await cache.fill(pack(entries), 'add');
      expect({ ...filled, failed: [...filled.failed].sort() }).toEqual({
        stored: 1000,
        same: 0,
        different: [],
        failed: ['', tooLong].sort(),
      });
      const onServer = await Promise.all(POOL.map((server) => textGetMany(server, keys)));
      for (const [i, key] of keys.entries()) {
        // The text-protocol reader reads keys as Latin-1.
        const asRead = Buffer.from(key).toString('latin1');
        expect(
          onServer.flatMap((found, s) => (found.has(asRead) ? [s] : [])),
          key,
        ).toEqual([owner(key)]);
        expect(onServer[owner(key)]?.get(asRead)?.toString(), key).toBe(`first-${i}`);
      }

      // The application changed key 7 meanwhile. Packed again, the stored value never first, every key
      // matches one of its values but key 7; a key not stored before is stored (its first value).
      await textSet(POOL[owner(keys[7] ?? '')] ?? '', keys[7] ?? '', 'app value', 600);
      const fresh = `${prefix}fresh`;
      const again: [string, string][] = [];
      for (const [i, key] of keys.slice(0, 30).entries()) {
        if (i % 2 === 0) again.push([key, `third-${i}`], [key, `first-${i}`]);
        else again.push([key, `second-${i}`], [key, `first-${i}`], [key, `third-${i}`]);
      }
      again.push([fresh, 'new'], [fresh, 'newer']);
      const refilled = await cache.fill(pack(again), 'add');
      expect(refilled).toEqual({ stored: 1, same: 29, different: [keys[7]], failed: [] });

      const missing = `${prefix}missing`;
      const checked = await cache.check(
        pack([
          [keys[1] ?? '', 'wrong'],
          [keys[1] ?? '', 'first-1'],
          [keys[2] ?? '', 'wrong'],
          [keys[7] ?? '', 'first-7'],
          [missing, 'm'],
          [missing, 'm2'],
          [fresh, 'newer'],
          [fresh, 'new'],
        ]),
      );
      expect(checked).toEqual({ same: 2, missing: [missing], different: [keys[2], keys[7]], failed: [] });
    });
  }
});

describe('MemcachedCache when a server fails', () => {
  it('reports the keys of a server with nothing listening as failed, quickly, and serves the others', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const servers = [...POOL, dead];
    const ring = new KetamaRing(servers);
    const messages: string[] = [];
    const cache = openCache({ servers, timeoutMs: 500, retries: 2, onLog: (m) => messages.push(m) });
    const entries = entriesFor(uniquePrefix('refused'), 3000, (i) => Buffer.from(`v${i}`));
    const deadKeys = entries.filter((e) => ring.serverIndexFor(e.key) === 3).map((e) => e.key);
    expect(deadKeys.length).toBeGreaterThan(300);

    let start = performance.now();
    const stored = await cache.store(entries, 'set');
    expect(performance.now() - start).toBeLessThan(3000);
    expect(stored.stored).toBe(3000 - deadKeys.length);
    expect(new Set(stored.failed)).toEqual(new Set(deadKeys));
    expect(messages.some((m) => m.includes(dead) && /ECONNREFUSED/.test(m))).toBe(true);

    start = performance.now();
    const got = await cache.get(entries.map((e) => e.key));
    expect(performance.now() - start).toBeLessThan(3000);
    expect(new Set(got.failed)).toEqual(new Set(deadKeys));
    expect(got.hits.size).toBe(3000 - deadKeys.length);
  });

  it('fails the requests in flight when the server is killed mid-batch, then recovers when it is back', async () => {
    const own = await startMemcached();
    const servers = [...POOL, own.address];
    const ring = new KetamaRing(servers);
    const cache = openCache({ servers, timeoutMs: 1000, retries: 1, deadServerRetryMs: 100 });
    const entries = entriesFor(uniquePrefix('killed'), 200_000, (i) => Buffer.alloc(16, i % 256));
    const ownKeys = new Set(entries.filter((e) => ring.serverIndexFor(e.key) === 3).map((e) => e.key));

    // Warm the connection, then kill the server while a large store is in flight.
    expect((await cache.store(entries.slice(0, 100), 'set')).failed).toEqual([]);
    const storing = cache.store(entries, 'set');
    await sleep(20);
    own.process.kill('SIGKILL');
    const start = performance.now();
    const result = await storing;
    expect(performance.now() - start).toBeLessThan(5000);
    expect(result.failed.length).toBeGreaterThan(0);
    for (const key of result.failed) expect(ownKeys.has(key), key).toBe(true);
    expect(result.stored + result.failed.length).toBe(entries.length);

    // Down: its keys fail at once, the others are served.
    const got = await cache.get(entries.map((e) => e.key));
    expect(new Set(got.failed)).toEqual(ownKeys);
    for (const key of ownKeys) expect(got.hits.has(key)).toBe(false);
    const poolKeys = entries.filter((e) => !ownKeys.has(e.key)).map((e) => e.key);
    await expectEvicted(
      poolKeys.filter((key) => !got.hits.has(key)),
      poolKeys.length,
    );

    // Back on the same port: the next batch after deadServerRetryMs reaches it again.
    const again = await startMemcached(own.port);
    await sleep(150);
    const restored = await cache.store(entries.slice(0, 500), 'set');
    expect(restored).toEqual({ stored: 500, existed: 0, existedKeys: [], failed: [] });
    again.process.kill('SIGKILL');
  });

  it('fails the requests in flight when a server closes the connection without answering', async () => {
    // A "server" that reads the requests and then closes cleanly (FIN, no error, no reply), as a
    // memcached going away can: memjs alone would leave those requests waiting forever.
    const closer = net.createServer((socket) => {
      socket.once('data', () => setTimeout(() => socket.end(), 20));
      socket.on('error', () => {});
    });
    await new Promise<void>((done) => closer.listen(0, '127.0.0.1', done));
    const address = closer.address();
    const servers = [...POOL, `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`];
    const ring = new KetamaRing(servers);
    try {
      const cache = openCache({ servers, timeoutMs: 5000, retries: 1 });
      const entries = entriesFor(uniquePrefix('closed'), 1000, (i) => Buffer.from(`c${i}`));
      const closerKeys = new Set(entries.filter((e) => ring.serverIndexFor(e.key) === 3).map((e) => e.key));
      const start = performance.now();
      const stored = await cache.store(entries, 'set');
      const got = await cache.get(entries.map((e) => e.key));
      // Well under the 5 s request timeout: the close itself failed them.
      expect(performance.now() - start).toBeLessThan(2500);
      expect(new Set(stored.failed)).toEqual(closerKeys);
      expect(stored.stored).toBe(entries.length - closerKeys.size);
      expect(new Set(got.failed)).toEqual(closerKeys);
    } finally {
      closer.close();
    }
  });

  it('recovers after a timeout that cut a response in half', async () => {
    // First connection: half a response header, then silence. Later ones: a proxy to a real server.
    // memjs keeps the half header and would parse every later response after it.
    const target = hostPort(POOL[0] ?? '');
    const open = new Set<net.Socket>();
    let connections = 0;
    const flaky = net.createServer((socket) => {
      open.add(socket);
      socket.on('error', () => {});
      if (connections++ === 0) {
        socket.once('data', () => socket.write(Buffer.from([0x81, 0x01, 0x00, 0x00, 0x00, 0x00])));
        return;
      }
      const upstream = net.connect(target.port, target.host);
      open.add(upstream);
      upstream.on('error', () => socket.destroy());
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((done) => flaky.listen(0, '127.0.0.1', done));
    const address = flaky.address();
    const servers = [...POOL, `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`];
    const ring = new KetamaRing(servers);
    try {
      const cache = openCache({ servers, timeoutMs: 300, retries: 2 });
      const entries = entriesFor(uniquePrefix('halved'), 400, (i) => Buffer.from(`h${i}`));
      expect(entries.filter((e) => ring.serverIndexFor(e.key) === 3).length).toBeGreaterThan(20);
      expect(await cache.store(entries, 'set')).toEqual({
        stored: 400,
        existed: 0,
        existedKeys: [],
        failed: [],
      });
      const got = await cache.get(entries.map((e) => e.key));
      expect(got.failed).toEqual([]);
      for (const e of entries) expect(got.hits.get(e.key)?.toString()).toBe(e.value.toString());
      expect(connections).toBeGreaterThan(1);
    } finally {
      for (const socket of open) socket.destroy();
      flaky.close();
    }
  });

  it('times out on a hung server (SIGSTOP) within the bounds, and reads correctly once it resumes', async () => {
    const own = await startMemcached();
    const servers = [...POOL, own.address];
    const ring = new KetamaRing(servers);
    const cache = openCache({ servers, timeoutMs: 300, retries: 2, deadServerRetryMs: 100 });
    const entries = entriesFor(uniquePrefix('hung'), 2000, (i) => Buffer.from(`hung-${i}`));
    const ownKeys = new Set(entries.filter((e) => ring.serverIndexFor(e.key) === 3).map((e) => e.key));
    expect((await cache.store(entries, 'set')).failed).toEqual([]);

    own.process.kill('SIGSTOP');
    try {
      const start = performance.now();
      const got = await cache.get(entries.map((e) => e.key));
      // Three attempts of at most 300 ms each, plus 50 + 100 ms of backoff.
      expect(performance.now() - start).toBeLessThan(2500);
      expect(new Set(got.failed)).toEqual(ownKeys);
      expect(got.hits.size).toBe(entries.length - ownKeys.size);
    } finally {
      own.process.kill('SIGCONT');
    }
    await sleep(150);
    // Late answers to the timed-out requests must not be mistaken for answers to new ones.
    const got = await cache.get(entries.map((e) => e.key));
    expect(got.failed).toEqual([]);
    for (const e of entries) expect(got.hits.get(e.key)?.toString()).toBe(e.value.toString());
    own.process.kill('SIGKILL');
  });

  it('close() lets the process exit, even with a dead and a hung server in the list', async () => {
    const hung = await startMemcached();
    const dead = `127.0.0.1:${await freePort()}`;
    const dir = mkdtempSync(join(tmpdir(), 'cache-close-'));
    const script = join(dir, 'close.mts');
    const module = resolve('src/cache/memcached/memcached-cache.ts');
    writeFileSync(
      script,
      [
        `import { MemcachedCache } from ${JSON.stringify(module)};`,
        `const cache = new MemcachedCache({ servers: ${JSON.stringify([POOL[0], dead, hung.address])}, distribution: 'ketama', timeoutMs: 300, retries: 1 });`,
        `const entries = Array.from({ length: 300 }, (_, i) => ({ key: ${JSON.stringify(uniquePrefix('close'))} + i, value: Buffer.from('v'), ttl: 60 }));`,
        `await cache.store(entries.slice(0, 10), 'set');`,
        `process.kill(${hung.process.pid}, 'SIGSTOP');`,
        `const r = await cache.store(entries, 'set');`,
        `console.log(JSON.stringify({ stored: r.stored, failed: r.failed.length }));`,
        `await cache.close();`,
      ].join('\n'),
    );
    try {
      const start = performance.now();
      const { code, stdout } = await runNode(['--import', 'tsx', script], 20_000);
      expect(code).toBe(0);
      const summary = JSON.parse(stdout.trim()) as { stored: number; failed: number };
      expect(summary.stored + summary.failed).toBe(300);
      expect(summary.failed).toBeGreaterThan(0);
      expect(performance.now() - start).toBeLessThan(15_000);
    } finally {
      hung.process.kill('SIGCONT');
      hung.process.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The pool is shared and small: other tests' writes can evict entries before they are read back.
 * A key the cache did not return must then be absent from every pool server too (the cache reported
 * what the servers hold), and evictions must stay a small minority.
 */
async function expectEvicted(notFound: readonly string[], total: number): Promise<void> {
  expect(notFound.length / total).toBeLessThan(0.1);
  if (notFound.length === 0) return;
  const held = await Promise.all(POOL.map((server) => textGetMany(server, notFound)));
  expect(held.map((found) => found.size)).toEqual(POOL.map(() => 0));
}

// ------------------------------------------------------------------------------------------------
// Servers and a minimal text-protocol client, to look at the servers without the code under test.

function hostPort(server: string): { host: string; port: number } {
  const colon = server.lastIndexOf(':');
  return { host: server.slice(0, colon), port: Number(server.slice(colon + 1)) };
}

/** Sends `request`, collects the reply until `complete(reply)` says it is whole. */
function textExchange(
  server: string,
  request: Buffer,
  complete: (reply: Buffer) => boolean,
): Promise<Buffer> {
  const { host, port } = hostPort(server);
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, host, () => socket.write(request));
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no reply from ${server}`)));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const reply = Buffer.concat(chunks);
      if (complete(reply)) {
        socket.destroy();
        resolvePromise(reply);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolvePromise(Buffer.concat(chunks)));
  });
}

/** `get` of all keys, 100 per command; returns what the server holds. */
async function textGetMany(server: string, keys: readonly string[]): Promise<Map<string, Buffer>> {
  const commands: string[] = [];
  for (let i = 0; i < keys.length; i += 100) commands.push(`get ${keys.slice(i, i + 100).join(' ')}\r\n`);
  const reply = await textExchange(
    server,
    Buffer.from(commands.join('')),
    (r) => countEnds(r) === commands.length,
  );
  return parseValues(reply);
}

/** Parses VALUE blocks, reading values by their byte count (they may contain "END\r\n"). */
function parseValues(reply: Buffer): Map<string, Buffer> & { ends?: number } {
  const found = new Map<string, Buffer>() as Map<string, Buffer> & { ends?: number };
  let offset = 0;
  let ends = 0;
  while (offset < reply.length) {
    const eol = reply.indexOf('\r\n', offset);
    if (eol < 0) break;
    const line = reply.toString('latin1', offset, eol);
    offset = eol + 2;
    if (line === 'END') {
      ends++;
      continue;
    }
    const [word, key, , bytes] = line.split(' ');
    if (word !== 'VALUE' || key === undefined || bytes === undefined)
      throw new Error(`unexpected line ${line}`);
    const length = Number(bytes);
    if (offset + length + 2 > reply.length) break;
    found.set(key, reply.subarray(offset, offset + length));
    offset += length + 2;
  }
  found.ends = ends;
  return found;
}

function countEnds(reply: Buffer): number {
  return parseValues(reply).ends ?? 0;
}

async function textSet(server: string, key: string, value: string, ttl: number): Promise<void> {
  const reply = await textExchange(
    server,
    Buffer.from(`set ${key} 0 ${ttl} ${Buffer.byteLength(value)}\r\n${value}\r\n`),
    (r) => r.includes('\r\n'),
  );
  if (reply.toString() !== 'STORED\r\n') throw new Error(`set ${key} on ${server}: ${reply.toString()}`);
}

async function textDeleteAll(server: string, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  const request = `${keys.map((k) => `delete ${k} noreply\r\n`).join('')}version\r\n`;
  await textExchange(server, Buffer.from(request), (r) => r.includes('VERSION')).catch(() => {});
}

async function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolvePromise(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A memcached of this test's own, in the foreground so that it can be stopped and killed. */
async function startMemcached(
  port?: number,
): Promise<{ process: ChildProcess; port: number; address: string }> {
  const chosen = port ?? (await freePort());
  const args = ['-l', '127.0.0.1', '-p', String(chosen), '-U', '0', '-m', '64'];
  if (process.getuid?.() === 0) args.push('-u', 'root');
  const child = spawn(MEMCACHED_BIN, args, { stdio: 'ignore' });
  started.push(child);
  const address = `127.0.0.1:${chosen}`;
  for (let i = 0; i < 100; i++) {
    const reply = await textExchange(address, Buffer.from('version\r\n'), (r) => r.includes('\r\n')).catch(
      () => undefined,
    );
    if (reply?.toString().startsWith('VERSION')) return { process: child, port: chosen, address };
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`${MEMCACHED_BIN} did not start on ${address}`);
}

function runNode(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, args, { cwd: resolve('.'), stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout });
    });
  });
}
