// A plan's own SQL (a table's `where`, a `source: { query }`) through the built CLI against real servers: it
// cannot break out of the predicate or derived table it is placed in (an unbalanced `)`, a `;`, a parameter
// marker are plan errors, exit 2, offline too), a trailing comment is harmless, an unterminated `/*` is a plan
// error, and `validate` (online) and `run --dry-run` run it on the source, so a `where` the server refuses is
// a plan error pointing at its line and column, not a failure half-way through a run.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli, writePlan } from '../helpers/cli.js';
import { scopedDatabases } from '../helpers/scoped-databases.js';

const { pgDb, mysqlDb } = scopedDatabases();

/** A plan of one table into `dst`; `table` are its other lines (its `where` or query on line 10). */
function plan(sourceUrl: string, targetUrl: string, table: string, name = 'source-sql'): string {
  return writePlan(`version: 1
name: ${name}
source:
  url: ${sourceUrl}
target:
  url: ${targetUrl}
tables:
  - target: dst
${table}`);
}

const quoted = (text: string) => JSON.stringify(text);

/** A `where` line (line 10, its value at column 12). */
const whereTable = (where: string) => `    source: src\n    where: ${quoted(where)}\n    batchSize: 100\n`;

async function pgTables(url: string, client: { query(sql: string): Promise<unknown> }): Promise<string> {
  await client.query(`
    CREATE TABLE src (id int PRIMARY KEY, qty int NOT NULL);
    INSERT INTO src SELECT g, g % 1000 FROM generate_series(1, 3000) g;
    CREATE TABLE dst (LIKE src INCLUDING ALL);`);
  return url;
}

async function pgCount(client: { query(sql: string): Promise<{ rows: { n: string }[] }> }): Promise<number> {
  return Number((await client.query('SELECT count(*)::text AS n FROM dst')).rows[0]!.n);
}

describe('a where or query cannot change the shape of the statement it is placed in', () => {
  it('PostgreSQL: an unbalanced `)` is a plan error offline, in validate and in run; nothing is read', async () => {
    const db = await pgDb('where breakout pg');
    await pgTables(db.url, db.client);
    const file = plan(db.url, db.url, whereTable('qty < 500) OR (true'));
    for (const args of [
      ['validate', '--offline'],
      ['validate'],
      ['run', '--no-progress'],
      ['run', '--dry-run'],
    ]) {
      const result = await runCli([args[0]!, file, ...args.slice(1)], { timeoutMs: 60_000 });
      expect(result.code, `${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(2);
      expect(result.stderr).toContain(`${file}:10:12: tables[0].where: this \`)\` closes a parenthesis`);
      expect(result.stderr).not.toContain('this is a bug');
    }
    expect(await pgCount(db.client)).toBe(0);
  });

  it('MariaDB: `id < 100) OR (1=1` copies nothing (exit 2); a `;` and an executable comment are refused too', async () => {
    const db = await mysqlDb('where breakout mysql');
    await db.conn.query(`
      CREATE TABLE src (id int PRIMARY KEY, qty int NOT NULL);
      INSERT INTO src SELECT seq, seq % 1000 FROM seq_1_to_3000;
      CREATE TABLE dst LIKE src;`);
    for (const where of ['id < 100) OR (1=1', 'id < 100; DELETE FROM dst', 'id < 100 /*!) OR (1=1 */']) {
      const file = plan(db.url, db.url, whereTable(where));
      const result = await runCli(['run', file, '--no-progress'], { timeoutMs: 60_000 });
      expect(result.code, `${where}: ${result.stdout}${result.stderr}`).toBe(2);
      expect(result.stderr).toContain(`${file}:10:12: tables[0].where: `);
    }
    const [rows] = await db.conn.query('SELECT count(*) AS n FROM dst');
    expect(Number((rows as { n: string }[])[0]!.n)).toBe(0);
  });

  it('SQLite: an unbalanced `)` and a parameter marker are refused; a balanced where copies its rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'source-sql-'));
    const path = join(dir, 'db.sqlite');
    const db = new Database(path);
    db.exec(`CREATE TABLE src (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL);
      WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3000)
      INSERT INTO src SELECT n, n % 1000 FROM g;
      CREATE TABLE dst (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL);`);
    const url = `sqlite:${path}`;
    for (const where of ['qty < 500) OR (1=1', 'id > ?']) {
      const file = plan(url, url, whereTable(where));
      const result = await runCli(['run', file, '--no-progress'], { timeoutMs: 60_000 });
      expect(result.code, `${where}: ${result.stdout}${result.stderr}`).toBe(2);
      expect(result.stderr).toContain(`${file}:10:12: tables[0].where: `);
      expect(db.prepare('SELECT count(*) AS n FROM dst').get()).toEqual({ n: 0 });
    }
    const file = plan(url, url, whereTable('(qty < 500) -- small ones'));
    const result = await runCli(['run', file, '--no-progress']);
    expect(result.code, result.stderr).toBe(0);
    expect(db.prepare('SELECT count(*) AS n FROM dst').get()).toEqual({ n: 1500 });
    db.close();
  });

  it('a query source that closes its derived table is refused (PostgreSQL)', async () => {
    const db = await pgDb('query breakout pg');
    await pgTables(db.url, db.client);
    const table = `    source:\n      query: ${quoted('SELECT * FROM src) AS a, (SELECT 1 AS x')}\n    key: [id]\n`;
    const file = plan(db.url, db.url, table);
    const result = await runCli(['validate', file, '--offline']);
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toContain(`${file}:10:14: tables[0].source.query: this \`)\` closes a parenthesis`);
  });
});

