/**
 * Removes the bench's keys from the shared memcached pool after each repetition, so repeated 1M-row runs
 * do not fill the servers (and evict other people's keys). Keys are `prefix + "order:" + id` for ids 1..N;
 * which server holds a key depends on the client's distribution, so every server gets every delete. The
 * text protocol's `delete <key> noreply` pipelines without replies; a final `version` round trip tells
 * when a server has processed them all.
 */
import net from 'node:net';

const CHUNK_KEYS = 20_000;

function parseServer(server: string): { host: string; port: number } {
  const i = server.lastIndexOf(':');
  return i < 0
    ? { host: server, port: 11211 }
    : { host: server.slice(0, i), port: Number(server.slice(i + 1)) };
}

function deleteOn(server: string, keyAt: (i: number) => string, count: number): Promise<void> {
  const { host, port } = parseServer(server);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(60_000, () => socket.destroy(new Error(`memcached ${server}: no reply for 60 s`)));
    let reply = '';
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => {
      reply += d.toString('latin1');
      if (reply.includes('VERSION')) {
        socket.end();
        resolve();
      } else if (/ERROR/.test(reply)) {
        socket.destroy();
        reject(new Error(`memcached ${server}: ${reply.trim().slice(0, 200)}`));
      }
    });
    socket.on('connect', async () => {
      for (let start = 0; start < count; start += CHUNK_KEYS) {
        const lines: string[] = [];
        const end = Math.min(count, start + CHUNK_KEYS);
        for (let i = start; i < end; i++) lines.push(`delete ${keyAt(i)} noreply\r\n`);
        if (!socket.write(lines.join(''))) await new Promise((r) => socket.once('drain', r));
      }
      socket.write('version\r\n');
    });
  });
}

/** Deletes `prefix + "order:" + id` for ids 1..rows on every server. */
export async function deleteOrderKeys(servers: string[], prefix: string, rows: number): Promise<void> {
  await Promise.all(servers.map((s) => deleteOn(s, (i) => `${prefix}order:${i + 1}`, rows)));
}

/** How many of a sample of ids 1..rows have a key on some server (a sanity check that warming happened). */
export async function countSampleKeys(
  servers: string[],
  prefix: string,
  rows: number,
  sample = 200,
): Promise<{ sampled: number; found: number }> {
  const ids = Array.from({ length: Math.min(sample, rows) }, (_, i) =>
    Math.floor(1 + (i * (rows - 1)) / Math.max(1, Math.min(sample, rows) - 1)),
  );
  const found = new Set<number>();
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve, reject) => {
          const { host, port } = parseServer(server);
          const socket = net.connect({ host, port });
          socket.setTimeout(10_000, () => socket.destroy(new Error(`memcached ${server}: timeout`)));
          let reply = '';
          socket.on('error', reject);
          socket.on('data', (d: Buffer) => {
            reply += d.toString('latin1');
            if (reply.endsWith('END\r\n')) {
              for (const m of reply.matchAll(/^VALUE \S*order:(\d+) /gm)) found.add(Number(m[1]));
              socket.end();
              resolve();
            }
          });
          socket.on('connect', () =>
            socket.write(`get ${ids.map((id) => `${prefix}order:${id}`).join(' ')}\r\n`),
          );
        }),
    ),
  );
  return { sampled: ids.length, found: found.size };
}
