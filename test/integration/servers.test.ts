// The real servers the integration and e2e tests need are up, and the isolation helpers isolate.
// When these fail, nothing else can pass: start the servers with `bash scripts/services.sh start`.
import memjs from 'memjs';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterEach, describe, expect, test } from 'vitest';
import {
  createMysqlDatabase,
  createPgDatabase,
  type MysqlTestDatabase,
  memcachedGet,
  memcachedStats,
  memcachedVersion,
  type PgTestDatabase,
} from '../helpers/databases.js';
import { testServers } from '../helpers/env.js';

const HINT = 'start the test servers with `bash scripts/services.sh start`, or set the TEST_* variables';

function masked(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** Runs `work`, turning a failure into one that names the server and what to do. */
async function reach<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new Error(`${what} is unreachable: ${(error as Error).message}; ${HINT}`, { cause: error });
  }
}

describe('test servers', () => {
  test('PostgreSQL answers SELECT version()', async () => {
    const version = await reach(`PostgreSQL at ${masked(testServers.pgUrl)}`, async () => {
      const client = new pg.Client({ connectionString: testServers.pgUrl, connectionTimeoutMillis: 5_000 });
      await client.connect();
      try {
        const result = await client.query<{ version: string }>('SELECT version() AS version');
        return result.rows[0]?.version;
      } finally {
        await client.end();
      }
    });
    expect(version).toMatch(/^PostgreSQL \d+/);
  });

  test('MariaDB/MySQL answers SELECT version()', async () => {
    const version = await reach(`MariaDB/MySQL at ${masked(testServers.mysqlUrl)}`, async () => {
      const conn = await mysql.createConnection({ uri: testServers.mysqlUrl, connectTimeout: 5_000 });
      try {
        const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT version() AS version');
        return rows[0]?.version as unknown;
      } finally {
        await conn.end();
      }
    });
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
  });

  const memcached = [
    ...testServers.memcachedServers.map((server) => [`${server} (pool)`, server] as const),
    [`${testServers.memcachedSpare} (spare)`, testServers.memcachedSpare] as const,
  ];
  test.each(memcached)('memcached %s answers version', async (_label, server) => {
    const version = await reach(`memcached at ${server}`, () => memcachedVersion(server));
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('per-test databases', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(cleanup.splice(0).map((drop) => drop()));
  });

  test('createPgDatabase gives each caller its own empty database and drops it', async () => {
    const a: PgTestDatabase = await createPgDatabase('Servers › isolation');
    const b: PgTestDatabase = await createPgDatabase('Servers › isolation');
    cleanup.push(a.drop, b.drop);

    expect(a.name).not.toBe(b.name);
    expect(a.name).toMatch(/^servers_isolation_[0-9a-f]{6}$/);
    const current = await a.client.query<{ db: string }>('SELECT current_database() AS db');
    expect(current.rows[0]?.db).toBe(a.name);
    expect(new URL(a.url).pathname).toBe(`/${a.name}`);

    await a.client.query('CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 10) g');
    const inA = await a.client.query(`SELECT to_regclass('public.orders') AS t`);
    const inB = await b.client.query(`SELECT to_regclass('public.orders') AS t`);
    expect(inA.rows[0]?.t).toBe('orders');
    expect(inB.rows[0]?.t).toBeNull();

    await a.drop();
    await a.drop(); // idempotent
    const admin = new pg.Client({ connectionString: testServers.pgUrl });
    await admin.connect();
    try {
      const left = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [a.name]);
      expect(left.rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });

  test('createMysqlDatabase gives each caller its own empty database and drops it', async () => {
    const a: MysqlTestDatabase = await createMysqlDatabase('Servers › isolation');
    const b: MysqlTestDatabase = await createMysqlDatabase('Servers › isolation');
    cleanup.push(a.drop, b.drop);

    expect(a.name).not.toBe(b.name);
    const [current] = await a.conn.query<mysql.RowDataPacket[]>('SELECT DATABASE() AS db');
    expect(current[0]?.db).toBe(a.name);

    // Exact text forms as configured: BIGINT beyond 2^53 and DATETIME come back as strings.
    await a.conn.query(
      'CREATE TABLE orders (id BIGINT PRIMARY KEY, at DATETIME(6)); ' +
        "INSERT INTO orders VALUES (9007199254740993, '2024-02-29 12:34:56.123456')",
    );
    const [rows] = await a.conn.query<mysql.RowDataPacket[]>('SELECT id, at FROM orders');
    expect(rows[0]).toEqual({ id: '9007199254740993', at: '2024-02-29 12:34:56.123456' });
    const [inB] = await b.conn.query<mysql.RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'orders'",
    );
    expect(Number(inB[0]?.n)).toBe(0);

    await a.drop();
    await a.drop(); // idempotent
    const admin = await mysql.createConnection({ uri: testServers.mysqlUrl });
    try {
      const [left] = await admin.query<mysql.RowDataPacket[]>('SHOW DATABASES LIKE ?', [a.name]);
      expect(left).toHaveLength(0);
    } finally {
      await admin.end();
    }
  });
});

describe('memcached helpers', () => {
  test('memcachedGet and memcachedStats read what a client wrote, bytes intact', async () => {
    const server = testServers.memcachedServers[0]!;
    const key = `servers-test:${process.pid}:${Date.now()}`;
    const value = Buffer.from([0, 13, 10, ...Buffer.from('END\r\nvalue ünïcode'), 255]);
    const client = memjs.Client.create(server, { retries: 0, timeout: 2 });
    try {
      await client.set(key, value, { expires: 60 });
    } finally {
      client.close();
    }

    expect(await memcachedGet(server, key)).toEqual(value);
    expect(await memcachedGet(server, `${key}:missing`)).toBeNull();
    const stats = await memcachedStats(server);
    expect(Number(stats.curr_items)).toBeGreaterThanOrEqual(1);
    expect(stats.version).toMatch(/^\d+\.\d+/);
  });
});
