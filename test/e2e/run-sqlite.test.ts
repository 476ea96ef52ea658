// `migrate run` from SQLite through the built CLI: SQLite -> PostgreSQL and SQLite -> SQLite, with the values
// SQLite can hold (64-bit integers beyond 2^53, unicode and control characters, all 256 byte values, NULL vs
// empty), checked independently by reading the target back with `pg` / better-sqlite3.
// (SQLite -> MySQL is added with the MySQL dialect.)
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, writePlan } from '../helpers/cli.js';
import { createPgDatabase, type PgTestDatabase } from '../helpers/databases.js';
import { tempDirs } from '../helpers/temp-dir.js';

const tempDir = tempDirs('run-sqlite-');

const SQLITE_SCHEMA = `
  CREATE TABLE things (id INTEGER PRIMARY KEY, big INTEGER, txt TEXT, data BLOB, price DECIMAL(12,2), ratio REAL,
    ok BOOLEAN, born DATE, at DATETIME, doc JSON);
  CREATE TABLE lines (order_id INTEGER NOT NULL, line INTEGER NOT NULL, note TEXT,
    PRIMARY KEY (order_id, line)) WITHOUT ROWID;`;

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TEXTS = [
  'emoji 😀👍🏽',
  'combining e\u0301 a\u0308',
  'tab\there',
  'new\nline\r\n',
  'control \u0001\u001f\u007f',
  '',
  `quotes ' " and \\ backslash`,
  'ü Ω 中文 𝄞',
];

type Special = [
  bigint,
  bigint | null,
  string | null,
  Buffer | null,
  string | null,
  number | null,
  bigint | null,
  string | null,
  string | null,
  string | null,
];

/** The awkward rows; ids at both ends of 64 bits and just past 2^53. */
const SPECIAL: Special[] = [
  [
    INT64_MIN,
    INT64_MAX,
    TEXTS[0]!,
    ALL_BYTES,
    '12.50',
    0.1,
    1n,
    '2024-02-29',
    '2024-02-29 23:59:59.123',
    '{"a": [1, 2.5], "b": null}',
  ],
  [
    -1n,
    INT64_MIN,
    TEXTS[1]!,
    Buffer.alloc(0),
    '0',
    -1e300,
    0n,
    '0001-01-01',
    '2024-01-01T10:00:00+02:00',
    '"text"',
  ],
  [
    0n,
    9_007_199_254_740_993n,
    TEXTS[2]!,
    Buffer.from([0]),
    '-99999.99',
    5e-324,
    null,
    null,
    '2024-06-01T08:00:00Z',
    'null',
  ],
  [1n, null, TEXTS[3]!, null, null, null, 1n, '2023-12-31', null, '[]'],
  [
    9_007_199_254_740_993n,
    -9_007_199_254_740_993n,
    TEXTS[4]!,
    ALL_BYTES.subarray(128),
    '0.01',
    1.5,
    0n,
    null,
    '1999-12-31 23:59:59',
    null,
  ],
  [
    9_007_199_254_740_994n,
    0n,
    TEXTS[5]!,
    Buffer.from('ff00', 'hex'),
    '1234567890.12',
    0,
    1n,
    null,
    null,
    '{}',
  ],
  [INT64_MAX - 1n, 1n, TEXTS[6]!, null, '7', -0.5, 0n, null, null, null],
  [INT64_MAX, -1n, TEXTS[7]!, null, null, null, null, null, null, null],
  [2n, null, null, null, null, null, null, null, null, null],
];

/** A source database: the special rows plus `generated` plain ones (ids 1000..), and `lines`. */
function makeSource(dir: string, generated: number, extra: Special[] = []): string {
  const path = join(dir, 'source.db');
  const db = new Database(path);
  db.exec(SQLITE_SCHEMA);
  const insert = db.prepare('INSERT INTO things VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (const row of [...SPECIAL, ...extra]) insert.run(...row);
  })();
  db.exec(`
    WITH RECURSIVE g(n) AS (SELECT 1000 UNION ALL SELECT n + 1 FROM g WHERE n < ${999 + generated})
    INSERT INTO things SELECT n, n * 1000003, 'row ' || n || ' ü', randomblob(n % 7), (n % 1000) || '.25', n / 7.0,
      n % 2, '2024-01-01', datetime(1700000000 + n, 'unixepoch'), json_object('n', n) FROM g;
    WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < ${generated - 1})
    INSERT INTO lines SELECT n / 3, n % 3, CASE WHEN n % 5 = 0 THEN NULL ELSE 'note ' || n END FROM g;`);
  db.close();
  return path;
}

