// The memcached cache on its worker thread (ThreadedCache, as `migrate` runs it from the build) against real
// servers: packed fills and checks, get/store through the thread, a dead server, and close. Each key is read
// back from the server ketama names with a plain memjs client per server (not through our code).
import { existsSync } from 'node:fs';
import net from 'node:net';
import memjs from 'memjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EntryPackBuilder, spareBuffers } from '../../src/cache/entry-pack.js';
import { KetamaRing } from '../../src/cache/ketama.js';
import type { MemcachedCacheOptions } from '../../src/cache/memcached/memcached-cache.js';
import { ThreadedCache } from '../../src/cache/threaded.js';

const POOL = (process.env.TEST_MEMCACHED_SERVERS ?? '127.0.0.1:51211,127.0.0.1:51212,127.0.0.1:51213')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s.length > 0);
const WORKER = new URL('../../dist/cache/cache-worker.js', import.meta.url);
const RUN = `${process.pid}-${Date.now().toString(36)}`;

const caches: ThreadedCache[] = [];
const direct = POOL.map((server) => memjs.Client.create(server, { retries: 1, timeout: 2, failover: false }));
const written: string[] = [];

function open(options: Partial<MemcachedCacheOptions> = {}): ThreadedCache {
  const cache = new ThreadedCache(
    { servers: POOL, distribution: 'ketama', timeoutMs: 2000, ...options },
    WORKER,
  );
  caches.push(cache);
  return cache;
}

function pack(entries: [string, string][], ttl = 600) {
  const b = new EntryPackBuilder();
  for (const [k, v] of entries) {
    b.add(k, v, ttl);
    written.push(k);
  }
  return b.finish();
}

async function readDirect(key: string): Promise<string | undefined> {
  const server = new KetamaRing(POOL).serverIndexFor(key);
  const { value } = await direct[server]!.get(key);
  return value?.toString();
}

beforeAll(() => {
  if (!existsSync(WORKER)) throw new Error(`${WORKER.pathname} is missing: run \`npm run build\` first`);
});

afterEach(async () => {
  await Promise.all(caches.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await Promise.all(
    written.map((k) => direct[new KetamaRing(POOL).serverIndexFor(k)]!.delete(k).catch(() => false)),
  );
  for (const c of direct) c.close();
});

describe('ThreadedCache on the test pool', () => {
  it('fills a packed batch: every entry stored on its ketama server; add compares what was there', async () => {
    const cache = open();
    const prefix = `cmthread:${RUN}:fill:`;
    const entries: [string, string][] = [];
    for (let i = 0; i < 20_000; i++) entries.push([`${prefix}${i}`, `{"id":${i},"note":"é ${i}"}`]);
    const first = await cache.fill(pack(entries), 'add');
    expect(first).toEqual({ stored: 20_000, same: 0, different: [], failed: [] });
    for (const i of [0, 1, 777, 12_345, 19_999])
      expect(await readDirect(`${prefix}${i}`)).toBe(entries[i]![1]);

    // The application changed two entries meanwhile: add leaves them and names them; the rest match.
    await direct[new KetamaRing(POOL).serverIndexFor(`${prefix}5`)]!.set(`${prefix}5`, 'app value', {});
    await direct[new KetamaRing(POOL).serverIndexFor(`${prefix}6`)]!.delete(`${prefix}6`);
    const again = await cache.fill(pack(entries.slice(0, 100)), 'add');
    expect(again).toEqual({ stored: 1, same: 98, different: [`${prefix}5`], failed: [] });
    expect(await readDirect(`${prefix}5`)).toBe('app value');

    const checked = await cache.check(pack([...entries.slice(0, 10), [`${prefix}absent`, 'x']]));
    expect(checked).toEqual({ same: 9, missing: [`${prefix}absent`], different: [`${prefix}5`], failed: [] });

    const set = await cache.fill(pack(entries.slice(5, 6)), 'set');
    expect(set).toEqual({ stored: 1, same: 0, different: [], failed: [] });
    expect(await readDirect(`${prefix}5`)).toBe(entries[5]![1]);
  });

  it('hands each pack buffer back once done, and the next pack built in it is stored exactly', async () => {
    const cache = open();
    const prefix = `cmthread:${RUN}:spare:`;
    const batch = (from: number): [string, string][] =>
      Array.from({ length: 3000 }, (_, i) => [
        `${prefix}${from + i}`,
        `{"n":${from + i},"pad":"${'x'.repeat(50)}"}`,
      ]);
    while (spareBuffers.take(0)) {} // none left over from other tests
    const first = pack(batch(0));
    const size = first.bytes.buffer.byteLength;
    expect(await cache.fill(first, 'add')).toMatchObject({ stored: 3000, failed: [] });
    expect(first.bytes.buffer.byteLength).toBe(0); // transferred to the worker
    const back = spareBuffers.take(size);
    expect(back?.byteLength).toBe(size);
    spareBuffers.give(back!);
    // The old bytes are still in it: the new pack must overwrite every one it uses.
    const second = pack(batch(3000));
    expect(second.bytes.buffer.byteLength).toBe(size);
    expect(await cache.fill(second, 'add')).toMatchObject({ stored: 3000, failed: [] });
    for (const i of [0, 2999, 3000, 4567, 5999])
      expect(await readDirect(`${prefix}${i}`)).toBe(`{"n":${i},"pad":"${'x'.repeat(50)}"}`);
  });

  it('get and store cross the thread with their values intact', async () => {
    const cache = open();
    const prefix = `cmthread:${RUN}:getstore:`;
    const entries = Array.from({ length: 500 }, (_, i) => ({
      key: `${prefix}${i}`,
      value: Buffer.from([i & 255, 0, 10, 13, 255]),
      ttl: 600,
    }));
    written.push(...entries.map((e) => e.key));
    const stored = await cache.store(entries, 'add');
    expect(stored).toEqual({ stored: 500, existed: 0, existedKeys: [], failed: [] });
    const taken = await cache.store(entries.slice(0, 3), 'add');
    expect(taken.existedKeys.sort()).toEqual(
      entries
        .slice(0, 3)
        .map((e) => e.key)
        .sort(),
    );
    const got = await cache.get([...entries.map((e) => e.key), `${prefix}missing`]);
    expect(got.failed).toEqual([]);
    expect(got.hits.size).toBe(500);
    for (const e of entries) expect(got.hits.get(e.key)).toEqual(e.value);
  });

  it('reports the keys of a dead server as failed, passes its messages on, and closes cleanly', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const servers = [...POOL, dead];
    const messages: string[] = [];
    const cache = open({ servers, timeoutMs: 500, retries: 1, onLog: (m) => messages.push(m) });
    const ring = new KetamaRing(servers);
    const prefix = `cmthread:${RUN}:dead:`;
    const entries: [string, string][] = Array.from({ length: 2000 }, (_, i) => [`${prefix}${i}`, `v${i}`]);
    const deadKeys = entries.map(([k]) => k).filter((k) => ring.serverIndexFor(k) === 3);
    expect(deadKeys.length).toBeGreaterThan(200);
    const r = await cache.fill(pack(entries), 'add');
    expect(r.stored).toBe(2000 - deadKeys.length);
    expect(new Set(r.failed)).toEqual(new Set(deadKeys));
    expect(messages.some((m) => m.includes(dead))).toBe(true);
    await cache.close();
    await expect(cache.get(['x'])).rejects.toThrow(/after close/);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
