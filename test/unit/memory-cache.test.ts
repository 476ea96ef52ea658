// The in-process cache: memcached's TTL, add/set, key and item size rules, LRU eviction. Time comes from an
// injected clock, so expiry is tested without waiting.
import { describe, expect, it } from 'vitest';
import type { CacheEntry } from '../../src/cache/cache.js';
import { EntryPackBuilder } from '../../src/cache/entry-pack.js';
import { ITEM_OVERHEAD_BYTES, MemoryCache } from '../../src/cache/memory.js';
import { openCache } from '../../src/cache/open.js';
import { planSchema } from '../../src/plan/schema.js';

function clock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(seconds: number) {
      now += seconds * 1000;
    },
  };
}

const entry = (key: string, value: string, ttl = 0): CacheEntry => ({ key, value: Buffer.from(value), ttl });

async function value(cache: MemoryCache, key: string): Promise<string | undefined> {
  return (await cache.get([key])).hits.get(key)?.toString();
}

describe('MemoryCache', () => {
  it('keeps an entry for its TTL in seconds, then misses; TTL 0 never expires', async () => {
    const c = clock();
    const cache = new MemoryCache({ now: c.now });
    await cache.store([entry('a', '1', 10), entry('forever', 'x', 0)], 'set');
    c.advance(9.999);
    expect(await value(cache, 'a')).toBe('1');
    c.advance(0.001);
    expect(await value(cache, 'a')).toBeUndefined();
    c.advance(10 * 365 * 86400);
    expect(await value(cache, 'forever')).toBe('x');
  });

  it('treats a TTL over 30 days as a duration (memcached/frames.ts sends it as a Unix time, to the same effect)', async () => {
    const c = clock();
    const cache = new MemoryCache({ now: c.now });
    const sixtyDays = 60 * 86400;
    await cache.store([entry('long', 'v', sixtyDays)], 'set');
    c.advance(sixtyDays - 1);
    expect(await value(cache, 'long')).toBe('v');
    c.advance(1);
    expect(await value(cache, 'long')).toBeUndefined();
  });

  it('reads a negative TTL as already expired, as memcached does', async () => {
    const cache = new MemoryCache({ now: clock().now });
    const r = await cache.store([entry('gone', 'v', -1)], 'set');
    expect(r.stored).toBe(1);
    expect(await value(cache, 'gone')).toBeUndefined();
  });

  it('add never clobbers a live value; set overwrites; add takes an expired key', async () => {
    const c = clock();
    const cache = new MemoryCache({ now: c.now });
    expect(await cache.store([entry('k', 'first', 5)], 'add')).toEqual({
      stored: 1,
      existed: 0,
      existedKeys: [],
      failed: [],
    });
    expect(await cache.store([entry('k', 'second')], 'add')).toEqual({
      stored: 0,
      existed: 1,
      existedKeys: ['k'],
      failed: [],
    });
    expect(await value(cache, 'k')).toBe('first');
    expect(await cache.store([entry('k', 'third')], 'set')).toEqual({
      stored: 1,
      existed: 0,
      existedKeys: [],
      failed: [],
    });
    expect(await value(cache, 'k')).toBe('third');

    await cache.store([entry('e', 'old', 1)], 'set');
    c.advance(1);
    expect(await cache.store([entry('e', 'new')], 'add')).toEqual({
      stored: 1,
      existed: 0,
      existedKeys: [],
      failed: [],
    });
    expect(await value(cache, 'e')).toBe('new');
  });

  it('refuses keys memcached refuses: over 250 bytes, whitespace, control characters, empty', async () => {
    const cache = new MemoryCache();
    const ok250 = 'k'.repeat(250);
    const utf8Over = 'é'.repeat(126); // 252 bytes in 126 characters
    const bad = ['k'.repeat(251), utf8Over, 'has space', 'tab\there', 'nl\n', 'ctl\u0001', 'del\u007f', ''];
    const r = await cache.store([entry(ok250, 'v'), ...bad.map((k) => entry(k, 'v'))], 'set');
    expect(r.stored).toBe(1);
    expect(r.failed).toEqual(bad);
    const got = await cache.get([ok250, ...bad]);
    expect([...got.hits.keys()]).toEqual([ok250]);
    expect(got.failed).toEqual(bad);
    expect(MemoryCache.validKey('ключ:ü:😀')).toBe(true);
  });

  it('refuses an item over the item size limit (key + value + overhead), never truncating it', async () => {
    const cache = new MemoryCache({ maxItemBytes: 1024 * 1024 });
    const key = 'big';
    const fits = Buffer.alloc(1024 * 1024 - key.length - ITEM_OVERHEAD_BYTES, 1);
    const over = Buffer.alloc(fits.length + 1, 2);
    const r = await cache.store(
      [
        { key, value: fits, ttl: 0 },
        { key: 'big2', value: over, ttl: 0 },
      ],
      'set',
    );
    expect(r).toEqual({ stored: 1, existed: 0, existedKeys: [], failed: ['big2'] });
    expect((await cache.get([key])).hits.get(key)?.equals(fits)).toBe(true);
    expect((await cache.get(['big2'])).hits.size).toBe(0);
  });

  it('holds its own copy of a value', async () => {
    const cache = new MemoryCache();
    const buf = Buffer.from('abc');
    await cache.store([{ key: 'c', value: buf, ttl: 0 }], 'set');
    buf.write('xyz');
    expect(await value(cache, 'c')).toBe('abc');
  });

  it('evicts the least recently used items beyond its memory limit', async () => {
    const size = 100 + 1 + ITEM_OVERHEAD_BYTES; // value + 1-char key + overhead
    const cache = new MemoryCache({ maxBytes: size * 3, maxItemBytes: size });
    const v = 'x'.repeat(100);
    await cache.store([entry('a', v), entry('b', v), entry('c', v)], 'set');
    await cache.get(['a']); // a is now more recent than b
    await cache.store([entry('d', v)], 'set');
    const got = await cache.get(['a', 'b', 'c', 'd']);
    expect([...got.hits.keys()].sort()).toEqual(['a', 'c', 'd']);
    expect(cache.stats()).toEqual({ items: 3, bytes: size * 3, evictions: 1 });
  });

  it('is what `cache.driver: memory` opens, and says it is not shared', async () => {
    const plan = planSchema.parse({
      version: 1,
      name: 'p',
      source: { url: 'sqlite:a.db' },
      target: { url: 'sqlite:b.db' },
      cache: { driver: 'memory' },
      tables: [{ source: 't', cache: { key: 't:{id}' } }],
    });
    const cache = await openCache(plan.cache!);
    expect(cache).toBeInstanceOf(MemoryCache);
    expect(cache.description).toMatch(/not shared/);
    await cache.close();
  });
});

