// Per-test isolation on the real servers: every test gets its own PostgreSQL and MariaDB database,
// named from the test plus a random suffix, so test files can run in parallel. The memcached helpers
// speak the text protocol over a raw socket so tests never depend on the client under test.
//
// memcached has no namespaces: `memcachedFlushAll` empties servers that other test files running in
// parallel may be using. Prefer unique key prefixes; flush only in tests that own their servers.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { parseHostPort, testServers } from './env.js';

export interface PgTestDatabase {
  name: string;
  /** The server URL with this database in its path. */
  url: string;
  /** Connected to `url`; ended by `drop()`. */
  client: pg.Client;
  /** Ends `client` and drops the database (even with other sessions still connected). Idempotent. */
  drop(): Promise<void>;
}

export interface MysqlTestDatabase {
  name: string;
  url: string;
  /** Connected to `url` with exact text forms (big numbers and dates as strings, UTC); ended by `drop()`. */
  conn: mysql.Connection;
  /** Ends `conn` and drops the database. Idempotent. */
  drop(): Promise<void>;
}

/** Options for the MariaDB test connection: values arrive exactly as the server renders them. */
const MYSQL_TEST_OPTIONS = {
  supportBigNumbers: true,
  bigNumberStrings: true,
  dateStrings: true,
  timezone: 'Z',
  multipleStatements: true,
} as const satisfies mysql.ConnectionOptions;

const MAX_NAME_LENGTH = 48; // under PostgreSQL's 63 and MySQL's 64, with room for suffixes in tests

/** `Orders › copies 10 rows` → `orders_copies_10_rows_3fa9c1`: lowercase, [a-z0-9_], random suffix. */
function testDatabaseName(testName: string): string {
  const suffix = randomBytes(3).toString('hex');
  let slug = testName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!/^[a-z]/.test(slug)) slug = `t_${slug}`;
  slug = slug.slice(0, MAX_NAME_LENGTH - suffix.length - 1).replace(/_+$/, '');
  return `${slug}_${suffix}`;
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

// Names come from testDatabaseName ([a-z0-9_]), so quoting cannot be escaped out of.
const pgIdent = (name: string): string => `"${name}"`;
const mysqlIdent = (name: string): string => `\`${name}\``;

async function pgAdmin<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createPgDatabase(
  testName: string,
  serverUrl = testServers.pgUrl,
): Promise<PgTestDatabase> {
  const name = testDatabaseName(testName);
  const dropSql = `DROP DATABASE IF EXISTS ${pgIdent(name)} WITH (FORCE)`;
  await pgAdmin(serverUrl, async (admin) => {
    await admin.query(dropSql);
    await admin.query(`CREATE DATABASE ${pgIdent(name)}`);
  });
  const url = withDatabase(serverUrl, name);
  const client = new pg.Client({ connectionString: url });
  // A connection killed by drop() must not crash the test run through an unhandled 'error' event.
  client.on('error', () => undefined);
  await client.connect();
  let dropped = false;
  return {
    name,
    url,
    client,
    async drop() {
      if (dropped) return;
      dropped = true;
      await client.end().catch(() => undefined);
      await pgAdmin(serverUrl, (admin) => admin.query(dropSql));
    },
  };
}

async function mysqlAdmin<T>(serverUrl: string, work: (conn: mysql.Connection) => Promise<T>): Promise<T> {
  const conn = await mysql.createConnection({ uri: serverUrl });
  try {
    return await work(conn);
  } finally {
    await conn.end();
  }
}

export async function createMysqlDatabase(
  testName: string,
  serverUrl = testServers.mysqlUrl,
): Promise<MysqlTestDatabase> {
  const name = testDatabaseName(testName);
  const dropSql = `DROP DATABASE IF EXISTS ${mysqlIdent(name)}`;
  await mysqlAdmin(serverUrl, async (admin) => {
    await admin.query(dropSql);
    await admin.query(`CREATE DATABASE ${mysqlIdent(name)} CHARACTER SET utf8mb4`);
  });
  const url = withDatabase(serverUrl, name);
  const conn = await mysql.createConnection({ uri: url, ...MYSQL_TEST_OPTIONS });
  conn.on('error', () => undefined);
  let dropped = false;
  return {
    name,
    url,
    conn,
    async drop() {
      if (dropped) return;
      dropped = true;
      await conn.end().catch(() => undefined);
      await mysqlAdmin(serverUrl, (admin) => admin.query(dropSql));
    },
  };
}

