// `migrate verify` through the built CLI against real servers: equal after a correct run (exit 0), then every
// injected fault found with its exact key (exit 3, on stderr and in the NDJSON report): a row updated, deleted
// and inserted in the target, a duplicated row in a key-less table, a stale and a missing cache entry.
// pg -> pg exercises the in-database digests with bisection (bigint key, several chunks) and the streamed
// comparison (text key); mysql -> pg the streamed comparison across dialects.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, writePlan } from '../helpers/cli.js';
import {
  createMysqlDatabase,
  createPgDatabase,
  type MysqlTestDatabase,
  type PgTestDatabase,
} from '../helpers/databases.js';
import { parseHostPort, testServers } from '../helpers/env.js';
import { findKeys, setOn } from '../helpers/memcached-many.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((drop) => drop()));
});

async function pgDb(name: string): Promise<PgTestDatabase> {
  const db = await createPgDatabase(name);
  cleanups.push(() => db.drop());
  return db;
}

async function mysqlDb(name: string): Promise<MysqlTestDatabase> {
  const db = await createMysqlDatabase(name);
  cleanups.push(() => db.drop());
  return db;
}

/** Deletes one key on one server with the text protocol (independent of the client under test). */
function deleteOn(server: string, key: string): Promise<void> {
  const { host, port } = parseHostPort(server);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => {
      socket.end();
      if (d.toString().startsWith('DELETED')) resolve();
      else reject(new Error(`memcached ${server}: delete ${key}: ${d.toString().trim()}`));
    });
    socket.write(`delete ${key}\r\n`);
  });
}

/** A pg -> pg plan with one database for both sides; `cache` is the plan's cache section, if any. */
function pgPlan(url: string, name: string, tables: string, cache = ''): string {
  return writePlan(`version: 1
name: ${name}
source:
  url: ${url}
target:
  url: ${url}
${cache}tables:
${tables}`);
}

/** A pg -> pg plan whose tables are cached on the test servers under `prefix`. */
function cachedPlan(url: string, name: string, prefix: string, ttl: number, tables: string): string {
  const cache = `cache:
  servers: [${testServers.memcachedServers.join(', ')}]
  prefix: "${prefix}"
  ttl: ${ttl}
`;
  return pgPlan(url, name, tables, cache);
}

interface Event {
  event: string;
  [k: string]: unknown;
}

function events(stdout: string): Event[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Event);
}

