// `migrate run` PostgreSQL -> PostgreSQL through the built CLI, against real servers. Source and target are
// two schemas of one per-test database so the independent check can compare them with EXCEPT in SQL.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, writePlan } from '../helpers/cli.js';
import { createPgDatabase, type PgTestDatabase } from '../helpers/databases.js';
import { testServers } from '../helpers/env.js';
import { findKeys, setOn } from '../helpers/memcached-many.js';

const dbs: PgTestDatabase[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((d) => d.drop()));
});

async function database(name: string): Promise<PgTestDatabase> {
  const db = await createPgDatabase(name);
  dbs.push(db);
  await db.client.query('CREATE SCHEMA src; CREATE SCHEMA dst');
  return db;
}

/** Orders with the awkward values: NULL vs '', quotes, tabs, backslashes, emoji, bytes, big ints, jsonb. */
async function makeOrders(db: PgTestDatabase, n: number, table = 'orders'): Promise<void> {
  await db.client.query(`
    CREATE TABLE src.${table} (id bigint PRIMARY KEY, customer_id int, sku varchar(32), qty int,
      price numeric(12,2), status varchar(16), created_at timestamptz, note text, paid boolean,
      attrs jsonb, big bigint, data bytea);
    INSERT INTO src.${table}
    SELECT g, g % 1000, 'SKU-' || g, g % 7, (g * 1.37)::numeric(12,2), 'new',
      '2024-01-01 00:00:00.000001+00'::timestamptz + g * interval '1.000123 second',
      CASE WHEN g % 10 = 0 THEN NULL WHEN g % 10 = 1 THEN '' ELSE E'n\\t"q" \\\\ ü 😀 ' || g END,
      g % 2 = 0, jsonb_build_object('a', g, 'n', 12345678901234567890), 9007199254740993 + g,
      CASE WHEN g % 5 = 0 THEN NULL ELSE decode(lpad(to_hex(g % 256), 2, '0') || '00ff', 'hex') END
    FROM generate_series(1, ${n}) g;
    CREATE TABLE dst.${table} (LIKE src.${table} INCLUDING ALL);`);
}

/** Independent equality: counts plus EXCEPT ALL both ways (duplicates count). */
async function assertEqual(db: PgTestDatabase, src: string, dst: string): Promise<void> {
  const r = await db.client.query<{ a: string; b: string; s: string; t: string }>(
    `SELECT (SELECT count(*) FROM (SELECT * FROM ${src} EXCEPT ALL SELECT * FROM ${dst}) x) AS a,
            (SELECT count(*) FROM (SELECT * FROM ${dst} EXCEPT ALL SELECT * FROM ${src}) y) AS b,
            (SELECT count(*) FROM ${src}) AS s, (SELECT count(*) FROM ${dst}) AS t`,
  );
  const row = r.rows[0]!;
  expect({ missing: row.a, extra: row.b, count: row.t }).toEqual({ missing: '0', extra: '0', count: row.s });
}

function plan(db: PgTestDatabase, body: string, name = `p${randomBytes(4).toString('hex')}`): string {
  return writePlan(`version: 1
name: ${name}
source:
  url: ${db.url}
target:
  url: ${db.url}
${body}`);
}

function cacheBlock(prefix: string, extra = ''): string {
  return `cache:
  servers: [${testServers.memcachedServers.join(', ')}]
  prefix: "${prefix}"
  ttl: 1800
${extra}`;
}

