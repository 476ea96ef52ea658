/**
 * The wide-row dataset: `wide` (id, qty, a 20,000-character `body`), `--wide-rows` rows (300,000: 6 GB as
 * text), generated SQL-side on first use by a wide case, in the bench database of each server
 * (PostgreSQL `src.wide`, MariaDB `wide`). It shows that memory is bounded by a batch's bytes, not its rows.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';

/** Bumped whenever the generator changes, so a kept table from an older bench is regenerated. */
const GENERATOR = 'cache-migrate bench wide v1';
/** Characters of each row's `body`: md5 (32) × 625. */
const WIDE_BODY_CHARS = 20_000;
/** MariaDB gets its rows in statements of this many (one 6 GB INSERT … SELECT is one huge transaction). */
const MYSQL_STEP = 10_000;

export async function preparePgWide(url: string, rows: number, log: (s: string) => void): Promise<void> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const marker = `${GENERATOR} rows=${rows}`;
    const r = await db.query<{ c: string | null }>(
      "SELECT obj_description(to_regclass('src.wide'), 'pg_class') AS c",
    );
    if (r.rows[0]?.c === marker) {
      log(`postgresql: reusing src.wide (${rows} rows)`);
      return;
    }
    const started = performance.now();
    await db.query('DROP TABLE IF EXISTS src.wide');
    await db.query('CREATE TABLE src.wide (id bigint PRIMARY KEY, qty int NOT NULL, body text NOT NULL)');
    await db.query(
      `INSERT INTO src.wide SELECT g, g % 10, repeat(md5(g::text), ${WIDE_BODY_CHARS / 32})
       FROM generate_series(1::bigint, $1::bigint) g`,
      [rows],
    );
    await db.query('VACUUM (ANALYZE) src.wide');
    await db.query(`COMMENT ON TABLE src.wide IS '${marker}'`);
    log(
      `postgresql: generated src.wide, ${rows} rows, in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    await db.end();
  }
}

export async function prepareMysqlWide(url: string, rows: number, log: (s: string) => void): Promise<void> {
  const conn = await mysql.createConnection({ uri: url, charset: 'utf8mb4' });
  try {
    const marker = `${GENERATOR} rows=${rows}`;
    const [found] = await conn.query<mysql.RowDataPacket[]>(
      "SELECT table_comment AS c FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'wide'",
    );
    // The marker is set when the table is created: a generation cut short shows in its last id.
    const [last] =
      found[0]?.c === marker
        ? await conn.query<mysql.RowDataPacket[]>('SELECT MAX(id) AS n FROM wide')
        : [[{ n: null }]];
    if (Number(last[0]?.n) === rows) {
      log(`mariadb: reusing wide (${rows} rows)`);
      return;
    }
    const started = performance.now();
    await conn.query('DROP TABLE IF EXISTS wide');
    await conn.query(
      'CREATE TABLE wide (id bigint PRIMARY KEY, qty int NOT NULL, body mediumtext NOT NULL) ' +
        `ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='${marker}'`,
    );
    for (let from = 1; from <= rows; from += MYSQL_STEP) {
      const to = Math.min(rows, from + MYSQL_STEP - 1);
      await conn.query(
        `INSERT INTO wide SELECT seq, seq % 10, REPEAT(MD5(seq), ${WIDE_BODY_CHARS / 32}) FROM seq_${from}_to_${to}`,
      );
    }
    await conn.query('ANALYZE TABLE wide');
    log(`mariadb: generated wide, ${rows} rows, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await conn.end();
  }
}
