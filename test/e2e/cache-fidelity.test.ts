// Cache fidelity through the built CLI (pg -> pg, one database per test, one key prefix per test): keys
// land where an independent ketama names them, live values are never clobbered under `overwrite: false`,
// a memcached killed mid-run costs un-warmed keys (listed, then filled by `migrate warm`) and never rows,
// and oversized values and bad keys are reported, not fatal. Servers are asked directly (text protocol).
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, writePlan } from '../helpers/cli.js';
import { createPgDatabase, memcachedVersion, type PgTestDatabase } from '../helpers/databases.js';
import { testServers } from '../helpers/env.js';
import { findKeys, setOn } from '../helpers/memcached-many.js';

const POOL = testServers.memcachedServers;

const dbs: PgTestDatabase[] = [];
const memcacheds: PrivateMemcached[] = [];
afterEach(async () => {
  for (const m of memcacheds.splice(0)) m.stop();
  await Promise.all(dbs.splice(0).map((d) => d.drop()));
});

async function database(name: string): Promise<PgTestDatabase> {
  const db = await createPgDatabase(name);
  dbs.push(db);
  await db.client.query('CREATE SCHEMA src; CREATE SCHEMA dst');
  return db;
}

function plan(db: PgTestDatabase, body: string, name = `cf${randomBytes(4).toString('hex')}`): string {
  return writePlan(`version: 1
name: ${name}
source:
  url: ${db.url}
target:
  url: ${db.url}
${body}`);
}

const uniquePrefix = (tag: string) => `${tag}${randomBytes(4).toString('hex')}:`;

/** Counts plus EXCEPT ALL both ways: the target holds exactly the source's rows. */
async function assertEqual(db: PgTestDatabase, src: string, dst: string): Promise<void> {
  const r = await db.client.query<{ a: string; b: string; s: string; t: string }>(
    `SELECT (SELECT count(*) FROM (SELECT * FROM ${src} EXCEPT ALL SELECT * FROM ${dst}) x) AS a,
            (SELECT count(*) FROM (SELECT * FROM ${dst} EXCEPT ALL SELECT * FROM ${src}) y) AS b,
            (SELECT count(*) FROM ${src}) AS s, (SELECT count(*) FROM ${dst}) AS t`,
  );
  const row = r.rows[0]!;
  expect({ missing: row.a, extra: row.b, count: row.t }).toEqual({ missing: '0', extra: '0', count: row.s });
}

async function makeItems(db: PgTestDatabase, n: number, table = 'items'): Promise<void> {
  await db.client.query(`
    CREATE TABLE src.${table} (id int PRIMARY KEY, name text, qty int, note text);
    INSERT INTO src.${table} SELECT g, 'item-' || g, g % 13, repeat('n', g % 40) FROM generate_series(1, ${n}) g;
    CREATE TABLE dst.${table} (LIKE src.${table} INCLUDING ALL);`);
}

// ---------------------------------------------------------------------------------------------------
// Reference ketama, written from libmemcached's source (libmemcached/hosts.cc update_continuum() with
// MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, and dispatch_host() for CONSISTENT_KETAMA), independent of
// src/cache/ketama.ts. Equal weights.

function referenceKetama(servers: readonly string[]): (key: string) => string {
  const f = Math.fround;
  const n = servers.length;
  const continuum: { value: number; server: string }[] = [];
  for (const server of servers) {
    const colon = server.lastIndexOf(':');
    const host = server.slice(0, colon);
    const port = Number(server.slice(colon + 1));
    // float pct = weight / total_weight; pointer_per_server = floor((float)(pct * 160 / 4 * n + 1e-10)) * 4
    const pct = f(f(1) / f(n));
    const pointsPerServer = Math.floor(f(f(f(f(pct * 160) / 4) * f(n)) + 0.0000000001)) * 4;
    for (let i = 0; i < pointsPerServer / 4; i++) {
      // "%s-%u" on the default port, "%s:%u-%u" otherwise
      const sortHost = port === 11211 ? `${host}-${i}` : `${host}:${port}-${i}`;
      const d = createHash('md5').update(sortHost).digest();
      for (let x = 0; x < 4; x++) {
        // ketama_server_hash(): bytes 4x..4x+3 of the digest, little-endian
        const value =
          ((d[3 + x * 4]! << 24) | (d[2 + x * 4]! << 16) | (d[1 + x * 4]! << 8) | d[x * 4]!) >>> 0;
        continuum.push({ value, server });
      }
    }
  }
  continuum.sort((a, b) => a.value - b.value);
  return (key) => {
    const d = createHash('md5').update(key).digest();
    const hash = ((d[3]! << 24) | (d[2]! << 16) | (d[1]! << 8) | d[0]!) >>> 0;
    // First point >= hash (lower bound), wrapping to the first point.
    let left = 0;
    let right = continuum.length;
    while (left < right) {
      const middle = left + Math.floor((right - left) / 2);
      if (continuum[middle]!.value < hash) left = middle + 1;
      else right = middle;
    }
    return continuum[right === continuum.length ? 0 : right]!.server;
  };
}