function report(
  planFile: string,
  name: string,
): { table: string; key: string; in: string; problem: string }[] {
  return readFileSync(join(dirname(planFile), `${name}.mismatches.ndjson`), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

const sortKeys = (rows: { table: string; key: string; in: string; problem: string }[]) =>
  rows.map((r) => `${r.table} ${r.key} ${r.in} ${r.problem}`).sort();

describe('migrate verify pg -> pg', () => {
  it('exits 0 after a correct run, then finds every injected fault with its exact key (exit 3)', async () => {
    const db = await pgDb('verify pg faults');
    await db.client.query(`
      CREATE SCHEMA src; CREATE SCHEMA dst;
      CREATE TABLE src.orders (id bigint PRIMARY KEY, customer_id int, sku varchar(32), qty int,
        price numeric(12,2), created_at timestamptz, note text, paid boolean, attrs jsonb, data bytea);
      INSERT INTO src.orders SELECT g, g % 1000, 'SKU-' || g, g % 7, (g * 1.37)::numeric(12,2),
        '2024-01-01 00:00:00.000001+00'::timestamptz + g * interval '1.000123 second',
        CASE WHEN g % 10 = 0 THEN NULL WHEN g % 10 = 1 THEN '' ELSE E'n\\t"q" ü 😀 ' || g END,
        g % 2 = 0, jsonb_build_object('a', g, 'n', 12345678901234567890),
        CASE WHEN g % 5 = 0 THEN NULL ELSE decode(lpad(to_hex(g % 256), 2, '0') || '00ff', 'hex') END
      FROM generate_series(1, 120000) g;
      CREATE TABLE dst.orders (LIKE src.orders INCLUDING ALL);
      CREATE TABLE src.accounts (code text PRIMARY KEY, balance numeric(14,2), opened date);
      INSERT INTO src.accounts SELECT 'acc-' || lpad(g::text, 4, '0'), g * 10.5, date '2020-01-01' + g
        FROM generate_series(1, 3000) g;
      CREATE TABLE dst.accounts (LIKE src.accounts INCLUDING ALL);
      CREATE TABLE src.events (kind text, n int, payload text);
      INSERT INTO src.events SELECT 'k' || (g % 3), g, repeat('x', g % 20) FROM generate_series(1, 5000) g;
      CREATE TABLE dst.events (LIKE src.events);`);
    const prefix = `v${randomBytes(4).toString('hex')}:`;
    const name = `verify${randomBytes(3).toString('hex')}`;
    const file = cachedPlan(
      db.url,
      name,
      prefix,
      1800,
      `  - source: src.orders
    target: dst.orders
    cache: { key: "o:{id}" }
  - source: src.accounts
    target: dst.accounts
    cache: { key: "a:{code}" }
  - source: src.events
    target: dst.events
    cache: { key: "e:{kind}", value: "column:kind" }
`,
    );
    const run = await runCli(['run', file, '--no-progress']);
    expect(run.code, run.stdout + run.stderr).toBe(0);

    const clean = await runCli(['verify', file, '--json']);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    const summary = events(clean.stdout).find((e) => e.event === 'summary') as unknown as {
      ok: boolean;
      tables: { table: string; counts: Record<string, number> }[];
    };
    expect(summary.ok).toBe(true);
    const counts = Object.fromEntries(summary.tables.map((t) => [t.table, t.counts]));
    expect(counts['dst.orders']).toMatchObject({
      read: 120000,
      verified: 120000,
      cached: 120000,
      mismatches: 0,
    });
    expect(counts['dst.accounts']).toMatchObject({ read: 3000, verified: 3000, cached: 3000, mismatches: 0 });
    expect(counts['dst.events']).toMatchObject({ read: 5000, verified: 5000, cached: 3, mismatches: 0 });

    // The faults: three in the target's keyed table (in different 50,000-row chunks), one in a text-keyed
    // table, a duplicated row in the key-less table, and two in the cache.
    await db.client.query(`
      UPDATE dst.orders SET note = 'tampered' WHERE id = 70001;
      DELETE FROM dst.orders WHERE id = 12345;
      INSERT INTO dst.orders SELECT 1000001, customer_id, sku, qty, price, created_at, note, paid, attrs, data
        FROM dst.orders WHERE id = 2;
      UPDATE dst.accounts SET balance = balance + 0.01 WHERE code = 'acc-0777';
      INSERT INTO dst.events SELECT * FROM dst.events WHERE n = 77;`);
    const found = await findKeys(testServers.memcachedServers, [`${prefix}o:42`, `${prefix}o:43`]);
    await setOn(found.get(`${prefix}o:42`)!.servers[0]!, `${prefix}o:42`, '{"stale":true}');
    await deleteOn(found.get(`${prefix}o:43`)!.servers[0]!, `${prefix}o:43`);

    const faults = await runCli(['verify', file, '--no-progress']);
    expect(faults.code, faults.stdout + faults.stderr).toBe(3);
    const lines = [
      'mismatch: dst.orders id=70001: target different (columns: note)',
      'mismatch: dst.orders id=12345: target missing',
      'mismatch: dst.orders id=1000001: target extra',
      'mismatch: dst.orders id=42: cache different',
      'mismatch: dst.orders id=43: cache missing',
      'mismatch: dst.accounts code=acc-0777: target different (columns: balance)',
      'mismatch: dst.events row {"kind":"k2","n":77,"payload":"xxxxxxxxxxxxxxxxx"} (2× in the target, 1× in the source): target extra',
    ];
    for (const line of lines) expect(faults.stderr).toContain(line);
    expect(faults.stderr).toMatch(/verification found 7 mismatching/);
    expect(sortKeys(report(file, name))).toEqual(
      sortKeys([
        { table: 'dst.orders', key: 'id=70001', in: 'target', problem: 'different' },
        { table: 'dst.orders', key: 'id=12345', in: 'target', problem: 'missing' },
        { table: 'dst.orders', key: 'id=1000001', in: 'target', problem: 'extra' },
        { table: 'dst.orders', key: 'id=42', in: 'cache', problem: 'different' },
        { table: 'dst.orders', key: 'id=43', in: 'cache', problem: 'missing' },
        { table: 'dst.accounts', key: 'code=acc-0777', in: 'target', problem: 'different' },
        {
          table: 'dst.events',
          key: 'row {"kind":"k2","n":77,"payload":"xxxxxxxxxxxxxxxxx"} (2× in the target, 1× in the source)',
          in: 'target',
          problem: 'extra',
        },
      ]),
    );
    // The summary counts: every other row is verified.
    expect(faults.stdout).toMatch(/dst\.orders\s+120,000\s+0\s+119,998\s+119,998\s+5\s/);

    // --no-cache leaves the cache alone; --json carries the same mismatches as events.
    const noCache = await runCli(['verify', file, '--no-cache', '--json']);
    expect(noCache.code).toBe(3);
    const mismatches = events(noCache.stdout).filter((e) => e.event === 'mismatch');
    expect(mismatches.map((e) => `${e.table} ${e.key} ${e.in} ${e.problem}`).sort()).toEqual(
      [
        'dst.orders id=70001 target different',
        'dst.orders id=12345 target missing',
        'dst.orders id=1000001 target extra',
        'dst.accounts code=acc-0777 target different',
        `dst.events row {"kind":"k2","n":77,"payload":"xxxxxxxxxxxxxxxxx"} (2× in the target, 1× in the source) target extra`,
      ].sort(),
    );
    expect(events(noCache.stdout).at(-1)).toMatchObject({ event: 'summary', ok: false });

    // --tables narrows the check.
    const one = await runCli(['verify', file, '--tables', 'dst.accounts', '--no-progress']);
    expect(one.code).toBe(3);
    expect(one.stderr).toContain('mismatch: dst.accounts code=acc-0777: target different (columns: balance)');
    expect(one.stderr).not.toContain('dst.orders');
  });

  it('finds a difference in a row-filtered source but never calls rows outside the filter extra', async () => {
    const db = await pgDb('verify pg where');
    // The target also holds rows the filter leaves out (odd ids, with other values): not extra.
    await db.client.query(`
      CREATE SCHEMA src; CREATE SCHEMA dst;
      CREATE TABLE src.t (id int PRIMARY KEY, v text);
      INSERT INTO src.t SELECT g, 'v' || g FROM generate_series(1, 6000) g;
      CREATE TABLE dst.t (LIKE src.t INCLUDING ALL);
      INSERT INTO dst.t SELECT g, 'old' FROM generate_series(1, 1000, 2) g;`);
    const name = `vw${randomBytes(3).toString('hex')}`;
    const file = pgPlan(db.url, name, '  - source: src.t\n    target: dst.t\n    where: "id % 2 = 0"\n');
    expect((await runCli(['run', file, '--no-progress'])).code).toBe(0);
    expect((await runCli(['verify', file, '--no-progress'])).code).toBe(0);
    await db.client.query("UPDATE dst.t SET v = 'x' WHERE id = 4000");
    const result = await runCli(['verify', file, '--no-progress']);
    expect(result.code).toBe(3);
    expect(sortKeys(report(file, name))).toEqual(['dst.t id=4000 target different']);
  });

  it('under a where, reports a target row whose source row was deleted as extra (in-database digests)', async () => {
    const db = await pgDb('verify pg where deleted');
    await db.client.query(`
      CREATE SCHEMA src; CREATE SCHEMA dst;
      CREATE TABLE src.t (id bigint PRIMARY KEY, qty int, v text);
      INSERT INTO src.t SELECT g, g % 1000, 'v' || g FROM generate_series(1, 120000) g;
      CREATE TABLE dst.t (LIKE src.t INCLUDING ALL);`);
    const name = `vd${randomBytes(3).toString('hex')}`;
    const file = pgPlan(db.url, name, '  - source: src.t\n    target: dst.t\n    where: "qty < 500"\n');
    expect((await runCli(['run', file, '--no-progress'])).code).toBe(0);
    expect((await runCli(['verify', file, '--no-progress'])).code).toBe(0);
    // 7 and 70007: deleted from the source (extra in the target). 8: moved out of the filter (not extra).
    // 600: outside the filter, in both (the target may hold it). 90600: outside the filter, deleted: extra.
    await db.client.query(`
      INSERT INTO dst.t SELECT * FROM src.t WHERE id IN (600, 90600);
      DELETE FROM src.t WHERE id IN (7, 70007, 90600);
      UPDATE src.t SET qty = 900 WHERE id = 8;`);
    const result = await runCli(['verify', file, '--no-progress']);
    expect(result.code, result.stdout + result.stderr).toBe(3);
    expect(result.stderr).toContain('mismatch: dst.t id=7: target extra');
    expect(sortKeys(report(file, name))).toEqual(
      ['dst.t id=7 target extra', 'dst.t id=70007 target extra', 'dst.t id=90600 target extra'].sort(),
    );
    expect(result.stderr).toContain('2 target rows have a source row outside the `where` filter');
  });

  it('under a where, a table without a key: a row no longer in the source table at all is extra', async () => {
    const db = await pgDb('verify pg where keyless');
    await db.client.query(`
      CREATE SCHEMA src; CREATE SCHEMA dst;
      CREATE TABLE src.e (kind text, n int);
      INSERT INTO src.e SELECT 'k' || (g % 3), g FROM generate_series(1, 3000) g;
      -- Outside the filter and too big for the target's smallint: the look at the whole table skips it.
      INSERT INTO src.e VALUES ('k9', 100000);
      CREATE TABLE dst.e (kind text, n smallint);`);
    const name = `vk${randomBytes(3).toString('hex')}`;
    const file = pgPlan(db.url, name, '  - source: src.e\n    target: dst.e\n    where: "n < 500"\n');
    expect((await runCli(['run', file, '--no-progress'])).code).toBe(0);
    expect((await runCli(['verify', file, '--no-progress'])).code).toBe(0);
    // n=7 deleted from the source: extra. n=2000 copied into the target, outside the filter: not extra.
    await db.client.query(`
      DELETE FROM src.e WHERE n = 7;
      INSERT INTO dst.e SELECT * FROM src.e WHERE n = 2000;`);
    const result = await runCli(['verify', file, '--no-progress']);
    expect(result.code, result.stdout + result.stderr).toBe(3);
    expect(sortKeys(report(file, name))).toEqual([
      'dst.e row {"kind":"k1","n":7} (1× in the target, 0× in the source) target extra',
    ]);
    expect(result.stderr).toContain('1 target row has an equal row only outside the `where` filter');
  });
  it('chunks a dense integer key by value and a sparse one by counting rows; both find rows beyond either end', async () => {
    const db = await pgDb('verify pg chunking');
    await db.client.query(`
      CREATE SCHEMA src; CREATE SCHEMA dst;
      CREATE TABLE src.dense (id int PRIMARY KEY, v text);
      INSERT INTO src.dense SELECT g, 'v' || g FROM generate_series(1, 110000) g;
      CREATE TABLE src.sparse (id bigint PRIMARY KEY, v text);
      INSERT INTO src.sparse SELECT g * 10, 'v' || g FROM generate_series(1, 110000) g;
      CREATE TABLE dst.dense (LIKE src.dense INCLUDING ALL);
      CREATE TABLE dst.sparse (LIKE src.sparse INCLUDING ALL);`);
    const name = `vc${randomBytes(3).toString('hex')}`;
    const file = pgPlan(
      db.url,
      name,
      '  - source: src.dense\n    target: dst.dense\n  - source: src.sparse\n    target: dst.sparse\n',
    );
    expect((await runCli(['run', file, '--no-progress'])).code).toBe(0);
    const clean = await runCli(['verify', file, '--json']);
    expect(clean.code, clean.stderr).toBe(0);
    // Where each chunk ended: the dense key in three equal value ranges (1..110000), the sparse one every
    // 50,000th row; the last chunk of each is open-ended.
    const ends = (table: string) =>
      events(clean.stdout)
        .filter((e) => e.event === 'batch' && e.table === table)
        .map((e) => [e.lastKey, e.rows]);
    expect(ends('dst.dense')).toEqual([
      ['["36666"]', 36666],
      ['["73333"]', 36667],
      ['', 36667],
    ]);
    expect(ends('dst.sparse')).toEqual([
      ['["500000"]', 50000],
      ['["1000000"]', 50000],
      ['', 10000],
    ]);

    await db.client.query(`
      INSERT INTO dst.dense VALUES (-5, 'below'), (0, 'below'), (110001, 'above'), (900000, 'above');
      UPDATE dst.dense SET v = 'x' WHERE id = 50000;
      DELETE FROM dst.dense WHERE id = 36666;
      INSERT INTO dst.sparse VALUES (-1, 'below'), (5, 'between'), (1100001, 'above');
      UPDATE dst.sparse SET v = 'x' WHERE id = 500010;
      DELETE FROM dst.sparse WHERE id = 1000000;`);
    const faults = await runCli(['verify', file, '--no-progress']);
    expect(faults.code, faults.stdout + faults.stderr).toBe(3);
    expect(sortKeys(report(file, name))).toEqual(
      [
        'dst.dense id=-5 target extra',
        'dst.dense id=0 target extra',
        'dst.dense id=110001 target extra',
        'dst.dense id=900000 target extra',
        'dst.dense id=50000 target different',
        'dst.dense id=36666 target missing',
        'dst.sparse id=-1 target extra',
        'dst.sparse id=5 target extra',
        'dst.sparse id=1100001 target extra',
        'dst.sparse id=500010 target different',
        'dst.sparse id=1000000 target missing',
      ].sort(),
    );
  });
  it('Ctrl-C (SIGINT) while the cache is checked stops the read and the checks in flight, exits 130', async () => {
    const db = await pgDb('verify pg sigint');
    await db.client.query(`
      CREATE SCHEMA src; CREATE SCHEMA dst;
      CREATE TABLE src.t (id bigint PRIMARY KEY, v text, at timestamptz);
      INSERT INTO src.t SELECT g, repeat('v', g % 50), timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
        FROM generate_series(1, 300000) g;
      CREATE TABLE dst.t (LIKE src.t INCLUDING ALL);`);
    const prefix = `vs${randomBytes(4).toString('hex')}:`;
    const file = cachedPlan(
      db.url,
      `vs${randomBytes(3).toString('hex')}`,
      prefix,
      600,
      '  - source: src.t\n    target: dst.t\n    cache: { key: "t:{id}" }\n',
    );
    expect((await runCli(['run', file, '--no-progress'])).code).toBe(0);
    const verify = startCli(['verify', file, '--json']);
    let stdout = '';
    // (Or its end, should it end first: the exit code below then says so.)
    await new Promise<void>((resolve) => {
      verify.child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('"event":"batch"')) resolve();
      });
      verify.child.on('close', () => resolve());
    });
    verify.child.kill('SIGINT');
    const stopped = await verify.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    const done = events(stopped.stdout).find((e) => e.event === 'table-done') as unknown as {
      complete: boolean;
      counts: { read: number; cached: number; mismatches: number };
    };
    expect(done.complete).toBe(false);
    expect(done.counts.read).toBeLessThan(300000);
    expect(done.counts.cached).toBeLessThan(300000);
    expect(done.counts.mismatches).toBe(0);
  });
});

