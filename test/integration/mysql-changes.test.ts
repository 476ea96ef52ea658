// MySQL/MariaDB change capture against the real MariaDB (row binlog, FULL metadata): values equal to what the
// copy path reads for the same row (every type of the type matrix), transactions and positions, resuming
// across a binlog rotation, schema changes, TRUNCATE, backpressure and check()'s problems. Every test has its
// own database and its own plan name (so its own follower server id); streams are closed in the test.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';
import type { Row } from '../../src/convert/value.js';
import type { ChangeCapture, ChangeEvent, ChangeStream, FollowSpec } from '../../src/db/changes.js';
import { MysqlDialect } from '../../src/db/mysql/index.js';
import type { TableRef } from '../../src/db/table.js';
import { createMysqlDatabase, type MysqlTestDatabase } from '../helpers/databases.js';
import { testServers } from '../helpers/env.js';
import { SOURCES, sourceRows } from '../helpers/matrix/columns.js';
import { mysqlSide } from '../helpers/matrix/sides.js';
import { seeded } from '../helpers/random.js';

const dbs: MysqlTestDatabase[] = [];
const dialects: MysqlDialect[] = [];
const streams: ChangeStream[] = [];
afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.close()));
  await Promise.all(dialects.splice(0).map((d) => d.close()));
  await Promise.all(dbs.splice(0).map((d) => d.drop()));
});

async function setup(name: string, sql: string): Promise<{ db: MysqlTestDatabase; dialect: MysqlDialect }> {
  const db = await createMysqlDatabase(name);
  dbs.push(db);
  if (sql) await db.conn.query(sql);
  const dialect = new MysqlDialect(db.url);
  dialects.push(dialect);
  return { db, dialect };
}

function capture(dialect: MysqlDialect): ChangeCapture {
  if (!dialect.changeCapture) throw new Error('the MySQL dialect offers no changeCapture');
  return dialect.changeCapture;
}

/** The follow spec of these tables as the dialect describes them (all columns unless `columns` given). */
async function followSpec(
  dialect: MysqlDialect,
  plan: string,
  tables: { name: string; columns?: string[] }[],
): Promise<FollowSpec> {
  const out: FollowSpec['tables'] = [];
  for (const t of tables) {
    const ref: TableRef = { schema: null, name: t.name };
    const info = await dialect.describeTable(ref);
    if (!info) throw new Error(`no table ${t.name}`);
    const columns = t.columns ? info.columns.filter((c) => t.columns?.includes(c.name)) : info.columns;
    const key = (info.primaryKey ?? []).map((k) => columns.findIndex((c) => c.name === k));
    out.push({ ref, columns, key });
  }
  return { plan, tables: out };
}

function open(dialect: MysqlDialect, spec: FollowSpec, from: string): ChangeStream {
  const stream = capture(dialect).open(spec, from);
  streams.push(stream);
  return stream;
}

/** Events until `done` says so (or fails the test after `ms`), leaving the stream open. */
async function take(
  stream: ChangeStream,
  done: (events: ChangeEvent[]) => boolean,
  ms = 8000,
): Promise<ChangeEvent[]> {
  const events: ChangeEvent[] = [];
  const it = stream[Symbol.asyncIterator]();
  const deadline = Date.now() + ms;
  while (!done(events)) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()));
    });
    const next = await Promise.race([it.next(), timeout]);
    clearTimeout(timer);
    if (next === 'timeout') throw new Error(`timed out; events so far: ${JSON.stringify(brief(events))}`);
    if (next.done) break;
    events.push(next.value);
  }
  return events;
}

const commits = (n: number) => (events: ChangeEvent[]) =>
  events.filter((e) => e.kind === 'commit').length >= n;

/** Events without positions, for comparing sequences. */
function brief(events: ChangeEvent[]): unknown[] {
  return events.map((e) => {
    if (e.kind === 'row') return [e.op, e.table, e.key, e.row];
    if (e.kind === 'schema') return ['schema', e.table];
    if (e.kind === 'truncate') return ['truncate', e.tables];
    return e.kind;
  });
}

