/**
 * `npm run demo`: a real migration with nothing installed but Node.
 *
 * Creates examples/demo-source.db (a shop: customers, orders, order_items; deterministic), an empty
 * examples/demo-target.db with the same schema, then runs the built CLI on examples/demo.yaml (SQLite ->
 * SQLite, in-process memory cache), runs it again to show that it resumes with nothing left to do, and
 * shows the checkpoints with `migrate status`.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(ROOT, 'examples/demo-source.db');
const TARGET = join(ROOT, 'examples/demo-target.db');
const PLAN = 'examples/demo.yaml';
const CLI = join(ROOT, 'dist/cli/entry.js');

const CUSTOMERS = 10_000;
const ORDERS = 50_000;

const SCHEMA = `
CREATE TABLE customers (
  id           INTEGER PRIMARY KEY,
  external_ref BIGINT NOT NULL UNIQUE,  -- beyond 2^53: exact only if never read through a JS number
  email        TEXT NOT NULL UNIQUE,
  name         TEXT NOT NULL,           -- unicode: accents, combining marks, CJK
  country      CHAR(2),
  notes        TEXT,                    -- NULL, '' and text with newlines, tabs and emoji
  avatar       BLOB,                    -- NULL or bytes
  vip          BOOLEAN NOT NULL DEFAULT 0,
  created_at   DATETIME NOT NULL
);
CREATE TABLE orders (
  id           INTEGER PRIMARY KEY,
  customer_id  INTEGER NOT NULL REFERENCES customers (id),
  status       TEXT NOT NULL,
  total        DECIMAL(12,2) NOT NULL,
  currency     CHAR(3) NOT NULL,
  placed_at    DATETIME NOT NULL,
  shipped_on   DATE,
  meta         JSON
);
CREATE TABLE order_items (
  order_id     INTEGER NOT NULL REFERENCES orders (id),
  line         INTEGER NOT NULL,
  sku          TEXT NOT NULL,
  quantity     INTEGER NOT NULL,
  unit_price   NUMERIC(10,2) NOT NULL,
  discount     REAL,
  PRIMARY KEY (order_id, line)
) WITHOUT ROWID;
`;

/** A small seeded PRNG (mulberry32): the same database on every run and machine. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  'Zoë',
  'José',
  'Björn',
  'Amélie',
  'Łukasz',
  'Siobhán',
  'Søren',
  'Dũng',
  'Ngozi',
  'Aarav',
  'Mia',
  'Yūki',
];
const LAST = [
  'Müller',
  'García',
  'Nowak',
  'O’Brien',
  'Øster',
  'Nguyễn',
  '李',
  'Smith',
  'Kowalczyk',
  'Dubois',
];
const COUNTRIES = ['DE', 'ES', 'PL', 'IE', 'DK', 'VN', 'CN', 'US', 'FR', null];
const STATUSES = ['new', 'paid', 'shipped', 'delivered', 'cancelled'];
const CURRENCIES = ['EUR', 'USD', 'PLN'];
const NOTES = [null, '', 'prefers e-mail', 'gate code 1234\nleave at the door', 'tab\tseparated', 'happy 🎉'];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function timestamp(base: number, offsetSeconds: number): string {
  const d = new Date(base + offsetSeconds * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** Creates the source database; returns its row counts. */
