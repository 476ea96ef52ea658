// Plan mistakes about the cache and the target that used to pass `validate` and fail (or silently do the
// wrong thing) in `run`: key templates that render one key for many rows, TTLs memcached cannot hold, target
// NOT NULL columns nothing writes; and two decided behaviours: verify with `driver: memory`, and resume after
// the cache key changed. Real PostgreSQL and memcached, the built CLI.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, writePlan } from '../helpers/cli.js';
import { memcachedGet, type PgTestDatabase } from '../helpers/databases.js';
import { type PrivateMemcached, startPrivateMemcached } from '../helpers/private-memcached.js';
import { scopedDatabases } from '../helpers/scoped-databases.js';

const { pgDb, mysqlDb } = scopedDatabases();
const servers: PrivateMemcached[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.stop();
});

async function memcached(): Promise<PrivateMemcached> {
  const mc = await startPrivateMemcached();
  servers.push(mc);
  return mc;
}

/** src.items (id, name) with `n` rows and an empty dst.items like it. */
async function items(name: string, n = 100, extra = ''): Promise<PgTestDatabase> {
  const db = await pgDb(name);
  await db.client.query(`
    CREATE SCHEMA src; CREATE SCHEMA dst;
    CREATE TABLE src.items (id int PRIMARY KEY, name text NOT NULL);
    INSERT INTO src.items SELECT g, 'item ' || g FROM generate_series(1, ${n}) g;
    CREATE TABLE dst.items (id int PRIMARY KEY, name text NOT NULL${extra});`);
  return db;
}

function planFor(db: PgTestDatabase, cache: string, table: string, name = 'p'): string {
  return writePlan(`version: 1
name: ${name}${randomBytes(3).toString('hex')}
source:
  url: ${db.url}
target:
  url: ${db.url}
${cache}
tables:
${table}`);
}

const itemsTable = (key: string, more = '') => `  - source: src.items
    target: dst.items
    cache:
      key: "${key}"${more}
`;

