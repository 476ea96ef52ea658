// MemcachedCache against the SASL-enabled memcached of scripts/services.sh (started with -S: binary
// protocol only, PLAIN against a sasldb): TEST_MEMCACHED_SASL, TEST_MEMCACHED_SASL_USERNAME/_PASSWORD.
// With the right credentials it stores and reads; with a wrong password every key is reported failed,
// quickly, with a message that says why, and nothing is thrown.
import { afterEach, describe, expect, it } from 'vitest';
import type { CacheEntry } from '../../src/cache/cache.js';
import { MemcachedCache, type MemcachedCacheOptions } from '../../src/cache/memcached/memcached-cache.js';

const SERVER = process.env.TEST_MEMCACHED_SASL?.trim() || '127.0.0.1:51215';
const USERNAME = process.env.TEST_MEMCACHED_SASL_USERNAME?.trim() || 'migrate';
const PASSWORD = process.env.TEST_MEMCACHED_SASL_PASSWORD?.trim() || 'migrate-sasl';
const RUN = `${process.pid}-${Date.now().toString(36)}`;

const caches: MemcachedCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((c) => c.close()));
});

function open(options: Partial<MemcachedCacheOptions>): MemcachedCache {
  const cache = new MemcachedCache({ servers: [SERVER], timeoutMs: 1000, retries: 2, ...options });
  caches.push(cache);
  return cache;
}

function entries(name: string, count: number): CacheEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `sasltest:${RUN}:${name}:${i}`,
    value: Buffer.from(`value-${i}`),
    ttl: 300,
  }));
}

describe('memcached with SASL (-S)', () => {
  it('stores, reads and adds with the right username and password', async () => {
    const messages: string[] = [];
    const cache = open({ username: USERNAME, password: PASSWORD, onLog: (m) => messages.push(m) });
    const batch = entries('ok', 2000);
    expect(await cache.store(batch, 'set')).toEqual({
      stored: 2000,
      existed: 0,
      existedKeys: [],
      failed: [],
    });

    const got = await cache.get([...batch.map((e) => e.key), `sasltest:${RUN}:ok:missing`]);
    expect(got.failed).toEqual([]);
    expect(got.hits.size).toBe(2000);
    for (const e of batch) expect(got.hits.get(e.key)?.toString()).toBe(e.value.toString());

    // `add` leaves the values alone and says so, key by key.
    const taken = await cache.store(batch.slice(0, 100), 'add');
    expect({ ...taken, existedKeys: [...taken.existedKeys].sort() }).toEqual({
      stored: 0,
      existed: 100,
      existedKeys: batch
        .slice(0, 100)
        .map((e) => e.key)
        .sort(),
      failed: [],
    });
    expect(messages).toEqual([]);
  });

  it('reports every key failed (not thrown, not hanging) and logs why with a wrong password', async () => {
    const messages: string[] = [];
    const cache = open({ username: USERNAME, password: 'not-the-password', onLog: (m) => messages.push(m) });
    const batch = entries('wrong', 500);
    const start = performance.now();
    const stored = await cache.store(batch, 'set');
    expect(performance.now() - start).toBeLessThan(5000);
    expect(stored.stored).toBe(0);
    expect(new Set(stored.failed)).toEqual(new Set(batch.map((e) => e.key)));
    expect(messages.join('\n')).toMatch(
      new RegExp(
        `memcached ${SERVER}: 500 key\\(s\\) failed after 3 attempt\\(s\\): .*authentication failed.*check cache\\.username and cache\\.password`,
      ),
    );

    const got = await cache.get(batch.map((e) => e.key));
    expect(got.hits.size).toBe(0);
    expect(new Set(got.failed)).toEqual(new Set(batch.map((e) => e.key)));
  });

  it('reports every key failed without credentials: the server accepts no unauthenticated stores', async () => {
    const messages: string[] = [];
    const cache = open({ onLog: (m) => messages.push(m), retries: 0 });
    const batch = entries('anonymous', 50);
    const stored = await cache.store(batch, 'set');
    expect(stored.stored).toBe(0);
    expect(stored.failed).toHaveLength(50);
    expect(messages.join('\n')).toMatch(/authentication/i);

    // What the anonymous client tried did not reach the cache.
    const authenticated = open({ username: USERNAME, password: PASSWORD });
    expect((await authenticated.get(batch.map((e) => e.key))).hits.size).toBe(0);
  });
});
