import { hash } from 'node:crypto';
import { md5FirstWord, md5FirstWordOfBytes } from './md5-word.js';

/**
 * Ketama consistent hashing (MD5, 40 digests x 4 points per server), placing keys the way the
 * application's own memcached client does, so that warmed entries are found.
 *
 * The clients agree on the key hash (first 4 bytes of MD5(key), little-endian) and on "first point
 * >= hash, wrapping", but not on how a server is named when its points are hashed, nor on the float
 * arithmetic that turns weights into point counts. Hence the flavours:
 *
 * - `libmemcached` (default): libmemcached's CONSISTENT_KETAMA with KETAMA_WEIGHTED, i.e. PHP
 *   memcached's OPT_LIBKETAMA_COMPATIBLE and pylibmc's `ketama_weighted`. Points of server
 *   "host:port" are MD5("host-<i>") when port is 11211 and MD5("host:port-<i>") otherwise. Point
 *   counts are computed in float32 (so 25 equal servers get 156 points each, not 160).
 * - `libketama`: last.fm's libketama, always MD5("host:port-<i>"); its own weight arithmetic.
 * - `spymemcached`: Java spymemcached's KetamaNodeLocator with KETAMA_HASH and its default key
 *   format: "host:port-<i>" for a server given as an IP address (a host name would need DNS: its
 *   format is "name/ip:port-<i>", not supported). Unweighted: always 160 points per server.
 *
 * Host names are hashed exactly as written: "localhost" and "127.0.0.1" are different servers.
 */
export type KetamaFlavour = 'libmemcached' | 'libketama' | 'spymemcached';

export interface KetamaOptions {
  flavour?: KetamaFlavour;
  /** One positive weight per server (libmemcached's server weight, libketama's memory); default equal. */
  weights?: readonly number[];
}

const DEFAULT_PORT = 11211;
const POINTS_PER_SERVER = 160;
const POINTS_PER_DIGEST = 4;

export interface ServerAddress {
  host: string;
  port: number;
}

/** "host:port", "host" (port 11211) or "[v6]:port". */
export function parseServerAddress(server: string): ServerAddress {
  const text = server.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    return {
      host: bracketed[1] ?? '',
      port: bracketed[2] === undefined ? DEFAULT_PORT : Number(bracketed[2]),
    };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0 || text.indexOf(':') !== colon) return { host: text, port: DEFAULT_PORT };
  const port = Number(text.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`Invalid memcached server "${server}": the port must be a number from 1 to 65535`);
  }
  return { host: text.slice(0, colon), port };
}

/** The key's position on the continuum: MD5(key) bytes 0..3 read little-endian, as every ketama client does. */
export function ketamaKeyHash(key: string): number {
  return md5FirstWord(key);
}

/** ketamaKeyHash of the key whose UTF-8 is `bytes[start..end)` (a key in a packed batch). */
export function ketamaKeyHashOfBytes(bytes: Uint8Array, start: number, end: number): number {
  return md5FirstWordOfBytes(bytes, start, end);
}

export class KetamaRing {
  /** Sorted, de-duplicated continuum points and the server index owning each. */
  private readonly points: Uint32Array;
  private readonly owners: Uint32Array;

  constructor(servers: readonly string[], options: KetamaOptions = {}) {
    if (servers.length === 0) throw new Error('A ketama ring needs at least one server');
    const flavour = options.flavour ?? 'libmemcached';
    const weights = options.weights;
    if (weights !== undefined) {
      if (weights.length !== servers.length) {
        throw new Error(`Got ${weights.length} ketama weights for ${servers.length} servers`);
      }
      if (weights.some((w) => !Number.isInteger(w) || w <= 0)) {
        throw new Error('Ketama weights must be positive integers');
      }
    }

    const digestsPerServer = digestCounts(flavour, servers.length, weights);
    // Each point packed as value * 2^16 + server index: one numeric sort orders by value, then index.
    const packed = new Float64Array(digestsPerServer.reduce((sum, n) => sum + n, 0) * POINTS_PER_DIGEST);
    let count = 0;
    for (let index = 0; index < servers.length; index++) {
      const name = pointName(flavour, parseServerAddress(servers[index] ?? ''));
      const digests = digestsPerServer[index] ?? 0;
      for (let i = 0; i < digests; i++) {
        const digest = hash('md5', `${name}-${i}`, 'buffer');
        for (let slice = 0; slice < POINTS_PER_DIGEST; slice++) {
          packed[count++] = digest.readUInt32LE(slice * 4) * 65536 + index;
        }
      }
    }
    packed.sort();

    // Where two servers share a point, libmemcached's lower-bound search finds the lower index and
    // spymemcached's TreeMap keeps the server added last (libketama's qsort leaves it unspecified).
    const keepLast = flavour !== 'libmemcached';
    const points: number[] = [];
    const owners: number[] = [];
    for (const p of packed) {
      const value = Math.floor(p / 65536);
      const owner = p - value * 65536;
      if (points.length > 0 && points[points.length - 1] === value) {
        if (keepLast) owners[owners.length - 1] = owner;
        continue;
      }
      points.push(value);
      owners.push(owner);
    }
    this.points = Uint32Array.from(points);
    this.owners = Uint32Array.from(owners);
  }

  /** Number of distinct points on the continuum. */
  get size(): number {
    return this.points.length;
  }

  serverIndexFor(key: string): number {
    return this.serverIndexForHash(ketamaKeyHash(key));
  }

  /** The owner of the first point >= hash, wrapping to the first point. */
  serverIndexForHash(keyHash: number): number {
    const points = this.points;
    let low = 0;
    let high = points.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((points[mid] ?? 0) < keyHash) low = mid + 1;
      else high = mid;
    }
    return this.owners[low === points.length ? 0 : low] ?? 0;
  }
}

function pointName(flavour: KetamaFlavour, { host, port }: ServerAddress): string {
  if (flavour === 'libmemcached' && port === DEFAULT_PORT) return host;
  return `${host}:${port}`;
}

/** How many MD5 digests (of 4 points each) every server gets. */
function digestCounts(flavour: KetamaFlavour, n: number, weights: readonly number[] | undefined): number[] {
  if (weights === undefined && flavour === 'spymemcached') {
    return new Array<number>(n).fill(POINTS_PER_SERVER / POINTS_PER_DIGEST);
  }
  const w = weights ?? new Array<number>(n).fill(1);
  const f = Math.fround;
  const total = f(w.reduce((sum, x) => sum + x, 0));
  return w.map((weight) => {
    const pct = f(f(weight) / total);
    if (flavour === 'libketama') {
      // ketama.c: floorf(pct * 40.0 * (float)numservers), the product in double, floorf's argument a float.
      return Math.floor(f(pct * 40 * n));
    }
    // libmemcached hosts.cc (and spymemcached's weighted locator): all in float32, + 1e-10, floor, * 4.
    return Math.floor(f(f(f(f(pct * POINTS_PER_SERVER) / POINTS_PER_DIGEST) * f(n)) + f(1e-10)));
  });
}