const plan = (db: MysqlTestDatabase) => `p_${db.name}`;

describe('MySQL change capture: values', () => {
  it('gives every type-matrix column exactly as readBatches and fetchByKeys read the same row', async () => {
    const matrix = SOURCES.mysql;
    const defs = ['id int NOT NULL PRIMARY KEY', ...matrix.columns.map((c) => `\`${c.name}\` ${c.type}`)];
    const { db, dialect } = await setup(
      'mysql changes values',
      `CREATE TABLE src (${defs.join(', ')}) CHARACTER SET utf8mb4`,
    );
    const spec = await followSpec(dialect, plan(db), [{ name: 'src' }]);
    const from = await capture(dialect).start(spec);
    const rows = sourceRows(matrix, seeded(22));
    const side = await mysqlSide(db.conn, db.url);
    await side.insert('src', ['id', ...matrix.columns.map((c) => c.name)], rows);
    // Updates carry before and after images: every row once more, with a new id (a key-changing update).
    await db.conn.query('UPDATE src SET id = id + 10000000 ORDER BY id DESC');

    const events = await take(open(dialect, spec, from), commits(rows.length + 1), 20_000);
    const inserts = events.filter((e) => e.kind === 'row' && e.op === 'insert');
    const updates = events.filter((e) => e.kind === 'row' && e.op === 'update');
    expect(inserts).toHaveLength(rows.length);
    expect(updates).toHaveLength(rows.length);

    const { columns, key } = spec.tables[0]!;
    const read: Row[] = [];
    for await (const batch of dialect.readBatches({
      from: { kind: 'table', ref: spec.tables[0]!.ref },
      columns,
      key,
      batchSize: 1000,
      after: null,
    })) {
      read.push(...batch);
    }
    const byId = new Map(read.map((r) => [String(r[0]), r]));
    const fetched = await dialect.fetchByKeys(
      spec.tables[0]!.ref,
      columns,
      key,
      read.map((r) => [r[0]!]),
    );
    const fetchedById = new Map(fetched.map((r) => [String(r[0]), r]));
    expect(byId.size).toBe(rows.length);
    for (const e of updates) {
      if (e.kind !== 'row' || !e.row) throw new Error('not a row');
      const id = String(e.row[0]);
      expect(e.key).toEqual([String(Number(id) - 10000000)]);
      expect(e.row).toEqual(byId.get(id));
      expect(e.row).toEqual(fetchedById.get(id));
    }
    for (const e of inserts) {
      if (e.kind !== 'row' || !e.row) throw new Error('not a row');
      const id = String(Number(e.row[0]) + 10000000);
      expect(e.row.slice(1)).toEqual(byId.get(id)?.slice(1));
    }
  }, 60_000);

  it('gives the values the matrix lacks as the copy path reads them: YEAR 0000, zero dates, BIT(n), …', async () => {
    const { db, dialect } = await setup(
      'mysql changes more values',
      `CREATE TABLE x (id int PRIMARY KEY, yr year, bits bit(10), bin binary(4), bl blob, tt tinytext,
         dz date, dtz datetime(6), tsz timestamp(6) NULL, en enum('b,c', 'd''q'), u bigint unsigned,
         j json, d decimal(30,10), f float, t0 time) CHARACTER SET utf8mb4`,
    );
    const spec = await followSpec(dialect, plan(db), [{ name: 'x' }]);
    const from = await capture(dialect).start(spec);
    await db.conn.query(
      `SET SESSION sql_mode = '', time_zone = '+05:30';
       INSERT INTO x VALUES
         (1, 0, b'1010000001', x'00ff', x'00ff10', 'héllo 😀', '0000-00-00', '2024-05-00 00:00:00',
          '2024-02-29 23:59:59.654321', 'b,c', 9007199254740993, '{"a":12345678901234567890,"b":1.0e-30}',
          '-12345678901234567890.0123456789', 0.1, '-838:59:59'),
         (2, 2000, b'0', x'', x'', '', '2024-00-15', '0000-00-00 00:00:00', '0000-00-00 00:00:00', 'd''q',
          18446744073709551615, '[]', '0.0000000001', 3.4028235e38, '00:00:00'),
         (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
       SET SESSION time_zone = '+00:00'`,
    );
    const events = await take(open(dialect, spec, from), commits(1));
    const rows = events.flatMap((e) => (e.kind === 'row' && e.row ? [e.row] : []));
    const { ref, columns, key } = spec.tables[0]!;
    const fetched = await dialect.fetchByKeys(ref, columns, key, [['1'], ['2'], ['3']]);
    fetched.sort((a, b) => Number(a[0]) - Number(b[0]));
    expect(rows).toEqual(fetched);
    expect(rows[0]?.[1]).toBe('0'); // YEAR 0000 (zongji says 1900)
  });
});

