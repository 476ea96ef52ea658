// Batches bounded by bytes (`maxBatchBytes`), through the built CLI: rows of mixed width, some wider than
// the limit, from PostgreSQL, MariaDB and SQLite into PostgreSQL. Each batch (told by its `--json` batch
// event's last key) must stop at the row that brings it to the limit, and the copy must be exact, also
// after a run killed half-way is resumed.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ndjson, runCli, startCli, writePlan } from '../helpers/cli.js';
import type { PgTestDatabase } from '../helpers/databases.js';
import { scopedDatabases } from '../helpers/scoped-databases.js';
import { tempDirs } from '../helpers/temp-dir.js';

const tempDir = tempDirs();

const { pgDb, mysqlDb } = scopedDatabases();

const ROWS = 3000;
const MAX_BATCH_BYTES = 65_536;
/** Every 97th row is wider than a batch may be: it must still be read, alone or last in its batch. */
const WIDE_EVERY = 97;
const WIDE_CHARS = 100_000;

/** The width of row `g`'s body: 200-2,000 characters, every 97th one 100,000. */
function width(g: number): number {
  return g % WIDE_EVERY === 0 ? WIDE_CHARS : 200 + ((g * 37) % 1800);
}

/** Row g's body: a text of `width(g)` characters that differs from row to row. */
function body(g: number): string {
  const unit = `${g}:${randomBytes(8).toString('hex')};`;
  return unit.repeat(Math.ceil(width(g) / unit.length)).slice(0, width(g));
}

function rows(): [number, number, string][] {
  return Array.from({ length: ROWS }, (_, i) => [i + 1, (i + 1) % 10, body(i + 1)]);
}

interface BatchEvent {
  event: string;
  rows: number;
  lastKey: string;
}

function planText(sourceUrl: string, sourceTable: string, target: PgTestDatabase): string {
  return `version: 1
name: bytes${randomBytes(4).toString('hex')}
source:
  url: ${sourceUrl}
target:
  url: ${target.url}
defaults:
  maxBatchBytes: ${MAX_BATCH_BYTES}
tables:
  - source: ${sourceTable}
    target: dst.wide
`;
}

async function makeTarget(db: PgTestDatabase): Promise<void> {
  await db.client.query(
    'CREATE SCHEMA dst; CREATE TABLE dst.wide (id int PRIMARY KEY, qty int NOT NULL, body text NOT NULL)',
  );
}

function batchesOf(stdout: string): BatchEvent[] {
  return ndjson<BatchEvent>(stdout).filter((e) => e.event === 'batch');
}

/**
 * Each batch's rows before its last take less than the limit (the batch was cut at the row that reached
 * it), the batches together hold every row once, and the target holds exactly the rows generated.
 */
async function expectCutByBytes(target: PgTestDatabase, batches: BatchEvent[]): Promise<void> {
  const lastKeys = batches.map((b) => Number((JSON.parse(b.lastKey) as [number])[0]));
  expect(batches.reduce((n, b) => n + b.rows, 0)).toBe(ROWS);
  const total = rows().reduce((n, [g]) => n + width(g), 0);
  // A batch holds at most the limit plus its last row.
  expect(batches.length).toBeGreaterThanOrEqual(Math.floor(total / (MAX_BATCH_BYTES + WIDE_CHARS)));
  const r = await target.client.query<{ last: number; rows: string; before_last: string }>(
    `SELECT b.last, count(w.id) AS rows,
            coalesce(sum(octet_length(w.body)) FILTER (WHERE w.id < b.last), 0) AS before_last
     FROM (SELECT last, lag(last, 1, 0) OVER (ORDER BY last) AS prev FROM unnest($1::int[]) AS l(last)) b
     JOIN dst.wide w ON w.id > b.prev AND w.id <= b.last
     GROUP BY b.last ORDER BY b.last`,
    [lastKeys],
  );
  expect(r.rows.length).toBe(batches.length);
  for (const batch of r.rows) {
    expect({ last: batch.last, bytesBeforeLast: Number(batch.before_last) < MAX_BATCH_BYTES }).toEqual({
      last: batch.last,
      bytesBeforeLast: true,
    });
  }
}