describe('cache key templates that can render one key for two rows are plan errors', () => {
  it.each([
    ['o:{id', /`\{` at character 3 is not closed/],
    ['o:{id}}', /`\}` at character 7 closes nothing/],
    ['order', /no \{column\} placeholder/],
    ['{id}{name}', /nothing between the placeholders/],
    ['o:{}', /names no column/],
  ])('offline: %s', async (template, message) => {
    const file = writePlan(`version: 1
name: t
source:
  url: postgres://u@127.0.0.1/x
target:
  url: postgres://u@127.0.0.1/x
cache:
  servers: [127.0.0.1:11211]
  overwrite: true
tables:
  - source: items
    cache:
      key: "${template}"
`);
    for (const args of [
      ['validate', file, '--offline'],
      ['run', file],
    ]) {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${file}:13:12: tables[0].cache.key:`);
      expect(r.stderr).toMatch(message);
    }
  });

  it('`{{` and `}}` are literal braces', async () => {
    const mc = await memcached();
    const db = await items('tpl literal braces', 3);
    const file = planFor(db, `cache:\n  servers: [${mc.address}]`, itemsTable('{{o}}:{id}'));
    const r = await runCli(['run', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await memcachedGet(mc.address, '{o}:2'))?.toString()).toBe('{"id":2,"name":"item 2"}');
  });

  it('online: a template must reference every column of the key (or of another unique key)', async () => {
    const mc = await memcached();
    const db = await items('tpl key coverage');
    const file = planFor(db, `cache:\n  servers: [${mc.address}]`, itemsTable('o:{name}'));
    for (const args of [
      ['validate', file],
      ['run', file, '--dry-run'],
    ]) {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /:13:12: tables\[0\]\.cache\.key: the template does not reference the key column id/,
      );
    }
    // Another unique key of the source is enough.
    await db.client.query('CREATE UNIQUE INDEX ON src.items (name)');
    expect((await runCli(['validate', file])).code).toBe(0);
  });

  it('online: without a key, the template must reference every column the value is made of', async () => {
    const mc = await memcached();
    const db = await pgDb('tpl keyless');
    await db.client.query(`
      CREATE SCHEMA src; CREATE SCHEMA dst;
      CREATE TABLE src.events (kind text, payload text);
      INSERT INTO src.events SELECT 'k' || (g % 3), 'p' || g FROM generate_series(1, 30) g;
      CREATE TABLE dst.events (LIKE src.events);`);
    const table = (value: string) => `  - source: src.events
    target: dst.events
    cache: { key: "e:{kind}", value: "${value}" }
`;
    const cache = `cache:\n  servers: [${mc.address}]`;
    const json = await runCli(['validate', planFor(db, cache, table('json'))]);
    expect(json.code).toBe(2);
    expect(json.stderr).toMatch(/tables\[0\]\.cache\.key: table dst\.events has no key .* share a cache key/);
    // Rows sharing a key share the value: one entry, whichever row wrote it.
    const column = await runCli(['validate', planFor(db, cache, table('column:kind'))]);
    expect(column.stderr).toBe('');
    expect(column.code).toBe(0);
  });

  it('online: keys rendered from a sample of rows must differ (validate and --dry-run)', async () => {
    const mc = await memcached();
    const db = await pgDb('tpl sample dupes');
    await db.client.query(`
      CREATE SCHEMA src; CREATE SCHEMA dst;
      CREATE TABLE src.pairs (a text, b text, v int, PRIMARY KEY (a, b));
      INSERT INTO src.pairs VALUES ('x', 'y:z', 1), ('x:y', 'z', 2), ('p', 'q', 3);
      CREATE TABLE dst.pairs (LIKE src.pairs INCLUDING ALL);`);
    const table = `  - source: src.pairs
    target: dst.pairs
    cache:
      key: "{a}:{b}"
`;
    const file = planFor(db, `cache:\n  servers: [${mc.address}]\n  overwrite: true`, table);
    for (const args of [
      ['validate', file],
      ['run', file, '--dry-run'],
    ]) {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        'tables[0].cache.key: two rows with different values render the same cache key "x:y:z"',
      );
      expect(r.stderr).toMatch(/a=x,b=y:z and a=x:y,b=z/);
    }
  });
});

describe('TTLs memcached cannot hold are plan errors', () => {
  it('cache.ttl and tables[].cache.ttl past 2038-01-19 (as now + ttl) exit 2 at their line', async () => {
    const file = writePlan(`version: 1
name: t
source:
  url: postgres://u@127.0.0.1/x
target:
  url: postgres://u@127.0.0.1/x
cache:
  servers: [127.0.0.1:11211]
  ttl: 3000000000
tables:
  - source: items
    cache:
      key: "o:{id}"
      ttl: 400000000
`);
    for (const args of [
      ['validate', file, '--offline'],
      ['run', file],
    ]) {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /:9:8: cache\.ttl: a TTL over 2592000 seconds \(30 days\) is sent to memcached/,
      );
      expect(r.stderr).toMatch(/:14:12: tables\[0\]\.cache\.ttl: a TTL over 2592000 seconds/);
      expect(r.stderr).toMatch(/2038-01-19T03:14:07Z/);
    }
  });

  it('a TTL over 30 days within the range is stored (as an absolute time)', async () => {
    const mc = await memcached();
    const db = await items('ttl 60 days', 5);
    const file = planFor(db, `cache:\n  servers: [${mc.address}]\n  ttl: 5184000`, itemsTable('o:{id}'));
    const r = await runCli(['run', file]);
    expect(r.code).toBe(0);
    expect((await memcachedGet(mc.address, 'o:5'))?.toString()).toBe('{"id":5,"name":"item 5"}');
  });
});

describe('target NOT NULL columns', () => {
  it('one with no default that no source column writes is a plan error in validate and --dry-run', async () => {
    const db = await items('not null unwritten', 10, ', sku text NOT NULL, made int NOT NULL DEFAULT 0');
    const file = planFor(db, '', '  - source: src.items\n    target: dst.items\n');
    for (const args of [
      ['validate', file],
      ['run', file, '--dry-run'],
      ['run', file],
    ]) {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /:10:13: tables\[0\]\.target: target column sku of table dst\.items is NOT NULL with no default/,
      );
      expect(r.stderr).toMatch(
        /map a source column to it .* give it a default in the target, or make it nullable/,
      );
      expect(r.stderr).not.toMatch(/made/);
    }
  });

  it('the same for a MariaDB target (defaults, auto_increment and generated columns need nothing)', async () => {
    const pg = await items('not null unwritten pg', 10);
    const my = await mysqlDb('not null unwritten my');
    await my.conn.query(`CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, sku varchar(20) NOT NULL,
      made int NOT NULL DEFAULT 0, twice int AS (id * 2) VIRTUAL, n int NOT NULL AUTO_INCREMENT, UNIQUE (n))`);
    const file = writePlan(`version: 1
name: nn
source:
  url: ${pg.url}
target:
  url: ${my.url}
tables:
  - source: src.items
    target: items
    columns:
      name: name
`);
    const r = await runCli(['validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /plan.yaml:1[12]:\d+: tables\[0\]\.columns: target column sku of table items is NOT NULL/,
    );
    expect(r.stderr).not.toMatch(/column (made|twice|n) /);
  });

  it.each([
    ['a NOT NULL violation', 'ALTER TABLE dst.items ALTER COLUMN secret SET NOT NULL', 'NULL'],
    ['a CHECK violation', "ALTER TABLE dst.items ADD CHECK (secret <> 'marker-7f3a')", "'marker-7f3a'"],
  ])('%s never prints the failing row', async (_, constraint, value) => {
    const db = await items('failing row', 10);
    await db.client.query(`
      ALTER TABLE src.items ADD COLUMN secret text; ALTER TABLE dst.items ADD COLUMN secret text;
      UPDATE src.items SET secret = 'marker-7f3a'; UPDATE src.items SET secret = ${value} WHERE id = 4;
      ${constraint};`);
    const file = planFor(db, '', '  - source: src.items\n    target: dst.items\n');
    const r = await runCli(['run', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/table dst\.items.*the target rejected the batch/);
    expect(r.stderr).not.toMatch(/Failing row/);
    expect(`${r.stdout}${r.stderr}`).not.toContain('marker-7f3a');
  });
});

describe('decided behaviours', () => {
  it('verify with `driver: memory` skips the cache check with a warning, not every entry missing', async () => {
    const db = await items('verify memory', 50);
    const file = planFor(db, 'cache:\n  driver: memory', itemsTable('o:{id}'));
    expect((await runCli(['run', file])).code).toBe(0);
    const r = await runCli(['verify', file]);
    expect(r.stderr).toMatch(/warning: cache not checked: `cache\.driver: memory` keeps entries only inside/);
    expect(r.stderr).not.toMatch(/mismatch/i);
    expect(r.code).toBe(0);
  });

  it.each([
    ['the template', 'o:{id}', '', 'item:{id}', ''],
    ['the prefix', 'o:{id}', '\n  prefix: "a:"', 'o:{id}', '\n  prefix: "b:"'],
  ])(
    'a changed cache key (%s) does not resume silently: exit 2 until --restart',
    async (_, k1, p1, k2, p2) => {
      const mc = await memcached();
      const db = await items('cache key changed', 20);
      const name = `ck${randomBytes(3).toString('hex')}`;
      const plan = (key: string, prefix: string) =>
        writePlan(`version: 1
name: ${name}
source:
  url: ${db.url}
target:
  url: ${db.url}
cache:
  servers: [${mc.address}]${prefix}
tables:
${itemsTable(key)}`);
      expect((await runCli(['run', plan(k1, p1)])).code).toBe(0);
      const changed = plan(k2, p2);
      const r = await runCli(['run', changed]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/or its cache key \(template, cache\.prefix, cache\.longKeys\) did/);
      expect(r.stderr).toMatch(/entries already warmed stay under the keys they were written with/);
      expect(r.stderr).toMatch(/--restart --tables dst\.items/);
      expect((await runCli(['run', changed, '--restart'])).code).toBe(0);
      const key = `${p2.includes('b:') ? 'b:' : ''}${k2.replace('{id}', '7')}`;
      expect((await memcachedGet(mc.address, key))?.toString()).toBe('{"id":7,"name":"item 7"}');
    },
  );
});
