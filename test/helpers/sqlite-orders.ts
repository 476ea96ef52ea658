// A SQLite source of `orders` rows, an empty target of the same shape and a plan over them, in a folder of
// the test's own: for CLI tests that need a real run but no shared server.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface OrdersPlan {
  dir: string;
  plan: string;
  target: string;
}

export function sqliteOrdersPlan(dir: string, rows: number, name: string, batchSize = 500): OrdersPlan {
  const source = join(dir, 'source.db');
  const target = join(dir, 'target.db');
  const schema = 'CREATE TABLE orders (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL, note TEXT)';
  const db = new Database(source);
  db.exec(schema);
  db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO orders SELECT i, i % 97, 'order ' || i FROM n`,
  ).run(rows);
  db.close();
  new Database(target).exec(schema).close();
  const plan = join(dir, 'plan.yaml');
  writeFileSync(
    plan,
    `version: 1
name: ${name}
source:
  url: sqlite:${source}
target:
  url: sqlite:${target}
defaults:
  batchSize: ${batchSize}
tables:
  - source: orders
`,
  );
  return { dir, plan, target };
}

/** Resolves once the `--json` output of a run has shown `count` committed batches. */
export function batchesSeen(stdout: NodeJS.ReadableStream, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    stdout.on('data', (d: Buffer) => {
      seen += d.toString().split('"event":"batch"').length - 1;
      if (seen >= count) resolve();
    });
  });
}