describe('comments in a where', () => {
  it('PostgreSQL: a trailing `--` comment copies the filtered rows; an unterminated `/*` is a plan error', async () => {
    const db = await pgDb('where comments pg');
    await pgTables(db.url, db.client);
    const ok = plan(db.url, db.url, whereTable('qty < 500 -- the small ones'));
    const run = await runCli(['run', ok, '--no-progress']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await pgCount(db.client)).toBe(1500);
    for (const where of ['qty < 500 /* the small ones', 'qty < 500 /* outer /* inner */']) {
      const bad = plan(db.url, db.url, whereTable(where));
      const result = await runCli(['validate', bad, '--offline']);
      expect(result.code, result.stdout + result.stderr).toBe(2);
      expect(result.stderr).toContain(`${bad}:10:12: tables[0].where: this \`/*\` comment is never closed`);
    }
  });

  it('MariaDB: trailing `#` and `-- ` comments copy the filtered rows; an unterminated `/*` is a plan error', async () => {
    const db = await mysqlDb('where comments mysql');
    await db.conn.query(`
      CREATE TABLE src (id int PRIMARY KEY, qty int NOT NULL);
      INSERT INTO src SELECT seq, seq % 1000 FROM seq_1_to_3000;
      CREATE TABLE dst LIKE src;`);
    const count = async () => {
      const [rows] = await db.conn.query('SELECT count(*) AS n FROM dst');
      return Number((rows as { n: string }[])[0]!.n);
    };
    for (const [where, n, name] of [
      ['qty < 100 # the small ones', 300, 'hash-comment'],
      ['qty < 500 -- the small ones', 1500, 'dash-comment'],
    ] as const) {
      const file = plan(db.url, db.url, whereTable(where), name);
      const result = await runCli(['run', file, '--no-progress']);
      expect(result.code, `${where}: ${result.stdout}${result.stderr}`).toBe(0);
      expect(await count()).toBe(n);
    }
    const bad = plan(db.url, db.url, whereTable('qty < 500 /* the small ones'));
    const result = await runCli(['run', bad, '--no-progress']);
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toContain(`${bad}:10:12: tables[0].where: this \`/*\` comment is never closed`);
  });
});

describe('validate and --dry-run run the where on the source', () => {
  it('PostgreSQL: a where the server refuses is a plan error at its line (validate, --dry-run, run)', async () => {
    const db = await pgDb('where refused pg');
    await pgTables(db.url, db.client);
    const file = plan(db.url, db.url, whereTable('nope < 500'));
    expect((await runCli(['validate', file, '--offline'])).code).toBe(0);
    for (const args of [['validate'], ['run', '--dry-run'], ['run', '--no-progress']]) {
      const result = await runCli([args[0]!, file, ...args.slice(1)]);
      expect(result.code, `${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(2);
      expect(result.stderr).toContain(
        `${file}:10:12: tables[0].where: the source refused the table's \`where\`: column "nope" does not exist`,
      );
    }
    const json = await runCli(['validate', file, '--json']);
    expect(json.code).toBe(2);
    expect(json.stdout).toContain('"event":"plan-error"');
  });

  it('MariaDB: a where the server refuses is a plan error at its line (validate, --dry-run)', async () => {
    const db = await mysqlDb('where refused mysql');
    await db.conn.query(
      'CREATE TABLE src (id int PRIMARY KEY, qty int NOT NULL); CREATE TABLE dst LIKE src;',
    );
    const file = plan(db.url, db.url, whereTable('qty <'));
    for (const args of [['validate'], ['run', '--dry-run']]) {
      const result = await runCli([args[0]!, file, ...args.slice(1)]);
      expect(result.code, `${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(2);
      expect(result.stderr).toContain(
        `${file}:10:12: tables[0].where: the source refused the table's \`where\`: `,
      );
      expect(result.stderr).toContain('SQL syntax');
    }
  });

  it('PostgreSQL: a query the server refuses is a plan error at its line', async () => {
    const db = await pgDb('query refused pg');
    await pgTables(db.url, db.client);
    const table = `    source:\n      query: ${quoted('SELECT id, qty FROM src WHERE nope')}\n    key: [id]\n`;
    const file = plan(db.url, db.url, table);
    const result = await runCli(['validate', file]);
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toContain(
      `${file}:10:14: tables[0].source.query: the source refused the table's query: column "nope" does not exist`,
    );
  });
});
