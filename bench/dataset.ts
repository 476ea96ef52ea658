/**
 * The bench dataset: an `orders` table generated SQL-side and deterministically (`generate_series` in
 * PostgreSQL, the Sequence engine's `seq_1_to_N` in MariaDB), the same values on both servers, in a
 * dedicated `cache_migrate_bench` database on each (or MIGRATE_BENCH_DB's). A table generated earlier
 * with the same row count and generator version (`--keep`) is reused.
 *
 * PostgreSQL: `src.orders` is the source; every case writes into its own table in schema `dst`, created
 * empty (LIKE src.orders INCLUDING ALL) before each repetition.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';

/** MIGRATE_BENCH_DB names another database, so that two bench runs on the same servers do not collide. */
export const BENCH_DB = benchDatabase(process.env.MIGRATE_BENCH_DB?.trim() || 'cache_migrate_bench');
/** pgloader creates its own target tables (and drops them first): it gets a database of its own. */
const PGLOADER_DB = `${BENCH_DB}_pgloader`;
/** Bumped whenever the generator changes, so a kept table from an older bench is regenerated. */
const GENERATOR = 'cache-migrate bench orders v1';

export interface Servers {
  /** Superuser URL of some existing PostgreSQL database (the bench database is created next to it). */
  pgAdminUrl: string;
  /** MySQL/MariaDB URL of a user allowed to create databases. */
  mysqlAdminUrl: string;
  memcached: string[];
}

function benchDatabase(name: string): string {
  // Used unquoted in SQL on both servers, so only a plain lower-case identifier is accepted.
  if (!/^[a-z_][a-z0-9_]{0,50}$/.test(name))
    throw new Error(`MIGRATE_BENCH_DB: "${name}" is not a plain lower-case identifier (a-z, 0-9, _)`);
  return name;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Values every row gets; `g` is the row number 1..N (bigint, so the arithmetic never overflows). */
const PG_SELECT = `
SELECT g,
  (g * 7919) % 100000 + 1,
  'SKU-' || lpad(((g * 31) % 50000)::text, 6, '0'),
  g % 10 + 1,
  (((g * 37) % 1000000) / 100.0)::numeric(12,2),
  (ARRAY['new','paid','shipped','delivered','cancelled'])[g % 5 + 1],
  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' + ((g * 7919) % 1000000) * interval '1 microsecond',
  CASE WHEN g % 10 = 0 THEN NULL
       WHEN g % 10 = 3 THEN 'Lieferung an Frau Müller, 3. OG — "bitte klingeln"' || chr(9) || 'Tür ' || chr(92) || ' ' || g
       WHEN g % 10 = 7 THEN 'Customer''s note: it''s a gift, wrap it ☃ and add a card #' || g
       ELSE 'Please leave the parcel at the front desk of building ' || g END,
  g % 3 = 0,
  jsonb_build_object('color', (ARRAY['red','green','blue','black'])[g % 4 + 1], 'size', g % 5,
                     'gift', g % 7 = 0, 'w', g % 1000)
FROM generate_series(1::bigint, $1::bigint) g`;

const PG_TABLE = `CREATE TABLE src.orders (
  id bigint PRIMARY KEY, customer_id int NOT NULL, sku varchar(32) NOT NULL, qty int NOT NULL,
  price numeric(12,2) NOT NULL, status varchar(16) NOT NULL, created_at timestamptz NOT NULL,
  note text, paid boolean NOT NULL, attrs jsonb NOT NULL)`;

const MYSQL_TABLE = (rows: number) => `CREATE TABLE orders (
  id bigint PRIMARY KEY, customer_id int NOT NULL, sku varchar(32) NOT NULL, qty int NOT NULL,
  price decimal(12,2) NOT NULL, status varchar(16) NOT NULL, created_at datetime(6) NOT NULL,
  note text, paid tinyint(1) NOT NULL, attrs json NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='${GENERATOR} rows=${rows}'`;

/** The same values as PG_SELECT; JSON is built as text so booleans stay JSON booleans. */
const MYSQL_INSERT = (rows: number) => `INSERT INTO orders
SELECT seq,
  (seq * 7919) % 100000 + 1,
  CONCAT('SKU-', LPAD((seq * 31) % 50000, 6, '0')),
  seq % 10 + 1,
  CAST(((seq * 37) % 1000000) / 100 AS DECIMAL(12,2)),
  ELT(seq % 5 + 1, 'new', 'paid', 'shipped', 'delivered', 'cancelled'),
  TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL ((seq * 7919) % 1000000) MICROSECOND,
  CASE WHEN seq % 10 = 0 THEN NULL
       WHEN seq % 10 = 3 THEN CONCAT('Lieferung an Frau Müller, 3. OG — "bitte klingeln"', CHAR(9 USING utf8mb4),
                                     'Tür ', CHAR(92 USING utf8mb4), ' ', seq)
       WHEN seq % 10 = 7 THEN CONCAT('Customer''s note: it''s a gift, wrap it ☃ and add a card #', seq)
       ELSE CONCAT('Please leave the parcel at the front desk of building ', seq) END,
  seq % 3 = 0,
  CONCAT('{"color": "', ELT(seq % 4 + 1, 'red', 'green', 'blue', 'black'), '", "size": ', seq % 5,
         ', "gift": ', IF(seq % 7 = 0, 'true', 'false'), ', "w": ', seq % 1000, '}')
FROM seq_1_to_${rows}`;

export interface Dataset {
  pgUrl: string;
  mysqlUrl: string;
  /** Creates (or re-creates) the empty target table `dst.<name>` and returns its qualified name. */
  freshTarget(name: string): Promise<string>;
  count(table: string): Promise<number>;
  /** Runs SQL on the bench PostgreSQL database (outside the measured part). */
  pgQuery(sql: string): Promise<void>;
  /** Creates the pgloader target database if needed and returns its URL. */
  pgloaderDb(): Promise<string>;
  /** Runs SQL on the pgloader target database; returns the first column of the first row. */
  pgloaderQuery(sql: string): Promise<unknown>;
  close(): Promise<void>;
  drop(): Promise<void>;
}

async function pgAdmin<T>(adminUrl: string, run: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await run(c);
  } finally {
    await c.end();
  }
}

