// The MySQL/MariaDB dialect against the real server: introspection, exact decoding, keyset reads, the
// writer's one-transaction batches with their checkpoint, collation merges, and the state table's leases.
// Every test gets its own database; expected values come from SQL run on an independent connection.
import { afterEach, describe, expect, it } from 'vitest';
import type { Column, Row } from '../../src/convert/value.js';
import type { ReadSpec } from '../../src/db/batch.js';
import { MysqlDialect } from '../../src/db/mysql/index.js';
import type { CheckpointUpdate, WriteSpec } from '../../src/db/writer.js';
import { DataError, LockedError, RuntimeError } from '../../src/errors.js';
import { createMysqlDatabase, type MysqlTestDatabase } from '../helpers/databases.js';

const dbs: MysqlTestDatabase[] = [];
const dialects: MysqlDialect[] = [];
afterEach(async () => {
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

async function collect(it: AsyncIterable<Row[]>): Promise<Row[][]> {
  const out: Row[][] = [];
  for await (const batch of it) out.push(batch);
  return out;
}

function checkpoint(owner: string, extra: Partial<CheckpointUpdate> = {}): CheckpointUpdate {
  return {
    plan: 'p',
    table: 't',
    chunk: 0,
    owner,
    lastKey: '["1"]',
    rowsRead: 1,
    rowsWritten: 1,
    mismatches: 0,
    skipped: 0,
    done: false,
    leaseMs: 60_000,
    ...extra,
  };
}

describe('MySQL dialect: introspection', () => {
  it('maps every column type to its kind, finds keys, and detects MariaDB JSON by its json_valid check', async () => {
    const { dialect } = await setup(
      'mysql introspect',
      `CREATE TABLE t (
        id bigint unsigned NOT NULL, code varchar(20) NOT NULL, ti tinyint, flag tinyint(1), b boolean,
        y year, bt bit(1), bits bit(12), d decimal(65,30), f float, db double, c char(3), vc varchar(10),
        tx text, e enum('a','b'), s set('x','y'), j json, j2 longtext CHECK (json_valid(j2)), lt longtext,
        bin binary(16), vb varbinary(10), bl blob, dt date, tm time(6), dtm datetime(6), ts timestamp(6) NULL,
        u uuid, PRIMARY KEY (id), UNIQUE KEY (code), UNIQUE KEY (vc), UNIQUE KEY (c(2)));
       INSERT INTO t (id, code) VALUES (1, 'a'), (2, 'b'), (3, 'c');`,
    );
    const info = await dialect.describeTable({ schema: null, name: 't' });
    expect(info).not.toBeNull();
    const kinds = Object.fromEntries(info!.columns.map((c) => [c.name, c.kind]));
    expect(kinds).toEqual({
      id: 'int',
      code: 'text',
      ti: 'int',
      flag: 'int',
      b: 'int',
      y: 'int',
      bt: 'bool',
      bits: 'int',
      d: 'decimal',
      f: 'float',
      db: 'float',
      c: 'text',
      vc: 'text',
      tx: 'text',
      e: 'text',
      s: 'text',
      j: 'json',
      j2: 'json',
      lt: 'text',
      bin: 'bytes',
      vb: 'bytes',
      bl: 'bytes',
      dt: 'date',
      tm: 'time',
      dtm: 'timestamp',
      ts: 'timestamptz',
      u: 'uuid',
    });
    const byName = new Map(info!.columns.map((c) => [c.name, c]));
    expect(byName.get('id')!.dbType).toBe('bigint(20) unsigned');
    expect(byName.get('flag')!.dbType).toBe('tinyint(1)');
    expect(byName.get('id')!.nullable).toBe(false);
    expect(byName.get('ti')!.nullable).toBe(true);
    expect(info!.primaryKey).toEqual(['id']);
    // vc is nullable and c(2) is a prefix index: neither identifies a row.
    expect(info!.uniqueKeys).toEqual([['code']]);
    expect(info!.estimatedRows).toBe(3);
    expect(await dialect.describeTable({ schema: null, name: 'nope' })).toBeNull();
  });

  it('describes a query from its result metadata', async () => {
    const { dialect } = await setup(
      'mysql describe query',
      `CREATE TABLE t (id int PRIMARY KEY, big bigint unsigned, flag tinyint(1), f float, d decimal(12,3),
        name varchar(10), data blob, at datetime(3), ts timestamp NULL, e enum('x','y'), j json)`,
    );
    const cols = await dialect.describeQuery('SELECT id, big, flag, f, d, name, data, at, ts, e, j FROM t');
    expect(cols.map((c) => [c.name, c.kind, c.dbType])).toEqual([
      ['id', 'int', 'int'],
      ['big', 'int', 'bigint unsigned'],
      ['flag', 'int', 'tinyint(1)'],
      ['f', 'float', 'float'],
      ['d', 'decimal', 'decimal(12,3)'],
      ['name', 'text', 'varchar'],
      ['data', 'bytes', 'blob'],
      ['at', 'timestamp', 'datetime(3)'],
      ['ts', 'timestamptz', 'timestamp'],
      ['e', 'text', 'enum'],
      ['j', 'json', 'text'],
    ]);
  });
});

describe('MySQL dialect: reads', () => {
  it('decodes values exactly: big numbers, FLOAT, bytes, zero dates, TIME beyond a day, UTC timestamps', async () => {
    const { dialect } = await setup(
      'mysql decode',
      `CREATE TABLE t (id int PRIMARY KEY, u bigint unsigned, i bigint, d decimal(65,30), f float, db double,
        y year, bt bit(1), bits bit(12), bin blob, dt date, dtm datetime(6), tm time(6), ts timestamp(6) NULL,
        j json, tx text, flag tinyint(1));
       SET time_zone = '+05:30', sql_mode = '';
       INSERT INTO t VALUES
        (1, 18446744073709551615, -9223372036854775808, '-12345678901234567890123456789012345.123456789012345678901234567891',
         0.1, 0.1, 0, b'1', b'101010101010', NULL, '0000-00-00', '0000-00-00 00:00:00', '838:59:59', '2024-03-01 05:30:00.000001',
         '{"n": 12345678901234567890123}', 'e\u0301 😀\t\\0', 5),
        (2, 0, 9223372036854775807, '0.000000000000000000000000000001', 3.4028234e38, 2.2250738585072014e-308,
         2155, b'0', b'0', '', '2024-00-15', '9999-12-31 23:59:59.999999', '-838:59:59', NULL, NULL, '', 0);`,
    );
    await dbs[0]!.conn.query(
      'UPDATE t SET bin = (SELECT CAST(CONCAT(' + hexAll() + ') AS BINARY)) WHERE id = 1',
    );
    const info = await dialect.describeTable({ schema: null, name: 't' });
    const spec: ReadSpec = {
      from: { kind: 'table', ref: { schema: null, name: 't' } },
      columns: info!.columns,
      key: [0],
      batchSize: 10,
      after: null,
    };
    const [rows] = await collect(dialect.readBatches(spec));
    const all256 = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(rows![0]).toEqual([
      '1',
      '18446744073709551615',
      '-9223372036854775808',
      '-12345678901234567890123456789012345.123456789012345678901234567891',
      Math.fround(0.1),
      0.1,
      '0',
      true,
      '2730',
      all256,
      '0000-00-00',
      '0000-00-00 00:00:00.000000',
      '838:59:59.000000',
      '2024-03-01 00:00:00.000001',
      '{"n": 12345678901234567890123}',
      'e\u0301 😀\t\0',
      '5',
    ]);
    expect(rows![1]).toEqual([
      '2',
      '0',
      '9223372036854775807',
      '0.000000000000000000000000000001',
      Math.fround(3.4028234e38),
      2.2250738585072014e-308,
      '2155',
      false,
      '0',
      Buffer.alloc(0),
      '2024-00-15',
      '9999-12-31 23:59:59.999999',
      '-838:59:59.000000',
      null,
      null,
      '',
      '0',
    ]);
  });

  it('reads in key order with a composite key, after a key and up to one, with a where filter', async () => {
    const { db, dialect } = await setup(
      'mysql keyset',
      `CREATE TABLE t (a int NOT NULL, b varchar(10) NOT NULL, v int, PRIMARY KEY (a, b));
       INSERT INTO t SELECT seq DIV 10, CONCAT('k', seq MOD 10), seq FROM seq_0_to_2499;`,
    );
    const info = await dialect.describeTable({ schema: null, name: 't' });
    const base: ReadSpec = {
      from: { kind: 'table', ref: { schema: null, name: 't' } },
      columns: info!.columns,
      key: [0, 1],
      batchSize: 300,
      after: null,
    };
    const [expected] = await db.conn.query<import('mysql2').RowDataPacket[]>(
      'SELECT CAST(a AS CHAR) ta, b AS tb, CAST(v AS CHAR) tv FROM t ORDER BY a, b',
    );
    const all = expected.map((r) => [r.ta, r.tb, r.tv]);
    const batches = await collect(dialect.readBatches(base));
    expect(batches.map((b) => b.length)).toEqual([300, 300, 300, 300, 300, 300, 300, 300, 100]);
    expect(batches.flat()).toEqual(all);

    const from = all.findIndex((r) => r[0] === '17' && r[1] === 'k3');
    const to = all.findIndex((r) => r[0] === '42' && r[1] === 'k0');
    const ranged = await collect(
      dialect.readBatches({ ...base, after: ['17', 'k3'], until: ['42', 'k0'], batchSize: 7 }),
    );
    expect(ranged.flat()).toEqual(all.slice(from + 1, to + 1));

    const filtered = await collect(
      dialect.readBatches({
        ...base,
        from: {
          kind: 'table',
          ref: base.from.kind === 'table' ? base.from.ref : { schema: null, name: 't' },
          where: 'v % 2 = 0',
        },
      }),
    );
    expect(filtered.flat()).toEqual(all.filter((r) => Number(r[2]) % 2 === 0));

    const keyless = await collect(dialect.readBatches({ ...base, key: [], batchSize: 1000 }));
    expect(keyless.map((b) => b.length)).toEqual([1000, 1000, 500]);

    const fetched = await dialect.fetchByKeys(
      { schema: null, name: 't' },
      info!.columns,
      [0, 1],
      [
        ['3', 'k4'],
        ['249', 'k9'],
        ['5000', 'k1'],
      ],
    );
    expect(fetched.sort()).toEqual([
      ['249', 'k9', '2499'],
      ['3', 'k4', '34'],
    ]);
  });

  it('stops a streamed key-less read early without hanging', async () => {
    const { dialect } = await setup(
      'mysql early break',
      'CREATE TABLE t (v int); INSERT INTO t SELECT seq FROM seq_1_to_50000;',
    );
    const info = await dialect.describeTable({ schema: null, name: 't' });
    let n = 0;
    for await (const batch of dialect.readBatches({
      from: { kind: 'table', ref: { schema: null, name: 't' } },
      columns: info!.columns,
      key: [],
      batchSize: 100,
      after: null,
    })) {
      n += batch.length;
      if (n >= 300) break;
    }
    expect(n).toBe(300);
    await dialect.ping();
  });
});

function hexAll(): string {
  return Array.from({ length: 256 }, (_, i) => `CHAR(${i} USING binary)`).join(', ');
}

describe('MySQL dialect: writer and state', () => {
  async function writerSetup(name: string, keyType = 'int', collation = '') {
    const ctx = await setup(
      name,
      `CREATE TABLE t (id ${keyType} ${collation} NOT NULL PRIMARY KEY, v varchar(20), n decimal(10,2))`,
    );
    const info = await ctx.dialect.describeTable({ schema: null, name: 't' });
    const spec: WriteSpec = {
      ref: { schema: null, name: 't' },
      columns: info!.columns,
      key: [0],
      onConflict: 'upsert',
      stateTable: '_migrate_state',
      label: 't',
    };
    const state = await ctx.dialect.state('_migrate_state');
    await state.ensure();
    return { ...ctx, spec, state, columns: info!.columns as Column[] };
  }

  it('commits a batch and its checkpoint together, reads the batch back, and rolls both back when the lease is lost', async () => {
    const { db, dialect, spec, state } = await writerSetup('mysql writer');
    expect(await state.claim('p', 't', 0, 'me', 60_000, 'h')).not.toBeNull();
    const writer = await dialect.openWriter(spec);
    const rows: Row[] = [
      ['1', 'a', '1.50'],
      ['2', "it's \\ \n", null],
      ['3', '', '-0.01'],
    ];
    const result = await writer.writeBatch(rows, checkpoint('me', { lastKey: '["3"]', rowsRead: 3 }), true);
    expect(result.written).toBe(3);
    expect(result.readBack!.sort()).toEqual(rows);
    const [after] = await db.conn.query<import('mysql2').RowDataPacket[]>(
      'SELECT last_key, rows_read, status, lease_owner FROM _migrate_state',
    );
    expect(after[0]).toMatchObject({
      last_key: '["3"]',
      rows_read: '3',
      status: 'running',
      lease_owner: 'me',
    });

    // Upsert: an existing key is updated, not duplicated.
    const again = await writer.writeBatch([['1', 'b', '2.00']], checkpoint('me', { lastKey: '["1"]' }), true);
    expect(again.readBack).toEqual([['1', 'b', '2.00']]);

    // Another worker took the lease: the batch must not commit.
    await db.conn.query("UPDATE _migrate_state SET lease_owner = 'other'");
    await expect(writer.writeBatch([['9', 'x', null]], checkpoint('me'), false)).rejects.toBeInstanceOf(
      RuntimeError,
    );
    const [nine] = await db.conn.query<import('mysql2').RowDataPacket[]>('SELECT * FROM t WHERE id = 9');
    expect(nine).toHaveLength(0);
    await writer.close();
  });

  it('names the key and column of a value the target rejects, and commits nothing of the batch', async () => {
    const { db, dialect, spec, state } = await writerSetup('mysql writer reject');
    await state.claim('p', 't', 0, 'me', 60_000, 'h');
    const writer = await dialect.openWriter({ ...spec, onConflict: 'error' });
    await writer.writeBatch([['5', 'x', null]], checkpoint('me'), false);
    const error = await writer
      .writeBatch(
        [
          ['6', 'ok', null],
          ['5', 'dup', null],
        ],
        checkpoint('me'),
        false,
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect(String((error as Error).message)).toMatch(/key id=5/);
    const tooLong = await writer
      .writeBatch([['7', 'x'.repeat(21), null]], checkpoint('me'), false)
      .catch((e: unknown) => e);
    expect(tooLong).toBeInstanceOf(DataError);
    expect(String((tooLong as Error).message)).toMatch(/key id=7, column v/);
    const [rows] = await db.conn.query<import('mysql2').RowDataPacket[]>('SELECT id FROM t ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual([5]);
    // An emoji into a latin1 column: MySQL files it under SQLSTATE HY000, still a data error.
    await db.conn.query('ALTER TABLE t MODIFY v varchar(20) CHARACTER SET latin1');
    const latin1 = await writer
      .writeBatch([['8', 'ok 😀', null]], checkpoint('me'), false)
      .catch((e: unknown) => e);
    expect(latin1).toBeInstanceOf(DataError);
    expect(String((latin1 as Error).message)).toMatch(/key id=8, column v: .*Incorrect string value/);
    await writer.close();
  });

  it('fails instead of merging keys that a case-insensitive collation equates', async () => {
    const { db, dialect, spec, state } = await writerSetup(
      'mysql writer collation',
      'varchar(10)',
      'COLLATE utf8mb4_general_ci',
    );
    await state.claim('p', 't', 0, 'me', 60_000, 'h');
    for (const readBack of [true, false]) {
      for (const onConflict of ['upsert', 'skip'] as const) {
        const writer = await dialect.openWriter({ ...spec, onConflict });
        const error = await writer
          .writeBatch(
            [
              ['abc', '1', null],
              ['ABC', '2', null],
            ],
            checkpoint('me'),
            readBack,
          )
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DataError);
        expect(String((error as Error).message)).toMatch(/key id=ABC/);
        expect(String((error as Error).message)).toMatch(/utf8mb4_general_ci/);
        await writer.close();
      }
    }
    // Across batches too: the second batch's key would update the first batch's row.
    const writer = await dialect.openWriter(spec);
    await writer.writeBatch([['abc', '1', null]], checkpoint('me'), false);
    await expect(writer.writeBatch([['ABC', '2', null]], checkpoint('me'), true)).rejects.toBeInstanceOf(
      DataError,
    );
    const [rows] = await db.conn.query<import('mysql2').RowDataPacket[]>('SELECT id, v FROM t');
    expect(rows).toEqual([{ id: 'abc', v: '1' }]);
    await writer.close();
  });

  it('copies a key-less table in one transaction into an empty table only', async () => {
    const { db, dialect, spec, state } = await writerSetup('mysql writer whole');
    await state.claim('p', 't', 0, 'me', 60_000, 'h');
    const writer = await dialect.openWriter({ ...spec, key: [] });
    await writer.beginWhole();
    expect(await writer.appendWhole([['1', 'a', null]])).toBe(1);
    expect(await writer.appendWhole([['2', 'b', null]])).toBe(1);
    await writer.finishWhole(checkpoint('me', { done: true, lastKey: '[]' }));
    const [rows] = await db.conn.query<import('mysql2').RowDataPacket[]>('SELECT count(*) n FROM t');
    expect(rows[0]!.n).toBe('2');
    await expect(writer.beginWhole()).rejects.toBeInstanceOf(DataError);
    await writer.close();
  });

  it('state: claims with SKIP LOCKED, refuses a live lease, reset refuses while another run is live', async () => {
    const { dialect, state } = await writerSetup('mysql state');
    const other = await dialect.state('_migrate_state');
    expect(await state.exists()).toBe(true);
    const mine = await state.claim('p', 't', 0, 'me', 60_000, 'hash1');
    expect(mine).toMatchObject({
      status: 'running',
      leaseOwner: 'me',
      leaseLive: true,
      mappingHash: 'hash1',
    });
    expect(await other.claim('p', 't', 0, 'you', 60_000, 'hash1')).toBeNull();
    // A dead owner's lease is taken over at once.
    expect(await other.claim('p', 't', 0, 'you', 60_000, 'hash1', (o) => o === 'me')).not.toBeNull();
    expect(await state.claim('p', 't', 0, 'me', 60_000, 'hash1')).toBeNull();
    await expect(state.reset('p', null, 'me')).rejects.toBeInstanceOf(LockedError);
    await expect(state.reset('p', ['t'], 'me')).rejects.toBeInstanceOf(LockedError);
    await other.release('p', 't', 0, 'you');
    const listed = await state.list('p');
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ table: 't', status: 'pending', leaseOwner: null, leaseLive: false });
    expect(listed[0]!.updatedAt).toBeInstanceOf(Date);
    expect(Math.abs(listed[0]!.updatedAt!.getTime() - Date.now())).toBeLessThan(60_000);
    await state.setWarmed('p', 't', 0, '["7"]');
    expect((await state.list('p'))[0]!.warmedKey).toBe('["7"]');
    await state.reset('p', ['other-table'], 'me');
    expect(await state.list('p')).toHaveLength(1);
    await state.reset('p', null, 'me');
    expect(await state.list('p')).toEqual([]);
    // An expired lease is free for anyone.
    await state.claim('p', 't', 0, 'me', 1, 'hash1');
    await new Promise((r) => setTimeout(r, 20));
    expect(await other.claim('p', 't', 0, 'you', 60_000, 'hash1')).not.toBeNull();
  });
});

describe('MySQL dialect: chunk planning', () => {
  it("reads an integer column's extent as digits, past 2^53 and unsigned, with the source's filter", async () => {
    const { dialect } = await setup(
      'mysql extent',
      `CREATE TABLE u (id bigint unsigned NOT NULL PRIMARY KEY, g int NOT NULL);
       INSERT INTO u VALUES (9007199254740993, 1), (18446744073709551615, 2), (5, 2);
       CREATE TABLE e (id int NOT NULL PRIMARY KEY);`,
    );
    const column = (await dialect.describeTable({ schema: null, name: 'u' }))!.columns[0]!;
    const table = (name: string, where?: string) =>
      ({ kind: 'table', ref: { schema: null, name }, ...(where ? { where } : {}) }) as const;
    expect(await dialect.intExtent!({ from: table('u'), column })).toEqual(['5', '18446744073709551615']);
    expect(await dialect.intExtent!({ from: table('u', 'g = 1'), column })).toEqual([
      '9007199254740993',
      '9007199254740993',
    ]);
    expect(await dialect.intExtent!({ from: table('e'), column })).toBeNull();
  });

  it('finds key boundaries every n rows and creates chunk rows once, atomically', async () => {
    const { dialect } = await setup(
      'mysql chunks',
      `CREATE TABLE t (a int NOT NULL, b varchar(5) NOT NULL, PRIMARY KEY (a, b));
       INSERT INTO t SELECT seq DIV 3, CONCAT('x', seq MOD 3), seq FROM seq_0_to_1000;`.replace(
        ', seq FROM',
        ' FROM',
      ),
    );
    const info = await dialect.describeTable({ schema: null, name: 't' });
    const bounds = await dialect.keyBoundaries({
      from: { kind: 'table', ref: { schema: null, name: 't' } },
      columns: info!.columns,
      key: [0, 1],
      every: 250,
    });
    expect(bounds).toEqual([
      ['83', 'x0'],
      ['166', 'x1'],
      ['249', 'x2'],
      ['333', 'x0'],
    ]);
    const state = await dialect.state('_migrate_state');
    await state.ensure();
    const ranges = [
      { start: null, end: '["83","x0"]' },
      { start: '["83","x0"]', end: null },
    ];
    const other = await dialect.state('_migrate_state');
    await Promise.all([
      state.createChunks!('p', 't', 'h', ranges),
      other.createChunks!('p', 't', 'h', ranges),
    ]);
    const chunks = await state.list('p');
    expect(chunks.map((c) => [c.chunk, c.rangeStart, c.rangeEnd, c.status])).toEqual([
      [0, null, '["83","x0"]', 'pending'],
      [1, '["83","x0"]', null, 'pending'],
    ]);
  });
});
