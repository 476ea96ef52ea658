// `migrate run --dry-run` and online `validate` against real servers: they write nothing anywhere.
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, writePlan } from '../helpers/cli.js';
import {
  createMysqlDatabase,
  createPgDatabase,
  type MysqlTestDatabase,
  memcachedStats,
  type PgTestDatabase,
} from '../helpers/databases.js';
import { type PrivateMemcached, startPrivateMemcached } from '../helpers/private-memcached.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function setup(name: string): Promise<{ db: PgTestDatabase; mc: PrivateMemcached[] }> {
  const db = await createPgDatabase(name);
  cleanup.push(() => db.drop());
  const mc = [await startPrivateMemcached(), await startPrivateMemcached()];
  cleanup.push(() => {
    for (const m of mc) m.stop();
  });
  await db.client.query(`
    CREATE SCHEMA src; CREATE SCHEMA dst;
    CREATE TABLE src.items (id int PRIMARY KEY, name text, price numeric(10,2));
    INSERT INTO src.items SELECT g, 'item ' || g, g * 0.5 FROM generate_series(1, 20000) g;
    CREATE TABLE dst.items (id int PRIMARY KEY, name text, price numeric(10,2));
    INSERT INTO dst.items VALUES (1, 'already there', 1.00);`);
  return { db, mc };
}

function planText(db: PgTestDatabase, mc: PrivateMemcached[], key = 'item:{id}'): string {
  return `version: 1
name: dry
source:
  url: ${db.url}
target:
  url: ${db.url}
cache:
  servers: [${mc.map((m) => m.address).join(', ')}]
tables:
  - source: src.items
    target: dst.items
    cache:
      key: "${key}"
`;
}

/** Everything a dry run must leave alone: tables, their contents, and the cache servers' item counts. */
async function snapshot(db: PgTestDatabase, mc: PrivateMemcached[]) {
  const tables = await db.client.query(
    "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
  );
  const content = await db.client.query(
    "SELECT count(*) AS n, md5(coalesce(string_agg(i::text, ',' ORDER BY id), '')) AS h FROM dst.items i",
  );
  const stats = await Promise.all(mc.map((m) => memcachedStats(m.address)));
  return {
    tables: tables.rows.map((r) => r.t),
    content: content.rows[0],
    items: stats.map((s) => s.curr_items),
    sets: stats.map((s) => s.cmd_set),
  };
}