describe('fill and check of packed batches (MemoryCache)', () => {
  const packOf = (entries: [string, string][]) => {
    const b = new EntryPackBuilder();
    for (const [k, v] of entries) b.add(k, v, 0);
    return b.finish();
  };

  it('fill with add stores the free keys and compares the taken ones; set overwrites them', async () => {
    const cache = new MemoryCache({ now: clock().now });
    await cache.store([entry('same', 'v1'), entry('other', 'old')], 'set');
    const added = await cache.fill(
      packOf([
        ['new', 'n'],
        ['same', 'v1'],
        ['other', 'new'],
      ]),
      'add',
    );
    expect(added).toEqual({ stored: 1, same: 1, different: ['other'], failed: [] });
    expect(await value(cache, 'other')).toBe('old');
    expect(await value(cache, 'new')).toBe('n');
    const set = await cache.fill(packOf([['other', 'new']]), 'set');
    expect(set).toEqual({ stored: 1, same: 0, different: [], failed: [] });
    expect(await value(cache, 'other')).toBe('new');
  });

  it('a key packed twice is stored once and matches either value', async () => {
    const cache = new MemoryCache({ now: clock().now });
    const r = await cache.fill(
      packOf([
        ['dup', 'first'],
        ['dup', 'second'],
      ]),
      'add',
    );
    expect(r).toEqual({ stored: 1, same: 0, different: [], failed: [] });
    expect(await value(cache, 'dup')).toBe('first');
    const again = await cache.fill(
      packOf([
        ['dup', 'second'],
        ['dup', 'first'],
      ]),
      'add',
    );
    expect(again).toEqual({ stored: 0, same: 1, different: [], failed: [] });
  });

  it('check names the missing and different keys and counts the equal ones', async () => {
    const cache = new MemoryCache({ now: clock().now });
    await cache.store([entry('a', '1'), entry('b', '2')], 'set');
    const r = await cache.check(
      packOf([
        ['a', '1'],
        ['b', 'two'],
        ['c', '3'],
        ['b', '2x'],
      ]),
    );
    expect(r).toEqual({ same: 1, missing: ['c'], different: ['b'], failed: [] });
    const bad = await cache.check(packOf([['has space', 'v']]));
    expect(bad).toEqual({ same: 0, missing: [], different: [], failed: ['has space'] });
  });
});