describe('migrate run pg -> pg', () => {
  it('copies 200,000 rows exactly, warms every key on the three servers, and a second run has nothing to do', async () => {
    const db = await database('run 200k');
    await makeOrders(db, 200_000);
    const prefix = `t${randomBytes(4).toString('hex')}:`;
    const file = plan(
      db,
      `${cacheBlock(prefix)}tables:
  - source: src.orders
    target: dst.orders
    cache:
      key: "order:{id}"
`,
    );
    const first = await runCli(['run', file, '--no-progress']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/dst\.orders\s+200,000\s+200,000\s+200,000\s+200,000\s+0\s+0\s+0/);
    await assertEqual(db, 'src.orders', 'dst.orders');

    const keys = Array.from({ length: 200_000 }, (_, i) => `${prefix}order:${i + 1}`);
    const found = await findKeys(testServers.memcachedServers, keys);
    expect(found.size).toBe(200_000);
    const perServer = new Map<string, number>();
    for (const { servers } of found.values()) {
      expect(servers).toHaveLength(1);
      perServer.set(servers[0]!, (perServer.get(servers[0]!) ?? 0) + 1);
    }
    expect(perServer.size).toBe(3);
    const one = JSON.parse(found.get(`${prefix}order:11`)!.value.toString());
    expect(one).toMatchObject({ id: 11, sku: 'SKU-11', note: '', big: 9007199254741004 });
    expect(found.get(`${prefix}order:11`)!.value.toString()).toContain('"big":9007199254741004,');

    const second = await runCli(['run', file, '--json']);
    expect(second.code).toBe(0);
    const events = second.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const summary = events.find((e) => e.event === 'summary');
    expect(summary.tables[0].counts.read).toBe(0);
  });

  it('survives SIGKILL at random points: no missing or duplicate rows, cache complete (simple, composite, key-less)', async () => {
    const db = await database('run kill');
    await makeOrders(db, 40_000);
    await db.client.query(`
      CREATE TABLE src.lines (order_id int, line int, sku text, PRIMARY KEY (order_id, line));
      INSERT INTO src.lines SELECT g / 4, g % 4, 'S' || g FROM generate_series(0, 39999) g;
      CREATE TABLE dst.lines (LIKE src.lines INCLUDING ALL);
      CREATE TABLE src.events (at timestamptz, kind text, payload text);
      INSERT INTO src.events SELECT now() - g * interval '1 minute', 'k' || (g % 3), repeat('x', g % 50)
        FROM generate_series(1, 30000) g;
      INSERT INTO src.events SELECT at, kind, payload FROM src.events LIMIT 10;
      CREATE TABLE dst.events (LIKE src.events);`);
    const prefix = `k${randomBytes(4).toString('hex')}:`;
    const file = plan(
      db,
      `${cacheBlock(prefix, '  distribution: ketama\n')}defaults:
  batchSize: 1000
tables:
  - source: src.orders
    target: dst.orders
    cache: { key: "o:{id}" }
  - source: src.lines
    target: dst.lines
    cache: { key: "l:{order_id}:{line}" }
  - source: src.events
    target: dst.events
    cache: { key: "e:{kind}", value: "column:kind" }
`,
    );
    let kills = 0;
    for (let attempt = 0; attempt < 12; attempt++) {
      const run = startCli(['run', file, '--no-progress']);
      const delay = 150 + Math.floor(Math.random() * 500);
      const timer = setTimeout(() => run.child.kill('SIGKILL'), delay);
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
    const final = await runCli(['run', file, '--no-progress']);
    expect(final.code, final.stdout + final.stderr).toBe(0);
    expect(final.stdout).not.toMatch(/not cached: /);
    await assertEqual(db, 'src.orders', 'dst.orders');
    await assertEqual(db, 'src.lines', 'dst.lines');
    await assertEqual(db, 'src.events', 'dst.events');

    const keys = [
      ...Array.from({ length: 40_000 }, (_, i) => `${prefix}o:${i + 1}`),
      ...Array.from({ length: 40_000 }, (_, g) => `${prefix}l:${Math.floor(g / 4)}:${g % 4}`),
      `${prefix}e:k0`,
      `${prefix}e:k1`,
      `${prefix}e:k2`,
    ];
    const found = await findKeys(testServers.memcachedServers, keys);
    expect(keys.filter((k) => !found.has(k))).toEqual([]);
  });

  it('reports a target row that differs (onConflict: skip) and a stale cache value with their keys, exit 3', async () => {
    const db = await database('run mismatch');
    await makeOrders(db, 3000);
    await db.client.query(
      "INSERT INTO dst.orders SELECT * FROM src.orders WHERE id = 1234; UPDATE dst.orders SET qty = 99, sku = 'X' WHERE id = 1234",
    );
    const prefix = `m${randomBytes(4).toString('hex')}:`;
    // "The application" cached a stale value for order 77 before the run; overwrite: false keeps it.
    for (const server of testServers.memcachedServers)
      await setOn(server, `${prefix}order:77`, '{"stale":true}');
    const file = plan(
      db,
      `${cacheBlock(prefix)}defaults:
  onConflict: skip
tables:
  - source: src.orders
    target: dst.orders
    cache: { key: "order:{id}" }
`,
      'mismatch-plan',
    );
    const result = await runCli(['run', file, '--no-progress']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/mismatch: dst\.orders id=1234: target different \(columns: sku, qty\)/);
    expect(result.stderr).toMatch(/mismatch: dst\.orders id=77: cache different/);
    const report = readFileSync(join(dirname(file), 'mismatch-plan.mismatches.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(report.map((r) => r.key).sort()).toEqual(['id=1234', 'id=77']);
  });

  it('a row the target changes as it is stored (a trigger) is reported by the check of the direct COPY, and cached as the target holds it', async () => {
    // A first run COPYs the source's own text straight into the target and compares the target's text of
    // the batch with it; a difference falls back to the row-by-row check, which names the row and column.
    const db = await database('run trigger');
    await makeOrders(db, 4000);
    await db.client.query(`
      CREATE FUNCTION dst.bump() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.id = 2345 THEN NEW.qty := NEW.qty + 100; END IF; RETURN NEW; END $$;
      CREATE TRIGGER bump BEFORE INSERT ON dst.orders FOR EACH ROW EXECUTE FUNCTION dst.bump();`);
    const prefix = `t${randomBytes(4).toString('hex')}:`;
    const file = plan(
      db,
      `${cacheBlock(prefix)}tables:
  - source: src.orders
    target: dst.orders
    batchSize: 1000
    cache: { key: "order:{id}" }
`,
    );
    const result = await runCli(['run', file, '--no-progress', '--json']);
    expect(result.code, result.stderr).toBe(3);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const summary = events.find((e) => e.event === 'summary');
    expect(summary.tables[0].counts).toMatchObject({
      read: 4000,
      written: 4000,
      verified: 3999,
      mismatches: 1,
    });
    const mismatches = events.filter((e) => e.event === 'mismatch');
    expect(mismatches).toMatchObject([
      { key: 'id=2345', in: 'target', problem: 'different', columns: ['qty'] },
    ]);
    // Read-through caches what the application would load: the target's row.
    const want = (await db.client.query('SELECT qty FROM dst.orders WHERE id = 2345')).rows[0].qty;
    const found = await findKeys(testServers.memcachedServers, [
      `${prefix}order:2345`,
      `${prefix}order:2346`,
    ]);
    expect(JSON.parse(found.get(`${prefix}order:2345`)!.value.toString()).qty).toBe(want);
    expect(JSON.parse(found.get(`${prefix}order:2346`)!.value.toString()).id).toBe(2346);
  });

  it('quotes every identifier: mixed case, spaces, reserved words, dashes, quotes', async () => {
    const db = await database('run quoting');
    await db.client.query(`
      CREATE TABLE src."Odd Table-1" ("Id" int PRIMARY KEY, "select" text, "a""b" text, "with space" int);
      INSERT INTO src."Odd Table-1" SELECT g, 's' || g, 'q' || g, g FROM generate_series(1, 2500) g;
      CREATE TABLE dst."Odd Table-1" (LIKE src."Odd Table-1" INCLUDING ALL);`);
    const file = plan(
      db,
      `tables:
  - source: 'src.Odd Table-1'
    target: 'dst.Odd Table-1'
    batchSize: 1000
`,
    );
    const result = await runCli(['run', file, '--no-progress']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    await assertEqual(db, 'src."Odd Table-1"', 'dst."Odd Table-1"');
  });

  it('refuses to resume after the mapping changed, until --restart', async () => {
    const db = await database('run mapping');
    await makeOrders(db, 1000);
    const body = (drop: boolean) => `tables:
  - source: src.orders
    target: dst.orders
${drop ? '    columns: { note: false }\n' : ''}`;
    const name = `map${randomBytes(3).toString('hex')}`;
    expect((await runCli(['run', plan(db, body(false), name), '--no-progress'])).code).toBe(0);
    const changed = plan(db, body(true), name);
    const refused = await runCli(['run', changed, '--no-progress']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/mapping changed/);
    expect(refused.stderr).toMatch(/--restart/);
    const restarted = await runCli(['run', changed, '--restart', '--no-progress']);
    expect(restarted.code).toBe(0);
  });

  it('--json prints one parseable event per line; without a TTY progress is plain lines', async () => {
    const db = await database('run json');
    await makeOrders(db, 12_000);
    const file = plan(db, 'tables:\n  - source: src.orders\n    target: dst.orders\n    batchSize: 1000\n');
    const json = await runCli(['run', file, '--json']);
    expect(json.code).toBe(0);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events[0].event).toBe('run-start');
    expect(events.filter((e) => e.event === 'batch')).toHaveLength(12);
    expect(events.at(-1)).toMatchObject({ event: 'summary', ok: true });

    const plain = await runCli(['run', file, '--restart']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toMatch(/\u001b\[/); // no terminal control codes
    expect(plain.stdout).toMatch(/dst\.orders: 1000 rows/);
    expect(plain.stdout).toMatch(/dst\.orders: done, 12000 rows/);
  });

  it('Ctrl-C (SIGINT) finishes the batch in flight, says how to resume, exits 130; status shows where it stopped', async () => {
    const db = await database('run sigint');
    await makeOrders(db, 60_000);
    const file = plan(db, 'tables:\n  - source: src.orders\n    target: dst.orders\n    batchSize: 500\n');
    const run = startCli(['run', file, '--no-progress']);
    // Stop once the first batches have committed.
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const n = await db.client.query<{ n: string }>('SELECT count(*) AS n FROM dst.orders');
      if (Number(n.rows[0]!.n) >= 1000) break;
    }
    run.child.kill('SIGINT');
    const stopped = await run.done;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/SIGINT: finishing the batch in flight/);
    expect(stopped.stderr).toContain(`resume with: migrate run ${file}`);
    const done = await db.client.query<{ n: string }>('SELECT count(*) AS n FROM dst.orders');
    const copied = Number(done.rows[0]!.n);
    expect(copied).toBeGreaterThan(0);
    expect(copied).toBeLessThan(60_000);
    expect(copied % 500).toBe(0); // whole batches only

    const status = await runCli(['status', file]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`dst\\.orders\\s+paused\\s+${copied}\\s`));

    const resumed = await runCli(['run', file, '--no-progress']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/resuming after key/);
    await assertEqual(db, 'src.orders', 'dst.orders');
    const after = await runCli(['status', file, '--json']);
    expect(JSON.parse(after.stdout.trim())).toMatchObject({
      table: 'dst.orders',
      state: 'done',
      rowsDone: 60_000,
    });
  });
});

describe('migrate run with workers', () => {
  it('--workers 4 in one process and two processes at once split a table into chunks: equal, no chunk twice', async () => {
    const db = await database('run workers');
    await makeOrders(db, 120_000);
    await db.client.query('ANALYZE src.orders');
    const name = `w${randomBytes(3).toString('hex')}`;
    const file = plan(
      db,
      'tables:\n  - source: src.orders\n    target: dst.orders\n    batchSize: 2000\n',
      name,
    );
    const one = await runCli(['run', file, '--workers', '4', '--no-progress']);
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    await assertEqual(db, 'src.orders', 'dst.orders');
    const chunks = await db.client.query<{ n: string; read: string }>(
      'SELECT count(*) AS n, sum(rows_read) AS read FROM _migrate_state WHERE plan = $1',
      [name],
    );
    expect(Number(chunks.rows[0]!.n)).toBeGreaterThanOrEqual(4);
    expect(chunks.rows[0]!.read).toBe('120000');

    // Two processes on the same plan share the chunks through the leases in the state table.
    await db.client.query(`TRUNCATE dst.orders; DELETE FROM _migrate_state WHERE plan = '${name}'`);
    const [a, b] = await Promise.all([
      runCli(['run', file, '--workers', '2', '--json']),
      runCli(['run', file, '--workers', '2', '--json']),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    await assertEqual(db, 'src.orders', 'dst.orders');
    const read = (r: typeof a) =>
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .find((e) => e.event === 'summary').tables[0].counts.read as number;
    expect(read(a) + read(b)).toBe(120_000);
    const after = await db.client.query<{ read: string }>(
      "SELECT sum(rows_read) AS read FROM _migrate_state WHERE plan = $1 AND status = 'done'",
      [name],
    );
    expect(after.rows[0]!.read).toBe('120000');
  });

  it('splits a dense integer key into chunks by value, and a sparse one by counting rows', async () => {
    const db = await database('run split');
    // 80,000 rows each: ids 1..80,000 (dense), and 1..40,000 then 10^12 + 40,001..80,000 (sparse).
    await db.client.query(`
      CREATE TABLE src.dense (id bigint PRIMARY KEY, v text);
      INSERT INTO src.dense SELECT g, 'v' || g FROM generate_series(1, 80000) g;
      CREATE TABLE src.sparse (id bigint PRIMARY KEY, v text);
      INSERT INTO src.sparse SELECT CASE WHEN g <= 40000 THEN g ELSE 1000000000000 + g END, 'v' || g
        FROM generate_series(1, 80000) g;
      CREATE TABLE dst.dense (LIKE src.dense INCLUDING ALL);
      CREATE TABLE dst.sparse (LIKE src.sparse INCLUDING ALL);
      ANALYZE src.dense; ANALYZE src.sparse;`);
    const name = `s${randomBytes(3).toString('hex')}`;
    const file = plan(
      db,
      'tables:\n  - source: src.dense\n    target: dst.dense\n  - source: src.sparse\n    target: dst.sparse\n',
      name,
    );
    // Two workers: chunks of 20,000 rows (chunks.ts chunkRows).
    const r = await runCli(['run', file, '--workers', '2', '--no-progress']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await assertEqual(db, 'src.dense', 'dst.dense');
    await assertEqual(db, 'src.sparse', 'dst.sparse');
    const chunks = await db.client.query<{ t: string; range_end: string | null; rows_read: string }>(
      'SELECT table_name AS t, range_end, rows_read::text FROM _migrate_state WHERE plan = $1 ORDER BY 1, chunk',
      [name],
    );
    const of = (t: string) => chunks.rows.filter((c) => c.t === t).map((c) => [c.range_end, c.rows_read]);
    // By value: four equal ranges of the ids, each holding its 20,000 rows.
    expect(of('dst.dense')).toEqual([
      ['["20000"]', '20000'],
      ['["40000"]', '20000'],
      ['["60000"]', '20000'],
      [null, '20000'],
    ]);
    // By count: a boundary every 20,000 rows, wherever the ids are (the last one is the last row).
    expect(of('dst.sparse')).toEqual([
      ['["20000"]', '20000'],
      ['["40000"]', '20000'],
      ['["1000000060000"]', '20000'],
      ['["1000000080000"]', '20000'],
      [null, '0'],
    ]);
  });
});
