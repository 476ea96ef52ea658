// One database side of a type-matrix pairing, with the test's own SQL: create and fill a table, read it
// back as plain text (fixed session settings, explicit casts; never the tool's code), change a cell.
import Database from 'better-sqlite3';
import type mysql from 'mysql2/promise';
import type pg from 'pg';
import type { Dialect } from './columns.js';

export interface Side {
  dialect: Dialect;
  /** The URL a plan names. */
  url: string;
  /** Runs statements (no result). */
  exec(sql: string): Promise<void>;
  /** Inserts rows; `columns` includes `id`. */
  insert(table: string, columns: string[], rows: unknown[][]): Promise<void>;
  /** Every row as column → driver value (bytes as hex text), by id. */
  read(table: string): Promise<Map<string, Record<string, unknown>>>;
  /** Sets `column` of row `id` to the value the same column holds in row `from`. */
  copyCell(table: string, column: string, id: string, from: string): Promise<void>;
  quote(name: string): string;
}

const pgQuote = (n: string) => `"${n.replace(/"/g, '""')}"`;
const myQuote = (n: string) => `\`${n.replace(/`/g, '``')}\``;

export async function pgSide(client: pg.Client, url: string): Promise<Side> {
  await client.query(
    "SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'",
  );
  return {
    dialect: 'postgres',
    url,
    quote: pgQuote,
    async exec(sql) {
      await client.query(sql);
    },
    async insert(table, columns, rows) {
      const marks = columns.map((_, i) => `$${i + 1}`).join(', ');
      const sql = `INSERT INTO ${pgQuote(table)} (${columns.map(pgQuote).join(', ')}) VALUES (${marks})`;
      for (const row of rows) await client.query(sql, row);
    },
    async read(table) {
      const cols = await client.query<{ name: string; type: string; category: string }>(
        `SELECT a.attname AS name, t.typname AS type, t.typcategory AS category
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
         WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [pgQuote(table)],
      );
      const select = cols.rows.map((c) => {
        const q = pgQuote(c.name);
        if (c.category === 'A') return `array_to_json(${q})::text AS ${q}`;
        if (c.type === 'bytea') return `encode(${q}, 'hex') AS ${q}`;
        // real's text is its shortest float32 rendering; widened to double precision it is exact.
        if (c.type === 'float4') return `${q}::float8::text AS ${q}`;
        return `${q}::text AS ${q}`;
      });
      const r = await client.query<Record<string, unknown>>(
        `SELECT ${select.join(', ')} FROM ${pgQuote(table)}`,
      );
      return new Map(r.rows.map((row) => [String(row.id), row]));
    },
    async copyCell(table, column, id, from) {
      const t = pgQuote(table);
      const c = pgQuote(column);
      await client.query(`UPDATE ${t} SET ${c} = (SELECT ${c} FROM ${t} WHERE id = $2) WHERE id = $1`, [
        id,
        from,
      ]);
    },
  };
}

export async function mysqlSide(conn: mysql.Connection, url: string): Promise<Side> {
  await conn.query("SET time_zone = '+00:00'");
  return {
    dialect: 'mysql',
    url,
    quote: myQuote,
    async exec(sql) {
      await conn.query(sql);
    },
    async insert(table, columns, rows) {
      const marks = columns.map(() => '?').join(', ');
      const sql = `INSERT INTO ${myQuote(table)} (${columns.map(myQuote).join(', ')}) VALUES (${marks})`;
      for (const row of rows) await conn.query(sql, row);
    },
    async read(table) {
      const [cols] = await conn.query<mysql.RowDataPacket[]>(
        `SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
        [table],
      );
      const select = cols.map((c) => {
        const q = myQuote(String(c.name));
        const type = String(c.type).toLowerCase();
        // FLOAT's text form is rounded to 6 digits: read the float32 exactly, widened to a double.
        if (type === 'float') return `CAST(${q} AS DOUBLE) AS ${q}`;
        if (type === 'double') return `CAST(${q} AS CHAR) AS ${q}`;
        if (type === 'bit') return `${q} + 0 AS ${q}`;
        if (/binary|blob/.test(type)) return `LOWER(HEX(${q})) AS ${q}`;
        return q;
      });
      // JSON as the text the server sends, not parsed by the driver (which would round big numbers); MariaDB
      // sends JSON columns as BLOB-typed text that mysql2 parses (binary columns are read as hex above).
      const [rows] = await conn.query<mysql.RowDataPacket[]>({
        sql: `SELECT ${select.join(', ')} FROM ${myQuote(table)}`,
        typeCast: (field, next) =>
          field.type === 'JSON' || field.type === 'BLOB' ? field.string('utf8') : next(),
      });
      return new Map(rows.map((row) => [String(row.id), row as Record<string, unknown>]));
    },
    async copyCell(table, column, id, from) {
      const t = myQuote(table);
      const c = myQuote(column);
      await conn.query(
        `UPDATE ${t} SET ${c} = (SELECT v FROM (SELECT ${c} AS v FROM ${t} WHERE id = ?) x) WHERE id = ?`,
        [from, id],
      );
    },
  };
}

export function sqliteSide(path: string): Side {
  const open = () => {
    const db = new Database(path);
    db.defaultSafeIntegers(true);
    return db;
  };
  const use = <T>(work: (db: Database.Database) => T): T => {
    const db = open();
    try {
      return work(db);
    } finally {
      db.close();
    }
  };
  return {
    dialect: 'sqlite',
    url: `sqlite:${path}`,
    quote: pgQuote,
    async exec(sql) {
      use((db) => db.exec(sql));
    },
    async insert(table, columns, rows) {
      use((db) => {
        const marks = columns.map(() => '?').join(', ');
        const stmt = db.prepare(
          `INSERT INTO ${pgQuote(table)} (${columns.map(pgQuote).join(', ')}) VALUES (${marks})`,
        );
        db.transaction(() => {
          for (const row of rows) stmt.run(...row.map((v) => (typeof v === 'boolean' ? Number(v) : v)));
        })();
      });
    },
    async read(table) {
      return use((db) => {
        const rows = db.prepare(`SELECT * FROM ${pgQuote(table)}`).all() as Record<string, unknown>[];
        return new Map(
          rows.map((row) => {
            for (const [k, v] of Object.entries(row)) if (Buffer.isBuffer(v)) row[k] = v.toString('hex');
            return [String(row.id), row];
          }),
        );
      });
    },
    async copyCell(table, column, id, from) {
      use((db) => {
        const t = pgQuote(table);
        const c = pgQuote(column);
        db.prepare(`UPDATE ${t} SET ${c} = (SELECT ${c} FROM ${t} WHERE id = ?) WHERE id = ?`).run(
          BigInt(from),
          BigInt(id),
        );
      });
    },
  };
}