async function preparePg(adminUrl: string, rows: number, log: (s: string) => void): Promise<pg.Client> {
  await pgAdmin(adminUrl, async (c) => {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DB]);
    if (r.rowCount === 0) await c.query(`CREATE DATABASE ${BENCH_DB}`);
  });
  const db = new pg.Client({ connectionString: withDatabase(adminUrl, BENCH_DB) });
  await db.connect();
  const marker = `${GENERATOR} rows=${rows}`;
  const r = await db.query<{ c: string | null }>(
    "SELECT obj_description(to_regclass('src.orders'), 'pg_class') AS c",
  );
  if (r.rows[0]?.c === marker) {
    log(`postgresql: reusing ${BENCH_DB}.src.orders (${rows} rows)`);
  } else {
    const started = performance.now();
    await db.query('DROP SCHEMA IF EXISTS src CASCADE');
    await db.query('CREATE SCHEMA src');
    await db.query(PG_TABLE);
    await db.query(`INSERT INTO src.orders ${PG_SELECT}`, [rows]);
    await db.query(`COMMENT ON TABLE src.orders IS '${marker}'`);
    log(`postgresql: generated ${rows} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  // Hint bits and statistics settled before any case reads, so the first case pays nothing extra.
  await db.query('VACUUM (ANALYZE) src.orders');
  await db.query('DROP SCHEMA IF EXISTS dst CASCADE');
  await db.query('CREATE SCHEMA dst');
  return db;
}

async function prepareMysql(adminUrl: string, rows: number, log: (s: string) => void): Promise<void> {
  const conn = await mysql.createConnection({ uri: adminUrl, charset: 'utf8mb4', multipleStatements: false });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${BENCH_DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await conn.query(`USE ${BENCH_DB}`);
    const [found] = await conn.query<mysql.RowDataPacket[]>(
      "SELECT table_comment AS c FROM information_schema.tables WHERE table_schema = ? AND table_name = 'orders'",
      [BENCH_DB],
    );
    if (found[0]?.c === `${GENERATOR} rows=${rows}`) {
      log(`mariadb: reusing ${BENCH_DB}.orders (${rows} rows)`);
      return;
    }
    const started = performance.now();
    await conn.query("SET SESSION time_zone = '+00:00', SESSION sql_mode = 'STRICT_ALL_TABLES'");
    await conn.query('DROP TABLE IF EXISTS orders');
    await conn.query(MYSQL_TABLE(rows));
    await conn.query(MYSQL_INSERT(rows));
    await conn.query('ANALYZE TABLE orders');
    log(`mariadb: generated ${rows} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await conn.end();
  }
}

export async function prepareDataset(
  servers: Servers,
  rows: number,
  opts: { mysql: boolean; log: (s: string) => void },
): Promise<Dataset> {
  const db = await preparePg(servers.pgAdminUrl, rows, opts.log);
  if (opts.mysql) await prepareMysql(servers.mysqlAdminUrl, rows, opts.log);
  const pgUrl = withDatabase(servers.pgAdminUrl, BENCH_DB);
  const mysqlUrl = withDatabase(servers.mysqlAdminUrl, BENCH_DB);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await db.end();
  };
  return {
    pgUrl,
    mysqlUrl,
    async freshTarget(name) {
      const table = `dst.${name}`;
      await db.query(`DROP TABLE IF EXISTS ${table}`);
      await db.query(`CREATE TABLE ${table} (LIKE src.orders INCLUDING ALL)`);
      return table;
    },
    async count(table) {
      const r = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      return Number(r.rows[0]?.n ?? 0);
    },
    async pgQuery(sql) {
      await db.query(sql);
    },
    async pgloaderDb() {
      await pgAdmin(servers.pgAdminUrl, async (c) => {
        const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [PGLOADER_DB]);
        if (r.rowCount === 0) await c.query(`CREATE DATABASE ${PGLOADER_DB}`);
      });
      return withDatabase(servers.pgAdminUrl, PGLOADER_DB);
    },
    pgloaderQuery(sql) {
      return pgAdmin(withDatabase(servers.pgAdminUrl, PGLOADER_DB), async (c) => {
        const r = await c.query({ text: sql, rowMode: 'array' });
        const rows = r.rows as unknown[][];
        return rows[0]?.[0];
      });
    },
    close,
    async drop() {
      await close();
      await pgAdmin(servers.pgAdminUrl, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
        await c.query(`DROP DATABASE IF EXISTS ${PGLOADER_DB} WITH (FORCE)`);
      });
      if (opts.mysql) {
        const conn = await mysql.createConnection({ uri: servers.mysqlAdminUrl });
        try {
          await conn.query(`DROP DATABASE IF EXISTS ${BENCH_DB}`);
        } finally {
          await conn.end();
        }
      }
    },
  };
}