function planText(sourcePath: string, targetUrl: string, name: string): string {
  return `version: 1
name: ${name}
source:
  url: sqlite:${sourcePath}
target:
  url: ${targetUrl}
cache:
  driver: memory
  prefix: "t:"
defaults:
  batchSize: 500
tables:
  - source: things
    cache:
      key: "thing:{id}"
  - source: lines
    cache:
      key: "line:{order_id}:{line}"
`;
}

interface Counts {
  read: number;
  written: number;
  cached: number;
  verified: number;
  mismatches: number;
  skipped: number;
}

function summaryOf(stdout: string): Map<string, Counts> {
  const events = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; tables?: { table: string; counts: Counts }[] });
  const summary = events.find((e) => e.event === 'summary');
  return new Map((summary?.tables ?? []).map((t) => [t.table, t.counts]));
}

function sourceCounts(path: string): { things: number; lines: number } {
  const db = new Database(path, { readonly: true });
  try {
    const n = (t: string) => Number(db.prepare(`SELECT count(*) FROM ${t}`).pluck().get());
    return { things: n('things'), lines: n('lines') };
  } finally {
    db.close();
  }
}

function expectAllDone(counts: Map<string, Counts>, expected: { things: number; lines: number }): void {
  for (const [table, n] of Object.entries(expected)) {
    expect(counts.get(table), table).toMatchObject({
      read: n,
      written: n,
      cached: n,
      verified: n,
      mismatches: 0,
      skipped: 0,
    });
  }
}

/**
 * Rows and storage classes equal both ways, compared by SQLite itself (EXCEPT over typeof and value). A
 * DATETIME written with `T` and an offset (`2024-01-01T10:00:00+02:00`) is expected in SQLite's own UTC form,
 * as its datetime() reads it (`2024-01-01 08:00:00`): the engine's timestamp value has no zone.
 */
function assertSqliteEqual(sourcePath: string, targetPath: string): void {
  const db = new Database(sourcePath, { readonly: true });
  try {
    db.exec(`ATTACH DATABASE '${targetPath.replaceAll("'", "''")}' AS target`);
    for (const table of ['things', 'lines']) {
      const names = (db.prepare(`PRAGMA main.table_info(${table})`).all() as { name: string }[]).map(
        (c) => c.name,
      );
      const select = (schema: string) => {
        const cols = names.map((n) =>
          schema === 'main' && n === 'at'
            ? `typeof(at), CASE WHEN at LIKE '%T%' THEN datetime(at) ELSE at END`
            : `typeof("${n}"), "${n}"`,
        );
        return `SELECT ${cols.join(', ')} FROM ${schema}.${table}`;
      };
      const diff = (a: string, b: string) =>
        Number(
          db
            .prepare(`SELECT count(*) FROM (${select(a)} EXCEPT ${select(b)})`)
            .pluck()
            .get(),
        );
      const count = (schema: string) =>
        Number(db.prepare(`SELECT count(*) FROM ${schema}.${table}`).pluck().get());
      expect({
        table,
        missing: diff('main', 'target'),
        extra: diff('target', 'main'),
        count: count('target'),
      }).toEqual({
        table,
        missing: 0,
        extra: 0,
        count: count('main'),
      });
    }
  } finally {
    db.close();
  }
}

