// Multi-key lookups over the memcached text protocol (`get k1 k2 …`), independent of the client under test:
// which of `keys` each server holds, with their values.
import net from 'node:net';

const CRLF = Buffer.from('\r\n');
const END = Buffer.from('END\r\n');

function request(server: string, keys: readonly string[]): Promise<Map<string, Buffer>> {
  const [host, port] = [
    server.slice(0, server.lastIndexOf(':')),
    Number(server.slice(server.lastIndexOf(':') + 1)),
  ];
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error(`memcached ${server}: timeout`)));
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      const found = parse(all);
      if (found) {
        socket.end();
        resolve(found);
      }
    });
    socket.write(`get ${keys.join(' ')}\r\n`);
  });
}

/** Parses `VALUE k f n\r\n<data>\r\n … END\r\n`; undefined until the whole answer is there. */
function parse(buf: Buffer): Map<string, Buffer> | undefined {
  const out = new Map<string, Buffer>();
  let at = 0;
  for (;;) {
    if (buf.length - at >= END.length && buf.subarray(at, at + END.length).equals(END)) return out;
    const eol = buf.indexOf(CRLF, at);
    if (eol < 0) return undefined;
    const header = buf.subarray(at, eol).toString('latin1').split(' ');
    const bytes = Number(header[3]);
    const start = eol + 2;
    if (buf.length < start + bytes + 2) return undefined;
    out.set(header[1]!, Buffer.from(buf.subarray(start, start + bytes)));
    at = start + bytes + 2;
  }
}

/** For every key: the servers that hold it and the value (from the first). Asks in groups of 100 keys. */
export async function findKeys(
  servers: readonly string[],
  keys: readonly string[],
): Promise<Map<string, { servers: string[]; value: Buffer }>> {
  const found = new Map<string, { servers: string[]; value: Buffer }>();
  for (const server of servers) {
    for (let i = 0; i < keys.length; i += 100) {
      const got = await request(server, keys.slice(i, i + 100));
      for (const [k, v] of got) {
        const entry = found.get(k);
        if (entry) entry.servers.push(server);
        else found.set(k, { servers: [server], value: v });
      }
    }
  }
  return found;
}

/** Stores one value on one server with the text protocol (`set`), as "the application" would. */
export function setOn(server: string, key: string, value: string): Promise<void> {
  const [host, port] = [
    server.slice(0, server.lastIndexOf(':')),
    Number(server.slice(server.lastIndexOf(':') + 1)),
  ];
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => {
      socket.end();
      if (d.toString().startsWith('STORED')) resolve();
      else reject(new Error(`memcached ${server}: ${d.toString()}`));
    });
    socket.write(`set ${key} 0 0 ${Buffer.byteLength(value)}\r\n${value}\r\n`);
  });
}
