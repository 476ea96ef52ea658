// MySQL zero dates with `zeroDates: null`: written as NULL and COUNTED (summary line, `--json` counts,
// dry-run sample), never turned into 1970-01-01 or 0001-01-01; checked with an independent reader.
import { describe, expect, it } from 'vitest';
import { runCli, writePlan } from '../helpers/cli.js';
import type { MysqlTestDatabase } from '../helpers/databases.js';
import { scopedDatabases } from '../helpers/scoped-databases.js';

const { pgDb, mysqlDb } = scopedDatabases();

function plan(source: string, target: string, name: string): string {
  return writePlan(`version: 1
name: ${name}
source:
  url: ${source}
target:
  url: ${target}
defaults:
  zeroDates: "null"
tables:
  - source: ev
    batchSize: 2
`);
}

/** Four zero values in three rows (zero date, zero-in-date, zero datetime, zero timestamp). */
async function fill(my: MysqlTestDatabase): Promise<void> {
  await my.conn.query(`SET sql_mode = ''; SET time_zone = '+00:00';
    CREATE TABLE ev (id int PRIMARY KEY, d date, at datetime, ts timestamp NULL);
    INSERT INTO ev VALUES (1, '2024-01-02', '2024-01-02 03:04:05', '2024-01-02 03:04:05'),
      (2, '0000-00-00', '2024-01-02 03:04:05', NULL),
      (3, '2024-00-10', '0000-00-00 00:00:00', '0000-00-00 00:00:00'),
      (4, '2024-01-03', NULL, '2024-01-03 00:00:00');`);
}

describe('zeroDates: null', () => {
  it('mysql -> pg: zero dates become NULL and are counted in the summary, --json and the dry run', async () => {
    const my = await mysqlDb('zero dates count src');
    const pg = await pgDb('zero dates count dst');
    await fill(my);
    await pg.client.query('CREATE TABLE ev (id int PRIMARY KEY, d date, at timestamp, ts timestamptz)');

    const dry = await runCli(['run', plan(my.url, pg.url, 'zero-dry'), '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    // The sample is the first batch (ids 1, 2): one zero date.
    expect(dry.stdout).toContain('1 zero dates would be written as NULL (zeroDates: null)');

    const text = await runCli(['run', plan(my.url, pg.url, 'zero-text'), '--no-progress']);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('ev: 4 zero dates written as NULL (zeroDates: null)');

    await pg.client.query('TRUNCATE ev');
    const json = await runCli(['run', plan(my.url, pg.url, 'zero-json'), '--json']);
    expect(json.code).toBe(0);
    const events = json.stdout
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { event: string; tables?: { table: string; counts: { nulled: number } }[] },
      );
    const summary = events.find((e) => e.event === 'summary')!;
    expect(summary.tables![0]).toMatchObject({ table: 'ev', counts: { read: 4, written: 4, nulled: 4 } });

    const r = await pg.client.query<{ id: string; d: string | null; at: string | null; ts: string | null }>(
      "SET TimeZone = 'UTC'; SELECT id::text, d::text, at::text, ts::text FROM ev ORDER BY id",
    );
    expect((r as unknown as { rows: unknown[] }[])[1]!.rows).toEqual([
      { id: '1', d: '2024-01-02', at: '2024-01-02 03:04:05', ts: '2024-01-02 03:04:05+00' },
      { id: '2', d: null, at: '2024-01-02 03:04:05', ts: null },
      { id: '3', d: null, at: null, ts: null },
      { id: '4', d: '2024-01-03', at: null, ts: '2024-01-03 00:00:00+00' },
    ]);
  });

  it('a run with no zero dates shows no nulled line', async () => {
    const my = await mysqlDb('zero dates none src');
    const pg = await pgDb('zero dates none dst');
    await my.conn.query(
      `CREATE TABLE ev (id int PRIMARY KEY, d date); INSERT INTO ev VALUES (1, '2024-01-01')`,
    );
    await pg.client.query('CREATE TABLE ev (id int PRIMARY KEY, d date)');
    const r = await runCli(['run', plan(my.url, pg.url, 'zero-none'), '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/written as NULL/);
  });
});
