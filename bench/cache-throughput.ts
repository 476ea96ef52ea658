/**
 * Throughput of MemcachedCache on the test memcached pool: stores (set, then add over existing keys)
 * and gets N values of S bytes in batches, as the engine does, and prints ops/s. Not a test.
 *
 *   npx tsx bench/cache-throughput.ts [--keys 100000] [--bytes 250] [--batch 5000] [--concurrency 64]
 *                                     [--get-batch-keys 100] [--store-batch-keys 200]
 *                                     [--distribution ketama|modula] [--single-gets] [--single-stores]
 *
 * Servers: TEST_MEMCACHED_SERVERS (comma list), default the pool of scripts/services.sh.
 * `--single-gets` / `--single-stores` also time one memjs `get` / `set` per key (windowed per server),
 * for comparison with the multi-get and multi-store (SETQ/ADDQ ... NOOP) requests MemcachedCache sends.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import memjs from 'memjs';
import type { CacheEntry } from '../src/cache/cache.js';
import { MemcachedCache } from '../src/cache/memcached/memcached-cache.js';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    bytes: { type: 'string', default: '250' },
    batch: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '64' },
    'get-batch-keys': { type: 'string', default: '100' },
    'store-batch-keys': { type: 'string', default: '200' },
    distribution: { type: 'string', default: 'ketama' },
    'single-gets': { type: 'boolean', default: false },
    'single-stores': { type: 'boolean', default: false },
  },
});

const servers = (process.env.TEST_MEMCACHED_SERVERS ?? '127.0.0.1:51211,127.0.0.1:51212,127.0.0.1:51213')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const total = Number(args.keys);
const bytes = Number(args.bytes);
const batchSize = Number(args.batch);
const concurrency = Number(args.concurrency);
const distribution = args.distribution === 'modula' ? 'modula' : 'ketama';

const prefix = `bench:${process.pid}:${Date.now()}:`;
const entries: CacheEntry[] = [];
for (let i = 0; i < total; i++) {
  const value = Buffer.alloc(bytes, i % 251);
  value.write(String(i));
  entries.push({ key: `${prefix}${i}`, value, ttl: 300 });
}
const keys = entries.map((e) => e.key);
const batches = <T>(items: readonly T[]): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += batchSize) out.push(items.slice(i, i + batchSize));
  return out;
};

const cache = new MemcachedCache({
  servers,
  distribution,
  concurrency,
  getBatchKeys: Number(args['get-batch-keys']),
  storeBatchKeys: Number(args['store-batch-keys']),
  timeoutMs: 5000,
});

async function timed(label: string, run: () => Promise<{ done: number; failed: number; extra?: string }>) {
  const start = performance.now();
  const { done, failed, extra } = await run();
  const seconds = (performance.now() - start) / 1000;
  const rate = Math.round(total / seconds).toLocaleString('en-US');
  console.log(
    `${label.padEnd(34)} ${rate.padStart(9)} ops/s  (${seconds.toFixed(2)} s, ${done} ok, ${failed} failed${extra ? `, ${extra}` : ''})`,
  );
}

console.log(
  `${total} values of ${bytes} B, batches of ${batchSize}, ${servers.length} servers (${distribution}), ` +
    `${concurrency} in flight per server, multi-gets of ${args['get-batch-keys']} keys, ` +
    `multi-stores of ${args['store-batch-keys']}`,
);

// Warm up connections and the JIT on a few keys outside the measured set.
await cache.store(
  entries.slice(0, 2000).map((e) => ({ ...e, key: `${e.key}:warm` })),
  'set',
);

await timed('set', async () => {
  let done = 0;
  let failed = 0;
  for (const batch of batches(entries)) {
    const r = await cache.store(batch, 'set');
    done += r.stored;
    failed += r.failed.length;
  }
  return { done, failed };
});

await timed('add (all keys exist)', async () => {
  let done = 0;
  let failed = 0;
  for (const batch of batches(entries)) {
    const r = await cache.store(batch, 'add');
    done += r.existed;
    failed += r.failed.length;
  }
  return { done, failed, extra: 'counted as existed' };
});

await timed('get (multi-get requests)', async () => {
  let done = 0;
  let failed = 0;
  for (const batch of batches(keys)) {
    const r = await cache.get(batch);
    done += r.hits.size;
    failed += r.failed.length;
  }
  return { done, failed };
});

if (args['single-gets'] || args['single-stores']) {
  const client = memjs.Client.create(servers.join(','), {
    failover: false,
    retries: 1,
    timeout: 5,
    logger: { log() {} },
  });
  (client as unknown as { getServer: (k: string) => number }).getServer = (k) => cache.serverIndexFor(k);
  if (args['single-gets']) {
    await timed('get (one memjs get per key)', async () => {
      let done = 0;
      for (const batch of batches(keys)) done += await windowed(batch, (key, cb) => client.get(key, cb));
      return { done, failed: 0 };
    });
  }
  if (args['single-stores']) {
    const byKey = new Map(entries.map((e) => [e.key, e]));
    await timed('set (one memjs set per key)', async () => {
      let done = 0;
      for (const batch of batches(keys)) {
        done += await windowed(batch, (key, cb) => {
          const e = byKey.get(key) as CacheEntry;
          client.set(key, e.value, { expires: e.ttl }, (err, ok) => cb(err, ok ? e.value : null));
        });
      }
      return { done, failed: 0 };
    });
  }
  client.close();
}

// The pool is shared and small: don't leave 100k values behind to evict other people's test data.
await deleteAll([...keys, ...keys.slice(0, 2000).map((k) => `${k}:warm`)]);
await cache.close();

/** `delete <key> noreply` for every key on its server, over the text protocol, then `version` to sync. */
async function deleteAll(all: readonly string[]): Promise<void> {
  const perServer: string[][] = servers.map(() => []);
  for (const key of all) perServer[cache.serverIndexFor(key)]?.push(`delete ${key} noreply\r\n`);
  await Promise.all(
    servers.map(
      (server, s) =>
        new Promise<void>((resolve) => {
          const colon = server.lastIndexOf(':');
          const socket = net.connect(Number(server.slice(colon + 1)), server.slice(0, colon), () =>
            socket.write(`${(perServer[s] ?? []).join('')}version\r\n`),
          );
          socket.on('data', (chunk: Buffer) => {
            if (chunk.includes('VERSION')) socket.destroy();
          });
          socket.on('error', () => resolve());
          socket.on('close', () => resolve());
        }),
    ),
  );
}

/** One memjs request per key, at most `concurrency` in flight per server; counts non-null answers. */
async function windowed(
  batch: string[],
  send: (key: string, done: (err: Error | null, value: Buffer | null) => void) => void,
): Promise<number> {
  const perServer: string[][] = servers.map(() => []);
  for (const key of batch) perServer[cache.serverIndexFor(key)]?.push(key);
  let hits = 0;
  await Promise.all(
    perServer.map(
      (group) =>
        new Promise<void>((resolve) => {
          let next = 0;
          let inFlight = 0;
          const done = (_err: Error | null, value: Buffer | null) => {
            if (value) hits++;
            inFlight--;
            pump();
          };
          const pump = () => {
            while (inFlight < concurrency && next < group.length) {
              inFlight++;
              send(group[next++] as string, done);
            }
            if (inFlight === 0 && next >= group.length) resolve();
          };
          pump();
        }),
    ),
  );
  return hits;
}