describe('MySQL change capture: transactions and positions', () => {
  it('gives inserts, updates, deletes and key changes in commit order, one begin…commit per transaction', async () => {
    const { db, dialect } = await setup(
      'mysql changes ops',
      'CREATE TABLE t (id int PRIMARY KEY, v varchar(10), extra int); CREATE TABLE other (id int PRIMARY KEY)',
    );
    // `extra` is not followed: it is dropped from the rows.
    const spec = await followSpec(dialect, plan(db), [{ name: 't', columns: ['id', 'v'] }]);
    const from = await capture(dialect).start(spec);
    await db.conn.query(
      `INSERT INTO t VALUES (1, 'a', 7);
       BEGIN; INSERT INTO t VALUES (2, 'b', 7), (3, 'c', 7); UPDATE t SET v = 'A' WHERE id = 1; COMMIT;
       INSERT INTO other VALUES (1);
       UPDATE t SET id = 20 WHERE id = 2;
       DELETE FROM t WHERE id = 3;
       UPDATE t SET extra = 8 WHERE id = 1;`,
    );
    const events = await take(open(dialect, spec, from), commits(5));
    // Ticks: the other table's commit (and other tests' writes on this shared server) between ours.
    expect(events.some((e) => e.kind === 'tick')).toBe(true);
    expect(brief(events).filter((e) => e !== 'tick')).toEqual([
      'begin',
      ['insert', 0, ['1'], ['1', 'a']],
      'commit',
      'begin',
      ['insert', 0, ['2'], ['2', 'b']],
      ['insert', 0, ['3'], ['3', 'c']],
      ['update', 0, ['1'], ['1', 'A']],
      'commit',
      'begin',
      ['update', 0, ['2'], ['20', 'b']],
      'commit',
      'begin',
      ['delete', 0, ['3'], undefined],
      'commit',
      'begin',
      ['update', 0, ['1'], ['1', 'A']],
      'commit',
    ]);
  });

  it('resumes from a commit position with exactly the later transactions, across a binlog rotation', async () => {
    const { db, dialect } = await setup('mysql changes resume', 'CREATE TABLE t (id int PRIMARY KEY)');
    const spec = await followSpec(dialect, plan(db), [{ name: 't' }]);
    const from = await capture(dialect).start(spec);
    await db.conn.query('INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); FLUSH BINARY LOGS');
    await db.conn.query('INSERT INTO t VALUES (3); INSERT INTO t VALUES (4)');
    const ids = (events: ChangeEvent[]) => events.flatMap((e) => (e.kind === 'row' ? [e.key[0]] : []));
    const positions = (events: ChangeEvent[]) =>
      events.flatMap((e) => (e.kind === 'commit' ? [e.position] : []));

    const first = open(dialect, spec, from);
    const all = await take(first, commits(4));
    await first.close();
    expect(ids(all)).toEqual(['1', '2', '3', '4']);
    const [, second, third] = positions(all);
    expect(JSON.parse(second!).file).not.toBe(JSON.parse(third!).file); // 3 went into the next binlog file

    const afterTwo = await take(open(dialect, spec, second!), commits(2));
    expect(ids(afterTwo)).toEqual(['3', '4']);
    const afterThree = await take(open(dialect, spec, third!), commits(1));
    expect(ids(afterThree)).toEqual(['4']);
    expect(positions(afterThree)).toEqual([positions(all)[3]]);
    // The server's end is at or after our last commit (other tests write to this server too).
    const end = JSON.parse(await capture(dialect).current());
    const last = JSON.parse(positions(all)[3]!);
    expect(end.file > last.file || (end.file === last.file && end.pos >= last.pos)).toBe(true);
  });

  it('pauses the binlog connection while the consumer is busy, and loses nothing', async () => {
    const { db, dialect } = await setup('mysql changes pause', 'CREATE TABLE t (id int PRIMARY KEY, v int)');
    const spec = await followSpec(dialect, plan(db), [{ name: 't' }]);
    const from = await capture(dialect).start(spec);
    await db.conn.query('INSERT INTO t SELECT seq, seq FROM seq_1_to_12000');
    const stream = open(dialect, spec, from);
    const first = await take(stream, (e) => e.length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the consumer is busy
    const queued = (stream as unknown as { queue: unknown[]; head: number }).queue.length;
    expect(queued).toBeLessThan(5000); // without the pause all 12,000 rows would be waiting
    const rest = await take(stream, commits(1), 20_000);
    const rows = [...first, ...rest].filter((e) => e.kind === 'row');
    expect(rows).toHaveLength(12_000);
    expect(rows.map((e) => (e.kind === 'row' ? Number(e.key[0]) : 0))).toEqual(
      Array.from({ length: 12_000 }, (_, i) => i + 1),
    );
  }, 40_000);

  it('leaves no socket open after close', async () => {
    const { db, dialect } = await setup('mysql changes close', 'CREATE TABLE t (id int PRIMARY KEY)');
    const spec = await followSpec(dialect, plan(db), [{ name: 't' }]);
    const from = await capture(dialect).start(spec);
    await dialect.close();
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const settled = async (n: number) => {
      for (let i = 0; i < 30 && sockets() > n; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      return sockets();
    };
    const before = await settled(1); // the test's own connection
    await db.conn.query('INSERT INTO t VALUES (1)');
    const stream = open(dialect, spec, from);
    await take(stream, commits(1));
    expect(sockets()).toBeGreaterThan(before);
    await stream.close();
    await dialect.close();
    expect(await settled(before)).toBe(before);
  });
});

describe('MySQL change capture: schema changes', () => {
  it('reports an ALTER of a followed table, and not one of another table', async () => {
    const { db, dialect } = await setup(
      'mysql changes alter',
      'CREATE TABLE t (id int PRIMARY KEY, v int); CREATE TABLE other (id int PRIMARY KEY)',
    );
    const spec = await followSpec(dialect, plan(db), [{ name: 't' }]);
    const from = await capture(dialect).start(spec);
    await db.conn.query(
      'ALTER TABLE other ADD COLUMN z int; INSERT INTO t VALUES (1, 1); ALTER TABLE t ADD COLUMN z int',
    );
    const events = await take(open(dialect, spec, from), (e) => e.some((x) => x.kind === 'schema'));
    expect(brief(events).filter((e) => e !== 'tick')).toEqual([
      'begin',
      ['insert', 0, ['1'], ['1', '1']],
      'commit',
      ['schema', 0],
    ]);
    const schema = events.find((e) => e.kind === 'schema');
    expect(schema?.kind === 'schema' && schema.message).toMatch(/ALTER TABLE t ADD COLUMN z/);
  });

  it('reports rows whose columns no longer match the spec (a TableMap with other types)', async () => {
    const { db, dialect } = await setup(
      'mysql changes tablemap',
      'CREATE TABLE t (id int PRIMARY KEY, v int)',
    );
    const spec = await followSpec(dialect, plan(db), [{ name: 't' }]);
    spec.tables[0]!.columns[1] = { ...spec.tables[0]!.columns[1]!, dbType: 'bigint' };
    const from = await capture(dialect).start(spec);
    await db.conn.query('INSERT INTO t VALUES (1, 1)');
    const events = await take(open(dialect, spec, from), (e) => e.some((x) => x.kind === 'schema'));
    expect(events.some((e) => e.kind === 'row')).toBe(false);
    const schema = events.find((e) => e.kind === 'schema');
    expect(schema?.kind === 'schema' && schema.message).toMatch(/column "v" .* is now int, was bigint/);
  });

  it('gives TRUNCATE of a followed table as its own transaction', async () => {
    const { db, dialect } = await setup('mysql changes truncate', 'CREATE TABLE t (id int PRIMARY KEY)');
    const spec = await followSpec(dialect, plan(db), [{ name: 't' }]);
    const from = await capture(dialect).start(spec);
    await db.conn.query('INSERT INTO t VALUES (1); TRUNCATE TABLE t; INSERT INTO t VALUES (2)');
    const events = await take(open(dialect, spec, from), commits(3));
    expect(brief(events).filter((e) => e !== 'tick')).toEqual([
      'begin',
      ['insert', 0, ['1'], ['1']],
      'commit',
      'begin',
      ['truncate', [0]],
      'commit',
      'begin',
      ['insert', 0, ['2'], ['2']],
      'commit',
    ]);
  });
});

describe('MySQL change capture: check', () => {
  it('fails a stream whose binlog file is gone, saying what to do', async () => {
    const { db, dialect } = await setup('mysql changes purged', 'CREATE TABLE t (id int PRIMARY KEY)');
    const spec = await followSpec(dialect, plan(db), [{ name: 't' }]);
    const stream = open(dialect, spec, '{"file":"binlog.999999","pos":4}');
    await expect(take(stream, commits(1))).rejects.toMatchObject({
      message: expect.stringMatching(/reading the MySQL\/MariaDB binlog failed/),
      hint: expect.stringMatching(/purged or expired/),
    });
  });

  it('finds nothing wrong on this server for a keyed table, and names a table without a key', async () => {
    const { db, dialect } = await setup(
      'mysql changes check',
      'CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE nokey (v int)',
    );
    expect(await capture(dialect).check(await followSpec(dialect, plan(db), [{ name: 't' }]))).toEqual([]);
    const problems = await capture(dialect).check(await followSpec(dialect, plan(db), [{ name: 'nokey' }]));
    expect(problems).toEqual([expect.stringMatching(/table nokey has no primary key/)]);
  });

  it('names the missing privileges of a user with SELECT only', async () => {
    const { db, dialect: admin } = await setup(
      'mysql changes privileges',
      'CREATE TABLE t (id int PRIMARY KEY)',
    );
    const user = `cm_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(8).toString('hex');
    await db.conn.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    try {
      await db.conn.query(`GRANT SELECT ON \`${db.name}\`.* TO '${user}'@'%'`);
      const url = new URL(db.url);
      url.username = user;
      url.password = password;
      const dialect = new MysqlDialect(url.toString());
      dialects.push(dialect);
      const problems = await capture(dialect).check(await followSpec(dialect, plan(db), [{ name: 't' }]));
      expect(problems).toEqual([
        expect.stringMatching(/lacks REPLICATION SLAVE/),
        expect.stringMatching(/lacks BINLOG MONITOR/),
      ]);
      const from = await capture(admin).current();
      const stream = open(dialect, await followSpec(dialect, plan(db), [{ name: 't' }]), from);
      await expect(take(stream, commits(1))).rejects.toThrow(/REPLICATION SLAVE/);
      await stream.close();
      await dialect.close();
    } finally {
      const admin = await mysql.createConnection({ uri: testServers.mysqlUrl });
      await admin.query(`DROP USER '${user}'@'%'`);
      await admin.end();
    }
  });
});
