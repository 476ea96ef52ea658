/**
 * Case (2) of the bench: what a typical user writes by hand to copy a table and warm the cache.
 * pg-query-stream reads the source, each 1000 rows become one multi-row INSERT, then one memjs `set`
 * per row, awaited per batch. Written plainly on purpose (no tuning, driver defaults: timestamps lose
 * their microseconds through JS Dates, values are `JSON.stringify(row)`); it checks nothing.
 *
 *   node baseline.js <source-url> <source-table> <target-url> <target-table> <servers> <key-prefix> [ttl]
 *
 * Run from bench/run.ts (transpiled to plain JS so its memory is measured without a TypeScript loader).
 */
import memjs from 'memjs';
import pg from 'pg';
import QueryStream from 'pg-query-stream';

const [sourceUrl, sourceTable, targetUrl, targetTable, servers, prefix, ttlArg] = process.argv.slice(2);
if (!sourceUrl || !sourceTable || !targetUrl || !targetTable || !servers || prefix === undefined) {
  console.error(
    'usage: baseline <source-url> <source-table> <target-url> <target-table> <servers> <prefix> [ttl]',
  );
  process.exit(2);
}
const ttl = Number(ttlArg ?? 600);
const BATCH = 1000;
const columns = ['id', 'customer_id', 'sku', 'qty', 'price', 'status', 'created_at', 'note', 'paid', 'attrs'];

const source = new pg.Client({ connectionString: sourceUrl });
const target = new pg.Client({ connectionString: targetUrl });
const cache = memjs.Client.create(servers, { expires: ttl });

async function writeBatch(rows: Record<string, unknown>[]): Promise<void> {
  const params: unknown[] = [];
  const tuples: string[] = [];
  for (const row of rows) {
    const placeholders: string[] = [];
    for (const column of columns) {
      params.push(row[column]);
      placeholders.push(`$${params.length}`);
    }
    tuples.push(`(${placeholders.join(', ')})`);
  }
  await target.query(
    `INSERT INTO ${targetTable} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`,
    params,
  );
  await Promise.all(
    rows.map((row) => cache.set(`${prefix}order:${row.id}`, JSON.stringify(row), { expires: ttl })),
  );
}

async function main(): Promise<void> {
  await source.connect();
  await target.connect();
  const started = Date.now();
  let copied = 0;
  const stream = source.query(
    new QueryStream(`SELECT * FROM ${sourceTable} ORDER BY id`, [], { batchSize: BATCH }),
  );
  let batch: Record<string, unknown>[] = [];
  for await (const row of stream) {
    batch.push(row as Record<string, unknown>);
    if (batch.length === BATCH) {
      await writeBatch(batch);
      copied += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) {
    await writeBatch(batch);
    copied += batch.length;
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(JSON.stringify({ rows: copied, seconds }));
  await source.end();
  await target.end();
  cache.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