describe('dry run', () => {
  it('checks everything, trials a batch, and leaves target, state and cache exactly as they were', async () => {
    const { db, mc } = await setup('dry run clean');
    const file = writePlan(planText(db, mc));
    const before = await snapshot(db, mc);
    const r = await runCli(['run', file, '--dry-run']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sample of 5000 rows: 5000 converted, 0 rejected, 5000 would be written/);
    expect(r.stdout).toMatch(/cache: 5000 entries, e\.g\. "item:1"/);
    expect(r.stdout).toMatch(/a real run can start/);
    expect(await snapshot(db, mc)).toEqual(before);
    expect(before.tables).not.toContain('public._migrate_state');

    const json = await runCli(['run', file, '--dry-run', '--json']);
    expect(json.code).toBe(0);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.at(-1)).toMatchObject({ event: 'summary', dryRun: true, ok: true });
  });

  it('rows that would arrive changed: 20 shown, exit 3; --json as events, --quiet only the problems', async () => {
    const { db, mc } = await setup('dry run mismatches');
    await db.client.query(`DELETE FROM dst.items;
      INSERT INTO dst.items SELECT g, 'kept ' || g, 0 FROM generate_series(1, 25) g`);
    const file = writePlan(planText(db, mc).replace('tables:', 'defaults:\n  onConflict: skip\ntables:'));
    const shown = Array.from(
      { length: 20 },
      (_, i) =>
        `mismatch: dst.items id=${i + 1}: the target would hold a different row (columns: name, price)\n`,
    );
    const error =
      'error: in the trial, 25 rows would not arrive in the target as they are in the source\n' +
      '  → check the column types of the target (or onConflict: skip over existing rows)\n';

    const r = await runCli(['run', file, '--dry-run']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(shown.join('') + error);
    expect(r.stdout).toMatch(/^dry run of plan dry: nothing was written/);
    expect(r.stdout).toMatch(
      /\n {2}dst\.items: ~20,000 rows, key id\n {4}sample of 5000 rows: 5000 converted/,
    );
    expect(r.stdout).not.toMatch(/a real run can start/);

    const json = await runCli(['run', file, '--dry-run', '--json']);
    expect(json.code).toBe(3);
    expect(json.stderr).toBe(error);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(['run-start', 'dry-run-table', 'summary']);
    expect(events[0]).toMatchObject({ plan: 'dry', tables: ['dst.items'], dryRun: true });
    expect(events[1]).toMatchObject({ table: 'dst.items', sampled: 5000, wouldWrite: 4975 });
    expect(events[1].mismatches).toHaveLength(25);
    expect(events[2]).toEqual({ event: 'summary', dryRun: true, ok: false, tables: 1 });

    const quiet = await runCli(['run', file, '--dry-run', '--quiet']);
    expect(quiet.code).toBe(3);
    expect(quiet.stderr).toBe(shown.join('') + error);
    expect(quiet.stdout).toBe('');
  });

  it('a key template naming a missing column is a plan error at its line (exit 2), also as a GitHub annotation', async () => {
    const { db, mc } = await setup('dry run bad key');
    const file = writePlan(planText(db, mc, 'item:{nope}'));
    const r = await runCli(['run', file, '--dry-run', '--format', 'github'], {
      env: { GITHUB_ACTIONS: 'true' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /plan\.yaml:13:\d+: tables\[0\]\.cache\.key: \{nope\} is not a migrated source column/,
    );
    const v = await runCli(['validate', file], { env: { GITHUB_ACTIONS: 'true' } });
    expect(v.code).toBe(2);
    expect(v.stdout).toMatch(/^::error file=.*plan\.yaml,line=13,col=\d+::tables\[0\]\.cache\.key: /m);
  });

  it('online validate: a missing target table is exit 2 at the table line; a dead cache server is exit 1 naming it', async () => {
    const { db, mc } = await setup('dry run validate');
    await db.client.query('DROP TABLE dst.items');
    const missing = await runCli(['validate', writePlan(planText(db, mc))]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /plan\.yaml:11:\d+: tables\[0\]\.target: table dst\.items does not exist in the target/,
    );

    await db.client.query('CREATE TABLE dst.items (id int PRIMARY KEY, name text, price numeric(10,2))');
    const dead = mc[1]!;
    dead.stop();
    await new Promise((r) => setTimeout(r, 200));
    const down = await runCli(['validate', writePlan(planText(db, mc))]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`memcached ${dead.address}`);
    const ok = await runCli(['validate', writePlan(planText(db, [mc[0]!]))]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/dst\.items: ~20,000 rows, 3 columns, key id/);
  });
});

/** A plan from `source` to `target` with one table and no cache (the cache case has its own). */
function onePlan(source: string, target: string, table: string, extra = ''): string {
  return writePlan(`version: 1
name: dry-fail
source:
  url: ${source}
target:
  url: ${target}
tables:
  - ${table}
${extra}`);
}

describe('dry run: what a real run would hit fails it, naming the table and the column', () => {
  async function mysqlSource(name: string): Promise<MysqlTestDatabase> {
    const my = await createMysqlDatabase(name);
    cleanup.push(() => my.drop());
    return my;
  }

  it('a missing target column is a plan problem (exit 2)', async () => {
    const { db } = await setup('dry fail column');
    await db.client.query('ALTER TABLE dst.items DROP COLUMN price');
    const r = await runCli([
      'run',
      onePlan(db.url, db.url, 'source: src.items\n    target: dst.items'),
      '--dry-run',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/target table dst\.items has no column price for source column price/);
  });

  it('a key template naming a column the table does not have is a plan problem (exit 2)', async () => {
    const { db } = await setup('dry fail template');
    const file = writePlan(`version: 1
name: dry-fail
source:
  url: ${db.url}
target:
  url: ${db.url}
cache:
  driver: memory
tables:
  - source: src.items
    target: dst.items
    cache:
      key: "item:{sku}"
`);
    const r = await runCli(['run', file, '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /plan\.yaml:13:\d+: tables\[0\]\.cache\.key: \{sku\} is not a migrated source column of table dst\.items/,
    );
  });

  it('a value longer than the target varchar fails the trial (exit 1)', async () => {
    const { db } = await setup('dry fail varchar');
    await db.client.query(`CREATE TABLE dst.short (id int PRIMARY KEY, name varchar(8), price numeric(10,2));
      UPDATE src.items SET name = 'much too long for eight' WHERE id = 3`);
    const r = await runCli([
      'run',
      onePlan(db.url, db.url, 'source: src.items\n    target: dst.short'),
      '--dry-run',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /table dst\.short, key id=3, column name: 23 characters do not fit in character varying\(8\)/,
    );
    expect((await db.client.query('SELECT 1 FROM dst.short')).rowCount).toBe(0);

    // The same into MySQL (whose converter guard catches it before any write).
    const my = await mysqlSource('dry fail varchar my');
    await my.conn.query('CREATE TABLE short (id int PRIMARY KEY, name varchar(8), price decimal(10,2))');
    const m = await runCli([
      'run',
      onePlan(db.url, my.url, 'source: src.items\n    target: short'),
      '--dry-run',
    ]);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/table short, key id=3, column name: 23 characters do not fit in varchar\(8\)/);
  });

  it('a value the target itself refuses (a CHECK) fails the trial write (exit 1), naming the table', async () => {
    const { db } = await setup('dry fail check');
    await db.client.query(`CREATE TABLE dst.checked (id int PRIMARY KEY, name text,
      price numeric(10,2) CONSTRAINT price_small CHECK (price < 100))`);
    const r = await runCli([
      'run',
      onePlan(db.url, db.url, 'source: src.items\n    target: dst.checked'),
      '--dry-run',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/table dst\.checked: the target rejected the batch: .*price_small/);

    // A value no converter checks (text into inet): refused by the target in the trial write.
    await db.client.query('CREATE TABLE dst.typed (id int PRIMARY KEY, name inet, price numeric(10,2))');
    const d = await runCli([
      'run',
      onePlan(db.url, db.url, 'source: src.items\n    target: dst.typed'),
      '--dry-run',
    ]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(
      /table dst\.typed\b.*: the target rejected the batch: invalid input syntax for type inet/,
    );
  });

  it('BIGINT UNSIGNED into int4 fails the trial (exit 1)', async () => {
    const my = await mysqlSource('dry fail unsigned');
    const pg = await createPgDatabase('dry fail unsigned dst');
    cleanup.push(() => pg.drop());
    await my.conn.query(`CREATE TABLE big (id int PRIMARY KEY, u bigint unsigned);
      INSERT INTO big VALUES (1, 1), (2, 18446744073709551615)`);
    await pg.client.query('CREATE TABLE big (id int PRIMARY KEY, u int4)');
    const r = await runCli(['run', onePlan(my.url, pg.url, 'source: big'), '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /table big, key id=2, column u: 18446744073709551615 is out of range for integer/,
    );
  });

  it('a zero date without zeroDates fails the trial (exit 1); with zeroDates: null it passes', async () => {
    const my = await mysqlSource('dry fail zero');
    const pg = await createPgDatabase('dry fail zero dst');
    cleanup.push(() => pg.drop());
    await my.conn.query(`SET sql_mode = ''; CREATE TABLE ev (id int PRIMARY KEY, d date);
      INSERT INTO ev VALUES (1, '2024-01-01'), (2, '0000-00-00')`);
    await pg.client.query('CREATE TABLE ev (id int PRIMARY KEY, d date)');
    const r = await runCli(['run', onePlan(my.url, pg.url, 'source: ev'), '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/table ev, key id=2, column d: MySQL zero date '0000-00-00'.*zeroDates: null/);
    const ok = await runCli([
      'run',
      onePlan(my.url, pg.url, 'source: ev\n    zeroDates: "null"'),
      '--dry-run',
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });

  it('an unreachable memcached server fails it (exit 1), naming the server', async () => {
    const { db, mc } = await setup('dry fail memcached');
    const dead = mc[0]!;
    dead.stop();
    await new Promise((r) => setTimeout(r, 200));
    const r = await runCli(['run', writePlan(planText(db, mc)), '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`memcached ${dead.address}`);
    expect(r.stderr).toMatch(/does not answer/);
  });
});