describe('migrate verify mysql -> pg', () => {
  it('exits 0 after a correct run, then finds an updated, a deleted and an extra row', async () => {
    const my = await mysqlDb('verify my source');
    const pg = await pgDb('verify pg target');
    await my.conn.query(`
      CREATE TABLE items (id int NOT NULL PRIMARY KEY, name varchar(40), price decimal(12,2),
        created datetime(6), flag tinyint(1), doc json, raw varbinary(16)) CHARACTER SET utf8mb4;
      INSERT INTO items SELECT seq, CONCAT('item ', seq, ' ü😀'), seq * 1.25,
        TIMESTAMPADD(MICROSECOND, seq * 1000123, '2024-01-01 00:00:00'), seq % 2,
        JSON_OBJECT('a', seq, 'tags', JSON_ARRAY('x', seq)), UNHEX(LPAD(HEX(seq), 8, '0'))
      FROM seq_1_to_20000;
      UPDATE items SET name = NULL WHERE id % 100 = 0;`);
    await pg.client.query(`
      CREATE TABLE items (id int PRIMARY KEY, name varchar(40), price numeric(12,2), created timestamp(6),
        flag boolean, doc jsonb, raw bytea);`);
    const name = `vm${randomBytes(3).toString('hex')}`;
    const file = writePlan(`version: 1
name: ${name}
source:
  url: ${my.url}
target:
  url: ${pg.url}
tables:
  - source: items
`);
    const run = await runCli(['run', file, '--no-progress']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const clean = await runCli(['verify', file, '--no-progress']);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/items\s+20,000\s+0\s+0\s+20,000\s+0\s/);

    await pg.client.query(`
      UPDATE items SET price = price + 1 WHERE id = 777;
      DELETE FROM items WHERE id = 888;
      INSERT INTO items VALUES (50000, 'extra', 1, '2024-01-01', true, '{}', '\\x00');`);
    const faults = await runCli(['verify', file, '--no-progress']);
    expect(faults.code, faults.stdout + faults.stderr).toBe(3);
    expect(faults.stderr).toContain('mismatch: items id=777: target different (columns: price)');
    expect(faults.stderr).toContain('mismatch: items id=888: target missing');
    expect(faults.stderr).toContain('mismatch: items id=50000: target extra');
    expect(sortKeys(report(file, name))).toEqual(
      ['items id=50000 target extra', 'items id=777 target different', 'items id=888 target missing'].sort(),
    );
  });

  it('under a where, reports a target row whose source row was deleted as extra (streamed comparison)', async () => {
    const my = await mysqlDb('verify my where source');
    const pg = await pgDb('verify pg where target');
    await my.conn.query(`
      CREATE TABLE items (id int NOT NULL PRIMARY KEY, qty int NOT NULL, name varchar(40));
      INSERT INTO items SELECT seq, seq % 1000, CONCAT('item ', seq) FROM seq_1_to_20000;`);
    await pg.client.query('CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL, name varchar(40))');
    const name = `vmw${randomBytes(3).toString('hex')}`;
    const file = writePlan(`version: 1
name: ${name}
source:
  url: ${my.url}
target:
  url: ${pg.url}
tables:
  - source: items
    where: "qty < 500"
`);
    expect((await runCli(['run', file, '--no-progress'])).code).toBe(0);
    const clean = await runCli(['verify', file, '--no-progress']);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    await my.conn.query('DELETE FROM items WHERE id IN (7, 15007); UPDATE items SET qty = 900 WHERE id = 8');
    await pg.client.query("INSERT INTO items VALUES (600, 600, 'item 600')");
    const result = await runCli(['verify', file, '--no-progress']);
    expect(result.code, result.stdout + result.stderr).toBe(3);
    expect(sortKeys(report(file, name))).toEqual(['items id=15007 target extra', 'items id=7 target extra']);
    expect(result.stderr).toContain('2 target rows have a source row outside the `where` filter');
  });
});