describe('migrate run sqlite -> postgres', () => {
  const dbs: PgTestDatabase[] = [];
  afterEach(async () => {
    await Promise.all(dbs.splice(0).map((d) => d.drop()));
  });

  it('copies 64-bit integers, unicode and control characters, all byte values and NULL vs empty exactly', async () => {
    const dir = tempDir();
    const source = makeSource(dir, 2000);
    const pg = await createPgDatabase('sqlite to pg');
    dbs.push(pg);
    await pg.client.query(`
      CREATE TABLE things (id bigint PRIMARY KEY, big bigint, txt text, data bytea, price numeric(12,2),
        ratio double precision, ok boolean, born date, at timestamptz, doc jsonb);
      CREATE TABLE lines (order_id bigint, line int, note text, PRIMARY KEY (order_id, line));`);
    const plan = writePlan(planText(source, pg.url, 'sqlite-to-pg'));

    const first = await runCli(['run', plan, '--json']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const expected = sourceCounts(source);
    expectAllDone(summaryOf(first.stdout), expected);

    // Read the target back with pg, every value as text (bytes as Buffers), and compare with the source.
    await pg.client.query("SET TimeZone = 'UTC'");
    const got = await pg.client.query<Record<string, string | Buffer | boolean | null>>(
      `SELECT id::text AS id, big::text AS big, txt, data, price::text AS price, ratio::text AS ratio, ok,
              born::text AS born, at::text AS at, doc::text AS doc
       FROM things ORDER BY things.id`,
    );
    const src = new Database(source, { readonly: true });
    src.defaultSafeIntegers(true);
    const rows = src.prepare('SELECT * FROM things ORDER BY id').all() as Record<string, unknown>[];
    src.close();
    expect(got.rows).toHaveLength(rows.length);
    const atUtc: Record<string, string> = {
      '2024-01-01T10:00:00+02:00': '2024-01-01 08:00:00+00',
      '2024-06-01T08:00:00Z': '2024-06-01 08:00:00+00',
      '2024-02-29 23:59:59.123': '2024-02-29 23:59:59.123+00',
    };
    rows.forEach((s, i) => {
      const t = got.rows[i]!;
      const where = `id ${s.id}`;
      expect(t.id, where).toBe(String(s.id));
      expect(t.big, where).toBe(s.big === null ? null : String(s.big));
      expect(t.txt, where).toBe(s.txt);
      expect(t.data === null ? null : (t.data as Buffer).toString('hex'), where).toBe(
        s.data === null ? null : (s.data as Buffer).toString('hex'),
      );
      expect(t.price === null ? null : Number(t.price), where).toBe(
        s.price === null ? null : Number(s.price),
      );
      expect(t.ratio === null ? null : Number(t.ratio), where).toBe(
        s.ratio === null ? null : Number(s.ratio),
      );
      expect(t.ok, where).toBe(s.ok === null ? null : s.ok === 1n);
      expect(t.born, where).toBe(s.born);
      expect(t.at, where).toBe(s.at === null ? null : (atUtc[s.at as string] ?? `${s.at}+00`));
      expect(t.doc === null ? null : JSON.parse(t.doc as string), where).toEqual(
        s.doc === null ? null : JSON.parse(s.doc as string),
      );
    });
    const lines = await pg.client.query<{ n: string; nulls: string }>(
      'SELECT count(*) AS n, count(*) FILTER (WHERE note IS NULL) AS nulls FROM lines',
    );
    expect(lines.rows[0]).toEqual({
      n: String(expected.lines),
      nulls: String(Math.ceil(expected.lines / 5)),
    });

    const second = await runCli(['run', plan, '--json']);
    expect(second.code).toBe(0);
    expect(summaryOf(second.stdout).get('things')).toMatchObject({ read: 0, written: 0 });
  });
});

describe('migrate run sqlite -> sqlite', () => {
  it('copies every value and storage class exactly (NUL inside text too), and a second run has nothing to do', async () => {
    const dir = tempDir();
    const nul: Special = [
      42n,
      42n,
      'nul \u0000 inside',
      Buffer.from([0, 0]),
      null,
      null,
      null,
      null,
      null,
      null,
    ];
    const source = makeSource(dir, 3000, [nul]);
    const target = join(dir, 'target.db');
    new Database(target).exec(SQLITE_SCHEMA).close();
    const plan = writePlan(planText(source, `sqlite:///${target.replace(/^\//, '')}`, 'sqlite-to-sqlite'));

    const first = await runCli(['run', plan, '--json']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expectAllDone(summaryOf(first.stdout), sourceCounts(source));
    assertSqliteEqual(source, target);

    const second = await runCli(['run', plan, '--no-progress']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^things\s+0\s+0\s+0\s+0\s+0/m);
  });

  it('survives SIGKILL at random points: resumes to an exact copy, no row lost or duplicated', async () => {
    const dir = tempDir();
    const source = makeSource(dir, 20_000);
    const target = join(dir, 'target.db');
    new Database(target).exec(SQLITE_SCHEMA).close();
    const plan = writePlan(planText(source, `sqlite:${target}`, 'sqlite-kill'));
    let kills = 0;
    for (let attempt = 0; attempt < 8; attempt++) {
      const run = startCli(['run', plan, '--no-progress']);
      const timer = setTimeout(() => run.child.kill('SIGKILL'), 150 + Math.floor(Math.random() * 400));
      const result = await run.done;
      clearTimeout(timer);
      if (result.signal === 'SIGKILL') kills++;
      else {
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        break;
      }
    }
    expect(kills).toBeGreaterThan(0);
    const last = await runCli(['run', plan, '--no-progress']);
    expect(last.stderr).toBe('');
    expect(last.code).toBe(0);
    assertSqliteEqual(source, target);
  });
});