async function expectExact(target: PgTestDatabase, expected: [number, number, string][]): Promise<void> {
  const r = await target.client.query<{ id: number; qty: number; body: string }>(
    'SELECT id, qty, body FROM dst.wide ORDER BY id',
  );
  expect(r.rows.length).toBe(expected.length);
  const differing = r.rows.filter((row, i) => {
    const [id, qty, text] = expected[i]!;
    return row.id !== id || row.qty !== qty || row.body !== text;
  });
  expect(differing.map((row) => row.id)).toEqual([]);
}

describe('batches bounded by maxBatchBytes', () => {
  it('PostgreSQL source: batches are cut by bytes, a killed run resumes exactly', async () => {
    const db = await pgDb('batch bytes pg');
    await makeTarget(db);
    await db.client.query(
      'CREATE SCHEMA src; CREATE TABLE src.wide (id int PRIMARY KEY, qty int NOT NULL, body text NOT NULL)',
    );
    const data = rows();
    for (let i = 0; i < data.length; i += 500) {
      const part = data.slice(i, i + 500);
      await db.client.query('INSERT INTO src.wide SELECT * FROM unnest($1::int[], $2::int[], $3::text[])', [
        part.map((r) => r[0]),
        part.map((r) => r[1]),
        part.map((r) => r[2]),
      ]);
    }
    const plan = writePlan(planText(db.url, 'src.wide', db));

    // Killed once a few batches are committed; the next run starts after the last committed key.
    const first = startCli(['run', plan, '--json', '--no-progress']);
    let seen = 0;
    first.child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString().split('"event":"batch"').length - 1;
      if (seen >= 5) first.child.kill('SIGKILL');
    });
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const before = batchesOf(killed.stdout.slice(0, killed.stdout.lastIndexOf('\n') + 1));
    expect(before.length).toBeGreaterThanOrEqual(5);

    const second = await runCli(['run', plan, '--json', '--no-progress']);
    expect(second.code, second.stderr).toBe(0);
    const after = batchesOf(second.stdout);
    expect(after.reduce((n, b) => n + b.rows, 0)).toBeLessThan(ROWS);
    await expectExact(db, data);

    // A fresh run from the start: every batch cut by bytes.
    await db.client.query('TRUNCATE dst.wide');
    const fresh = await runCli(['run', plan, '--restart', '--json', '--no-progress']);
    expect(fresh.code, fresh.stderr).toBe(0);
    await expectCutByBytes(db, batchesOf(fresh.stdout));
    await expectExact(db, data);
    const verify = await runCli(['verify', plan]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  it('MariaDB source: batches are cut by bytes and the copy is exact', async () => {
    const target = await pgDb('batch bytes mysql target');
    await makeTarget(target);
    const source = await mysqlDb('batch bytes mysql');
    await source.conn.query(
      'CREATE TABLE wide (id int PRIMARY KEY, qty int NOT NULL, body mediumtext NOT NULL) CHARSET utf8mb4',
    );
    const data = rows();
    for (let i = 0; i < data.length; i += 200) {
      await source.conn.query('INSERT INTO wide VALUES ?', [data.slice(i, i + 200)]);
    }
    const plan = writePlan(planText(source.url, 'wide', target));
    const run = await runCli(['run', plan, '--json', '--no-progress']);
    expect(run.code, run.stderr).toBe(0);
    await expectCutByBytes(target, batchesOf(run.stdout));
    await expectExact(target, data);
    const verify = await runCli(['verify', plan]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  it('SQLite source: batches are cut by bytes and the copy is exact', async () => {
    const target = await pgDb('batch bytes sqlite target');
    await makeTarget(target);
    const file = join(tempDir(), 'wide.db');
    const sqlite = new Database(file);
    sqlite.exec('CREATE TABLE wide (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL, body TEXT NOT NULL)');
    const insert = sqlite.prepare('INSERT INTO wide VALUES (?, ?, ?)');
    const data = rows();
    sqlite.transaction(() => {
      for (const row of data) insert.run(...row);
    })();
    sqlite.close();
    const plan = writePlan(planText(`sqlite:${file}`, 'wide', target));
    const run = await runCli(['run', plan, '--json', '--no-progress']);
    expect(run.code, run.stderr).toBe(0);
    await expectCutByBytes(target, batchesOf(run.stdout));
    await expectExact(target, data);
  });
});
