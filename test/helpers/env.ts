// Where the real test servers are. Defaults match `scripts/services.sh`; point the TEST_*
// variables elsewhere (e.g. the containers from docker-compose.yml) to test against other servers.

export interface TestServers {
  /** PostgreSQL superuser URL; helpers create per-test databases next to its database. */
  pgUrl: string;
  /** MariaDB/MySQL URL of a user allowed to create and drop databases. */
  mysqlUrl: string;
  /** The memcached pool, `host:port` each. */
  memcachedServers: string[];
  /** One more memcached, not in the pool, for tests that add a server. */
  memcachedSpare: string;
}

const DEFAULT_TEST_SERVERS: Readonly<TestServers> = Object.freeze({
  pgUrl: 'postgres://migrate:migrate@127.0.0.1:55432/migrate',
  mysqlUrl: 'mysql://migrate:migrate@127.0.0.1:53306/migrate',
  memcachedServers: ['127.0.0.1:51211', '127.0.0.1:51212', '127.0.0.1:51213'],
  memcachedSpare: '127.0.0.1:51214',
});

function fromEnv(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

function serverList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Reads the TEST_* variables now (not at import time), falling back to the defaults. */
function readTestServers(): TestServers {
  const servers = fromEnv('TEST_MEMCACHED_SERVERS');
  return {
    pgUrl: fromEnv('TEST_PG_URL') ?? DEFAULT_TEST_SERVERS.pgUrl,
    mysqlUrl: fromEnv('TEST_MYSQL_URL') ?? DEFAULT_TEST_SERVERS.mysqlUrl,
    memcachedServers: servers ? serverList(servers) : [...DEFAULT_TEST_SERVERS.memcachedServers],
    memcachedSpare: fromEnv('TEST_MEMCACHED_SPARE') ?? DEFAULT_TEST_SERVERS.memcachedSpare,
  };
}

export const testServers: TestServers = readTestServers();

/** Splits `host:port` (IPv6 as `[::1]:11211`); the port defaults to memcached's 11211. */
export function parseHostPort(server: string): { host: string; port: number } {
  const text = server.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const plain = /^([^:[\]]+)(?::(\d+))?$/.exec(text);
  const match = bracketed ?? plain;
  const host = match?.[1];
  if (!match || !host) throw new Error(`invalid server "${server}": expected host:port or [ipv6]:port`);
  return { host, port: match[2] ? Number(match[2]) : 11211 };
}