function createSource(): Record<string, number> {
  rmSync(SOURCE, { force: true });
  const db = new Database(SOURCE);
  db.exec(SCHEMA);
  const rnd = random(20240601);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const base = Date.UTC(2023, 0, 1);
  const customer = db.prepare('INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const order = db.prepare('INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const item = db.prepare('INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (let id = 1; id <= CUSTOMERS; id++) {
      const first = id % 97 === 0 ? 'Ame\u0301lie' : pick(FIRST); // a combining accent, not the precomposed é
      const avatar = id % 4 === 0 ? Buffer.from([id & 0xff, 0x00, 0xff, (id >> 8) & 0xff, 0x0a, 0x09]) : null;
      customer.run(
        BigInt(id),
        9_007_199_254_740_993n + BigInt(id) * 1_000_003n,
        `customer${id}@example.com`,
        `${first} ${pick(LAST)}`,
        pick(COUNTRIES),
        pick(NOTES),
        avatar,
        rnd() < 0.1 ? 1n : 0n,
        timestamp(base, Math.floor(rnd() * 365 * 86400)),
      );
    }
    for (let id = 1; id <= ORDERS; id++) {
      const lines = 1 + Math.floor(rnd() * 3); // two items per order on average
      const items: [number, number, string, number, number | null][] = [];
      let cents = 0;
      for (let line = 1; line <= lines; line++) {
        const quantity = 1 + Math.floor(rnd() * 5);
        const price = 99 + Math.floor(rnd() * 20_000);
        cents += quantity * price;
        const discount = rnd() < 0.2 ? Math.round(rnd() * 30) / 100 : null;
        items.push([line, quantity, `SKU-${pad(Math.floor(rnd() * 5000), 5)}`, price, discount]);
      }
      const status = pick(STATUSES);
      const placed = Math.floor(rnd() * 540 * 86400);
      order.run(
        BigInt(id),
        BigInt(1 + Math.floor(rnd() * CUSTOMERS)),
        status,
        (cents / 100).toFixed(2),
        pick(CURRENCIES),
        timestamp(base, placed),
        status === 'shipped' || status === 'delivered'
          ? timestamp(base, placed + 2 * 86400).slice(0, 10)
          : null,
        rnd() < 0.5 ? JSON.stringify({ channel: pick(['web', 'app', 'phone']), gift: rnd() < 0.1 }) : null,
      );
      for (const [line, quantity, sku, price, discount] of items) {
        item.run(BigInt(id), BigInt(line), sku, BigInt(quantity), (price / 100).toFixed(2), discount);
      }
    }
  })();
  const counts: Record<string, number> = {};
  for (const table of ['customers', 'orders', 'order_items']) {
    counts[table] = db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  }
  db.close();
  return counts;
}

function createTarget(): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(TARGET + suffix, { force: true });
  const db = new Database(TARGET);
  db.exec(SCHEMA);
  db.close();
}

function migrate(...args: string[]): number {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: 'inherit' });
  return result.status ?? 1;
}

function step(text: string): void {
  process.stdout.write(`\n━━ ${text}\n\n`);
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function main(): number {
  const started = Date.now();
  step('1/5  Creating the demo databases');
  const counts = createSource();
  createTarget();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const list = Object.entries(counts).map(([table, n]) => `${table} ${fmt(n)}`);
  process.stdout.write(
    `source  ${relative(ROOT, SOURCE)}: ${list.join(', ')} (${fmt(total)} rows)\n` +
      `target  ${relative(ROOT, TARGET)}: the same tables, empty\n`,
  );

  step(`2/5  migrate run ${PLAN}`);
  const first = migrate('run', PLAN);
  if (first !== 0) return first;

  step(`3/5  migrate run ${PLAN} again: it resumes from the checkpoints, and nothing is left to do`);
  const second = migrate('run', PLAN);
  if (second !== 0) return second;

  step(`4/5  migrate status ${PLAN}: the checkpoints kept in the target`);
  const status = migrate('status', PLAN);
  if (status !== 0) return status;

  step(`5/5  migrate verify ${PLAN} --no-cache: the whole tables re-checked, source against target`);
  const verify = migrate('verify', PLAN, '--no-cache');
  if (verify !== 0) return verify;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`
Done in ${seconds}s. What happened:
  • ${fmt(total)} rows were copied from ${relative(ROOT, SOURCE)} to ${relative(ROOT, TARGET)} in batches of 5,000,
    each batch committed in one transaction together with its checkpoint (table _migrate_state in the target).
  • Every batch was checked inside the transaction that wrote it: each source row hashes the same as the
    target row read back ("verified" above, 0 mismatches). The cache entries were made from those checked
    rows, and an entry already in the cache is compared with them (a difference is a mismatch).
  • The cache was warmed read-through, one entry per row (customer:{id}, order:{id}, order-item:{order_id}:{line}),
    in an in-process memory cache with memcached's rules. It is not shared with any application and is gone now;
    point the plan at memcached (driver: memcached, servers: [...]) to warm the cache your application reads.
  • The second run found every table done: stop a run at any moment (Ctrl-C, kill -9) and it continues from the
    last committed batch.
  • \`migrate verify\` re-checked the whole tables, source against target, independently of the run's
    checkpoints (--no-cache: the in-process cache ended with the run that filled it).

Files: ${relative(ROOT, SOURCE)}, ${relative(ROOT, TARGET)} and the plan ${PLAN} (read its comments).
Next: docker compose up -d, then migrate run migrations.example.yaml (PostgreSQL/MySQL and memcached).
`);
  return 0;
}

process.exitCode = main();
