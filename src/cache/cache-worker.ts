/** The worker thread of ThreadedCache (threaded.ts): one MemcachedCache, driven by the main thread's requests. */
import { parentPort, workerData } from 'node:worker_threads';
import { EntryPackBuilder } from './entry-pack.js';
import { MemcachedCache } from './memcached/memcached-cache.js';
import {
  type PackedGetResult,
  type Reply,
  type Request,
  transferable,
  type WorkerOptions,
} from './threaded.js';

const port = parentPort;
if (!port) throw new Error('cache-worker.js runs as a worker thread of ThreadedCache');

const send = (reply: Reply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);
// Packs are handed back to the main thread with each answer (`spare` below), never recycled here.
const cache = new MemcachedCache({
  ...(workerData as WorkerOptions),
  recyclePacks: false,
  onLog: (log) => send({ log }),
});

/**
 * The request's answer; `moved`: `get`'s packed hits, which go with it; `spare`: the pack of a store, fill or
 * check, which nothing here refers to once it is answered (frames and results are copies), handed back.
 */
async function handle(req: Request): Promise<{ result: unknown; moved?: ArrayBuffer; spare?: ArrayBuffer }> {
  switch (req.op) {
    case 'get': {
      const got = await cache.get(req.keys);
      const b = new EntryPackBuilder();
      for (const [key, value] of got.hits) b.add(key, value, 0);
      const hits = b.finish();
      return { result: { hits, failed: got.failed } satisfies PackedGetResult, moved: transferable(hits) };
    }
    case 'store':
      return { result: await cache.storePack(req.pack, req.mode), spare: transferable(req.pack) };
    case 'fill':
      return { result: await cache.fill(req.pack, req.mode), spare: transferable(req.pack) };
    case 'check':
      return { result: await cache.check(req.pack), spare: transferable(req.pack) };
    case 'close':
      await cache.close();
      return { result: null };
  }
}

port.on('message', (req: Request) => {
  handle(req).then(
    ({ result, moved, spare }) =>
      send(
        { id: req.id, ok: true, result, ...(spare ? { spare } : {}) },
        spare ? [spare] : moved ? [moved] : [],
      ),
    (err: unknown) =>
      send({ id: req.id, ok: false, message: err instanceof Error ? err.message : String(err) }),
  );
});