// ---------------------------------------------------------------------------- memcached (text protocol)

const MEMCACHED_TIMEOUT_MS = 5_000;
const CRLF = Buffer.from('\r\n');

/**
 * Sends one text-protocol command and resolves with the raw response once `complete(response)` says it
 * is whole; rejects on ERROR/CLIENT_ERROR/SERVER_ERROR, a closed socket or a timeout.
 */
function memcachedRequest(
  server: string,
  command: string,
  complete: (response: Buffer) => boolean,
): Promise<Buffer> {
  const { host, port } = parseHostPort(server);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = net.connect({ host, port });
    const finish = (error: Error | null, response?: Buffer): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error)
        reject(new Error(`memcached ${server}: ${command.trim()}: ${error.message}`, { cause: error }));
      else resolve(response ?? Buffer.alloc(0));
    };
    socket.setTimeout(MEMCACHED_TIMEOUT_MS, () =>
      finish(new Error(`no answer in ${MEMCACHED_TIMEOUT_MS} ms`)),
    );
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error('connection closed before the full response')));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const response = Buffer.concat(chunks);
      const firstLine = response.subarray(0, Math.max(0, response.indexOf(CRLF))).toString('latin1');
      if (/^(ERROR|CLIENT_ERROR|SERVER_ERROR)\b/.test(firstLine)) finish(new Error(firstLine));
      else if (complete(response)) finish(null, response);
    });
    socket.write(command);
  });
}

const endsWith = (suffix: string) => (response: Buffer) => response.toString('latin1').endsWith(suffix);

function checkKey(key: string): void {
  if (Buffer.byteLength(key) > 250 || /[\s\x00-\x20\x7f]/.test(key) || key.length === 0) {
    throw new Error(
      `invalid memcached key ${JSON.stringify(key)}: 1-250 bytes, no spaces or control characters`,
    );
  }
}

/** The server's `version` answer, e.g. `1.6.18`. */
export async function memcachedVersion(server: string): Promise<string> {
  const response = await memcachedRequest(server, 'version\r\n', endsWith('\r\n'));
  const line = response.toString('latin1').trim();
  if (!line.startsWith('VERSION ')) {
    throw new Error(`memcached ${server}: unexpected version answer "${line}"`);
  }
  return line.slice('VERSION '.length);
}

/** `stats` as name → value, e.g. `curr_items`, `cmd_set`, `get_hits` (numbers stay strings). */
export async function memcachedStats(server: string): Promise<Record<string, string>> {
  const response = await memcachedRequest(server, 'stats\r\n', endsWith('END\r\n'));
  const stats: Record<string, string> = {};
  for (const line of response.toString('latin1').split('\r\n')) {
    const [tag, name, ...value] = line.split(' ');
    if (tag === 'STAT' && name !== undefined) stats[name] = value.join(' ');
  }
  return stats;
}

/** The value stored under `key` on this one server, or null when it is not there. */
export async function memcachedGet(server: string, key: string): Promise<Buffer | null> {
  checkKey(key);
  // Answer: `VALUE <key> <flags> <bytes>\r\n<data>\r\nEND\r\n`, or just `END\r\n` on a miss.
  const parse = (response: Buffer): { header: string; data: Buffer | null } | undefined => {
    const headerEnd = response.indexOf(CRLF);
    if (headerEnd < 0) return undefined;
    const header = response.subarray(0, headerEnd).toString('latin1');
    if (header === 'END') return { header, data: null };
    const bytes = Number(header.split(' ')[3]);
    const dataStart = headerEnd + 2;
    const whole = dataStart + bytes + CRLF.length + 'END\r\n'.length;
    if (!Number.isInteger(bytes) || response.length < whole) return undefined;
    return { header, data: Buffer.from(response.subarray(dataStart, dataStart + bytes)) };
  };
  const response = await memcachedRequest(server, `get ${key}\r\n`, (r) => parse(r) !== undefined);
  const parsed = parse(response);
  if (parsed === undefined) throw new Error(`memcached ${server}: unreadable answer to get ${key}`);
  if (parsed.data !== null && !parsed.header.startsWith(`VALUE ${key} `)) {
    throw new Error(`memcached ${server}: unexpected answer "${parsed.header}" to get ${key}`);
  }
  return parsed.data;
}