// ---------------------------------------------------------------------------------------------------
// A memcached of this test's own, so it can be killed without touching the shared pool.

interface PrivateMemcached {
  address: string;
  port: number;
  pidFile: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): void;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function startPrivateMemcached(): Promise<PrivateMemcached> {
  let port = 0;
  for (let candidate = 51220 + Math.floor(Math.random() * 20); candidate < 51300; candidate++) {
    if (await portIsFree(candidate)) {
      port = candidate;
      break;
    }
  }
  if (port === 0) throw new Error('no free port in 51220-51299 for a private memcached');
  const dir = mkdtempSync(join(tmpdir(), 'cache-fidelity-memcached-'));
  const pidFile = join(dir, 'memcached.pid');
  const address = `127.0.0.1:${port}`;
  const pid = () => Number(readFileSync(pidFile, 'utf8').trim());
  const alive = (p: number) => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  };
  const launch = async () => {
    rmSync(pidFile, { force: true });
    const r = spawnSync(
      'memcached',
      ['-u', 'root', '-d', '-P', pidFile, '-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '256'],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`memcached on ${address} did not start: ${r.stderr}`);
    for (let i = 0; i < 100; i++) {
      if (existsSync(pidFile) && (await memcachedVersion(address).catch(() => null))) return;
      await sleep(50);
    }
    throw new Error(`memcached on ${address} not ready`);
  };
  await launch();
  const m: PrivateMemcached = {
    address,
    port,
    pidFile,
    async kill() {
      const p = pid();
      process.kill(p, 'SIGKILL');
      for (let i = 0; i < 100 && alive(p); i++) await sleep(20);
    },
    restart: launch,
    stop() {
      try {
        if (existsSync(pidFile)) process.kill(pid(), 'SIGKILL');
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
  memcacheds.push(m);
  return m;
}

async function targetCount(db: PgTestDatabase, table: string): Promise<number> {
  const r = await db.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(r.rows[0]!.n);
}

/** Starts `migrate run`, and once the target holds `atRows` rows calls `during` (while the run goes on). */
async function runAndInterfere(
  db: PgTestDatabase,
  file: string,
  table: string,
  atRows: number,
  during: () => Promise<void>,
) {
  const run = startCli(['run', file, '--no-progress']);
  let exited = false;
  void run.done.then(() => {
    exited = true;
  });
  let interfered = false;
  while (!exited) {
    if ((await targetCount(db, table)) >= atRows) {
      await during();
      interfered = true;
      break;
    }
    await sleep(25);
  }
  const result = await run.done;
  return { result, interfered };
}

describe('cache fidelity', () => {
  it('places every key on the server an independent ketama (libmemcached) names, and only there', async () => {
    const db = await database('fidelity ketama');
    await makeItems(db, 5000);
    const prefix = uniquePrefix('kt');
    const file = plan(
      db,
      `cache:
  servers: [${POOL.join(', ')}]
  distribution: ketama
  prefix: "${prefix}"
  ttl: 1800
tables:
  - source: src.items
    target: dst.items
    batchSize: 1000
    cache: { key: "item:{id}" }
`,
    );
    const result = await runCli(['run', file, '--no-progress']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    const placeOf = referenceKetama(POOL);
    const keys = Array.from({ length: 5000 }, (_, i) => `${prefix}item:${i + 1}`);
    const found = await findKeys(POOL, keys);
    const misplaced: string[] = [];
    const perServer = new Map<string, number>();
    for (const key of keys) {
      const holders = found.get(key)?.servers ?? [];
      const want = placeOf(key);
      if (holders.length !== 1 || holders[0] !== want)
        misplaced.push(`${key}: on [${holders}], want ${want}`);
      perServer.set(want, (perServer.get(want) ?? 0) + 1);
    }
    expect(misplaced.slice(0, 10)).toEqual([]);
    // Every server holds a fair share (160 points each: roughly a third, never a tiny sliver).
    expect([...perServer.keys()].sort()).toEqual([...POOL].sort());
    for (const count of perServer.values()) expect(count).toBeGreaterThan(800);
  });

  it('accepts cache.ketama: libmemcached | spymemcached and names the valid values otherwise', async () => {
    const db = await database('fidelity ketama flavour');
    const body = (flavour: string) => `cache:
  servers: [${POOL.join(', ')}]
  distribution: ketama
  ketama: ${flavour}
tables:
  - source: src.items
    target: dst.items
    cache: { key: "item:{id}" }
`;
    for (const flavour of ['libmemcached', 'spymemcached']) {
      const ok = await runCli(['validate', plan(db, body(flavour)), '--offline']);
      expect(ok.code, ok.stderr).toBe(0);
    }
    const bad = await runCli(['validate', plan(db, body('libketama')), '--offline']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cache\.ketama/);
    expect(bad.stderr).toMatch(/libmemcached/);
    expect(bad.stderr).toMatch(/spymemcached/);
  });

  describe.each([
    ['read-through', false],
    ['read-through', true],
    ['write-through', false],
    ['write-through', true],
  ] as const)('warm: %s, overwrite: %s', (warm, overwrite) => {
    it(
      overwrite
        ? "replaces the application's value with the row's and exits 0"
        : "leaves the application's value alone and reports it as a cache mismatch (exit 3)",
      async () => {
        const db = await database(`fidelity overwrite ${warm} ${overwrite}`);
        await makeItems(db, 300);
        const prefix = uniquePrefix('ow');
        const appKey = `${prefix}item:7`;
        const appValue = '{"written":"by the application"}';
        // "The application" cached item 7 where its ketama client would, before the run.
        await setOn(referenceKetama(POOL)(appKey), appKey, appValue);
        const file = plan(
          db,
          `cache:
  servers: [${POOL.join(', ')}]
  distribution: ketama
  prefix: "${prefix}"
  ttl: 1800
  warm: ${warm}
  overwrite: ${overwrite}
tables:
  - source: src.items
    target: dst.items
    batchSize: 100
    cache: { key: "item:{id}" }
`,
        );
        const result = await runCli(['run', file, '--no-progress']);
        await assertEqual(db, 'src.items', 'dst.items');
        const keys = Array.from({ length: 300 }, (_, i) => `${prefix}item:${i + 1}`);
        const found = await findKeys(POOL, keys);
        expect(keys.filter((k) => !found.has(k))).toEqual([]);
        const seven = found.get(appKey)!;
        expect(seven.servers).toHaveLength(1);
        if (overwrite) {
          expect(result.stderr).toBe('');
          expect(result.code).toBe(0);
          expect(JSON.parse(seven.value.toString())).toMatchObject({ id: 7, name: 'item-7', qty: 7 });
        } else {
          expect(result.code).toBe(3);
          expect(result.stderr).toMatch(/mismatch: dst\.items id=7: cache different/);
          expect(result.stderr).not.toMatch(/id=(?!7:)\d+/);
          expect(seven.value.toString()).toBe(appValue);
        }
        // Every other entry is the row's.
        expect(JSON.parse(found.get(`${prefix}item:8`)!.value.toString())).toMatchObject({ id: 8 });
      },
    );
  });

  it('a server killed mid-run: the run finishes, the target is complete, the un-warmed keys are counted and listed, and `migrate warm` fills them', async () => {
    const db = await database('fidelity killed server');
    const rows = 100_000;
    await makeItems(db, rows);
    const own = await startPrivateMemcached();
    const servers = [POOL[0]!, POOL[1]!, own.address];
    const prefix = uniquePrefix('kill');
    const name = `killed${randomBytes(3).toString('hex')}`;
    const file = plan(
      db,
      `cache:
  servers: [${servers.join(', ')}]
  distribution: ketama
  prefix: "${prefix}"
  ttl: 1800
  timeoutMs: 1000
  retries: 2
tables:
  - source: src.items
    target: dst.items
    batchSize: 500
    cache: { key: "item:{id}" }
`,
      name,
    );
    const { result, interfered } = await runAndInterfere(db, file, 'dst.items', 25_000, () => own.kill());
    expect(interfered).toBe(true);
    expect(result.code, result.stderr).toBe(0);
    await assertEqual(db, 'src.items', 'dst.items');

    const notCached = /dst\.items: ([\d,]+) not cached: cache-server-failed/.exec(result.stdout);
    expect(notCached, result.stdout).not.toBeNull();
    const unwarmedCount = Number(notCached![1]!.replaceAll(',', ''));
    // Roughly the killed server's third of the rows left after the kill.
    expect(unwarmedCount).toBeGreaterThan(5_000);
    expect(unwarmedCount).toBeLessThan(rows / 2);

    const reportFile = join(dirname(file), `${name}.unwarmed.ndjson`);
    expect(result.stdout).toContain(`report: ${reportFile}`);
    const unwarmed = readFileSync(reportFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { table: string; key: string });
    expect(unwarmed).toHaveLength(unwarmedCount);
    const placeOf = referenceKetama(servers);
    // Only keys of the killed server are missing: the two others were warmed throughout.
    expect(unwarmed.filter((u) => u.table !== 'dst.items' || placeOf(u.key) !== own.address)).toEqual([]);

    await own.restart();
    const warmed = await runCli(['warm', file, '--no-progress']);
    expect(warmed.code, warmed.stderr).toBe(0);
    expect(warmed.stdout).not.toMatch(/not cached: /);
    const keys = Array.from({ length: rows }, (_, i) => `${prefix}item:${i + 1}`);
    const found = await findKeys(servers, keys);
    const missing = keys.filter((k) => !found.has(k));
    expect(
      missing.slice(0, 10),
      `${missing.length} missing; on ${[...new Set(missing.map(placeOf))].join(',')}; own ${own.address}`,
    ).toEqual([]);
    for (const key of keys) {
      const holders = found.get(key)!.servers;
      if (holders.length !== 1 || holders[0] !== placeOf(key)) throw new Error(`${key} on ${holders}`);
    }
    expect(JSON.parse(found.get(`${prefix}item:99999`)!.value.toString())).toMatchObject({ id: 99999 });
  });

  it('cache.required: true stops the run (exit 1) with a clear message when a server dies; the next run resumes', async () => {
    const db = await database('fidelity required');
    const rows = 30_000;
    await makeItems(db, rows);
    const own = await startPrivateMemcached();
    const servers = [POOL[0]!, POOL[1]!, own.address];
    const file = plan(
      db,
      `cache:
  servers: [${servers.join(', ')}]
  distribution: ketama
  prefix: "${uniquePrefix('req')}"
  required: true
  timeoutMs: 1000
  retries: 1
tables:
  - source: src.items
    target: dst.items
    batchSize: 200
    cache: { key: "item:{id}" }
`,
    );
    const { result, interfered } = await runAndInterfere(db, file, 'dst.items', 3_000, () => own.kill());
    expect(interfered).toBe(true);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: table dst\.items: \d+ cache keys could not be stored \(memcached /);
    expect(result.stderr).toMatch(/cache\.required is true/);
    expect(await targetCount(db, 'dst.items')).toBeLessThan(rows);

    await own.restart();
    const again = await runCli(['run', file, '--no-progress']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/not cached: /);
    await assertEqual(db, 'src.items', 'dst.items');
  });

  describe('values over cache.maxValueBytes and keys memcached refuses', () => {
    async function makeDocs(db: PgTestDatabase, table: string): Promise<void> {
      await db.client.query(`
        CREATE TABLE src.${table} (id int PRIMARY KEY, slug text NOT NULL UNIQUE, body text);
        INSERT INTO src.${table} SELECT g,
          CASE WHEN g IN (40, 41) THEN 'has space ' || g WHEN g = 42 THEN E'tab\\t42'
               WHEN g = 50 THEN repeat('L', 300) ELSE 'doc-' || g END,
          CASE WHEN g IN (10, 20, 30) THEN repeat('y', 2000) ELSE repeat('x', 50) END
        FROM generate_series(1, 500) g;
        CREATE TABLE dst.${table} (LIKE src.${table} INCLUDING ALL);`);
    }

    function docsPlan(db: PgTestDatabase, prefix: string, table: string, extra = ''): string {
      return plan(
        db,
        `cache:
  servers: [${POOL.join(', ')}]
  distribution: ketama
  prefix: "${prefix}"
  ttl: 1800
  maxValueBytes: 1000
${extra}tables:
  - source: src.${table}
    target: dst.${table}
    batchSize: 100
    cache: { key: "doc:{slug}" }
`,
      );
    }

    const goodKeys = (prefix: string) =>
      Array.from({ length: 500 }, (_, i) => i + 1)
        .filter((id) => ![10, 20, 30, 40, 41, 42, 50].includes(id))
        .map((id) => `${prefix}doc:doc-${id}`);

    it('are skipped for the cache with a warning and counted by reason; the rows are migrated (exit 0)', async () => {
      const db = await database('fidelity limits skip');
      await makeDocs(db, 'docs');
      const prefix = uniquePrefix('lim');
      const result = await runCli(['run', docsPlan(db, prefix, 'docs'), '--no-progress']);
      expect(result.code, result.stderr).toBe(0);
      await assertEqual(db, 'src.docs', 'dst.docs');

      expect(result.stdout).toMatch(/dst\.docs: 3 not cached: value-too-large/);
      expect(result.stdout).toMatch(/dst\.docs: 3 not cached: key-has-space-or-control/);
      expect(result.stdout).toMatch(/dst\.docs: 1 not cached: key-too-long/);
      expect(result.stdout).toMatch(/^dst\.docs\s+500\s+500\s+493\s+500\s+0\s+0\s+7\s/m);
      expect(result.stderr).toMatch(
        /warning: dst\.docs: cache value of \d+ bytes for key \S+doc:doc-10 is over cache\.maxValueBytes \(1000\)/,
      );
      expect(result.stderr).toMatch(
        /warning: dst\.docs: cache key with whitespace or control characters .*id=40/,
      );
      expect(result.stderr).toMatch(/warning: dst\.docs: cache key over 250 bytes .*id=50/);
      expect(result.stderr).not.toMatch(/^error/m);

      const found = await findKeys(POOL, [
        ...goodKeys(prefix),
        `${prefix}doc:doc-10`,
        `${prefix}doc:doc-20`,
        `${prefix}doc:doc-30`,
      ]);
      expect(found.size).toBe(493);
      expect(found.has(`${prefix}doc:doc-10`)).toBe(false);
    });

    it('with longKeys: hash, bad keys are stored under prefix + "sha1:" + hex(sha1(template result))', async () => {
      const db = await database('fidelity limits hash');
      await makeDocs(db, 'docs');
      const prefix = uniquePrefix('lh');
      const result = await runCli([
        'run',
        docsPlan(db, prefix, 'docs', '  longKeys: hash\n'),
        '--no-progress',
      ]);
      expect(result.code, result.stderr).toBe(0);
      await assertEqual(db, 'src.docs', 'dst.docs');
      expect(result.stdout).toMatch(/dst\.docs: 3 not cached: value-too-large/);
      expect(result.stdout).not.toMatch(/not cached: key-/);
      expect(result.stderr).not.toMatch(/cache key/);

      const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
      const hashed = new Map([
        [40, `${prefix}sha1:${sha1('doc:has space 40')}`],
        [41, `${prefix}sha1:${sha1('doc:has space 41')}`],
        [42, `${prefix}sha1:${sha1('doc:tab\t42')}`],
        [50, `${prefix}sha1:${sha1(`doc:${'L'.repeat(300)}`)}`],
      ]);
      const found = await findKeys(POOL, [...goodKeys(prefix), ...hashed.values()]);
      expect(found.size).toBe(493 + 4);
      const placeOf = referenceKetama(POOL);
      for (const [id, key] of hashed) {
        const entry = found.get(key)!;
        expect(entry.servers).toEqual([placeOf(key)]);
        expect(JSON.parse(entry.value.toString())).toMatchObject({ id });
      }
    });
  });
});
