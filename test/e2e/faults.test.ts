// Faults during a run, on real servers: connections killed by the server, bad input that must never crash.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, writePlan } from '../helpers/cli.js';
import { createPgDatabase, type PgTestDatabase } from '../helpers/databases.js';

const dbs: PgTestDatabase[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((d) => d.drop()));
});

async function setup(name: string, rows: number): Promise<{ db: PgTestDatabase; file: string }> {
  const db = await createPgDatabase(name);
  dbs.push(db);
  await db.client.query(`
    CREATE SCHEMA src; CREATE SCHEMA dst;
    CREATE TABLE src.t (id bigint PRIMARY KEY, v text, n numeric(20,4));
    INSERT INTO src.t SELECT g, repeat('v', g % 40) || g, g * 1.0001 FROM generate_series(1, ${rows}) g;
    CREATE TABLE dst.t (LIKE src.t INCLUDING ALL);`);
  const file = writePlan(`version: 1
name: faults-${randomBytes(3).toString('hex')}
source:
  url: ${db.url}
target:
  url: ${db.url}
tables:
  - source: src.t
    target: dst.t
    batchSize: 500
`);
  return { db, file };
}

describe('faults', () => {
  it('connections killed by the server mid-run: the batch rolls back, the chunk resumes, the copy is exact', async () => {
    const { db, file } = await setup('faults kill conn', 60_000);
    const run = startCli(['run', file, '--no-progress']);
    let kills = 0;
    for (let i = 0; i < 200 && kills < 3; i++) {
      await new Promise((r) => setTimeout(r, 150));
      const copied = await db.client.query<{ n: string }>('SELECT count(*) AS n FROM dst.t');
      if (Number(copied.rows[0]!.n) > kills * 12_000 + 3000) {
        const killed = await db.client.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cache-migrate' AND datname = current_database()",
        );
        if ((killed.rowCount ?? 0) > 0) kills++;
      }
    }
    const result = await run.done;
    expect(kills).toBeGreaterThan(0);
    expect(result.stderr).toMatch(/connection lost .*retrying chunk 0 from its checkpoint/);
    expect(result.code).toBe(0);
    const diff = await db.client.query<{ a: string; b: string; n: string }>(
      `SELECT (SELECT count(*) FROM (SELECT * FROM src.t EXCEPT ALL SELECT * FROM dst.t) x) AS a,
              (SELECT count(*) FROM (SELECT * FROM dst.t EXCEPT ALL SELECT * FROM src.t) y) AS b,
              (SELECT count(*) FROM dst.t) AS n`,
    );
    expect(diff.rows[0]).toEqual({ a: '0', b: '0', n: '60000' });
  });

  it('an unreachable target fails fast with exit 1, naming it with the password masked', async () => {
    const { db } = await setup('faults unreachable', 10);
    const file = writePlan(`version: 1
name: dead
source:
  url: ${db.url}
target:
  url: postgres://someone:Pa55-w0rd-xyz@127.0.0.1:1/nowhere
tables:
  - source: src.t
`);
    const started = Date.now();
    const r = await runCli(['run', file]);
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.stderr).toContain('postgres://someone:***@127.0.0.1:1/nowhere');
    expect(r.stdout + r.stderr).not.toContain('Pa55-w0rd-xyz');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('hostile identifiers in the plan are quoted, never executed', async () => {
    const { db } = await setup('faults hostile', 10);
    await db.client.query(`CREATE TABLE src."x""; DROP SCHEMA src CASCADE; --" (id int PRIMARY KEY, "a\`b;c" text);
      INSERT INTO src."x""; DROP SCHEMA src CASCADE; --" VALUES (1, 'one');
      CREATE TABLE dst."x""; DROP SCHEMA src CASCADE; --" (id int PRIMARY KEY, "a\`b;c" text);`);
    const file = writePlan(`version: 1
name: hostile
source:
  url: ${db.url}
target:
  url: ${db.url}
tables:
  - source: 'src.x"; DROP SCHEMA src CASCADE; --'
    target: 'dst.x"; DROP SCHEMA src CASCADE; --'
`);
    const r = await runCli(['run', file, '--no-progress']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const still = await db.client.query('SELECT count(*) AS n FROM src.t');
    expect(still.rows[0].n).toBe('10');
    const copied = await db.client.query(`SELECT "a\`b;c" AS v FROM dst."x""; DROP SCHEMA src CASCADE; --"`);
    expect(copied.rows).toEqual([{ v: 'one' }]);
  });
});
