// The fault-injection suite (issue 9): the CLI killed at random points, one of three worker processes
// killed, the target PostgreSQL restarted, a network stall between the tool and the target (that ends, and
// that never ends), and a failing run that must not print its password. After each fault the copy is
// proved exact by SQL that does not use the tool. A memcached server killed mid-run is in
// cache-fidelity.test.ts; connections killed by the server are in faults.test.ts.
//
// Every test has its own database, plan name and cache key prefix; the shared servers are never restarted
// or flushed: the restart test starts a PostgreSQL of its own.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { type CliResult, runCli, startCli, writePlan } from '../helpers/cli.js';
import { createPgDatabase, type PgTestDatabase } from '../helpers/databases.js';
import { testServers } from '../helpers/env.js';
import { findKeys } from '../helpers/memcached-many.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A database with schemas src and dst and a table src.t of `rows` rows (dst.t empty, same shape). */
async function database(name: string, rows: number): Promise<PgTestDatabase> {
  const db = await createPgDatabase(name);
  cleanups.push(() => db.drop());
  await db.client.query(`
    CREATE SCHEMA src; CREATE SCHEMA dst;
    CREATE TABLE src.t (id bigint PRIMARY KEY, v text, n numeric(20,4), at timestamptz);
    INSERT INTO src.t SELECT g, repeat('v', g % 40) || g, g * 1.0001,
      '2024-01-01 00:00:00.000001+00'::timestamptz + g * interval '1.000123 second'
      FROM generate_series(1, ${rows}) g;
    CREATE TABLE dst.t (LIKE src.t INCLUDING ALL);
    ANALYZE src.t;`);
  return db;
}

function plan(sourceUrl: string, targetUrl: string, body: string, name: string): string {
  return writePlan(`version: 1
name: ${name}
source:
  url: ${sourceUrl}
target:
  url: ${targetUrl}
${body}`);
}

const uniqueName = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/** Independent equality in one database: counts plus EXCEPT ALL both ways (duplicates count). */
async function assertEqual(client: pg.Client, src = 'src.t', dst = 'dst.t'): Promise<void> {
  const r = await client.query<{ a: string; b: string; s: string; t: string }>(
    `SELECT (SELECT count(*) FROM (SELECT * FROM ${src} EXCEPT ALL SELECT * FROM ${dst}) x) AS a,
            (SELECT count(*) FROM (SELECT * FROM ${dst} EXCEPT ALL SELECT * FROM ${src}) y) AS b,
            (SELECT count(*) FROM ${src}) AS s, (SELECT count(*) FROM ${dst}) AS t`,
  );
  const row = r.rows[0]!;
  expect({ missing: row.a, extra: row.b, count: row.t }).toEqual({ missing: '0', extra: '0', count: row.s });
}

/** Chunks of a plan in the state table: how many, rows read over all of them, whether all are done. */
async function chunkTotals(
  client: pg.Client,
  planName: string,
): Promise<{ chunks: number; rowsRead: number; allDone: boolean }> {
  const r = await client.query<{ n: string; read: string | null; done: boolean | null }>(
    `SELECT count(*) AS n, sum(rows_read) AS read, bool_and(status = 'done') AS done
     FROM _migrate_state WHERE plan = $1`,
    [planName],
  );
  const row = r.rows[0]!;
  return { chunks: Number(row.n), rowsRead: Number(row.read ?? 0), allDone: row.done === true };
}

async function countRows(client: pg.Client, table = 'dst.t'): Promise<number> {
  const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(r.rows[0]!.n);
}

/** Polls `cond` every 50 ms until it holds or `ms` have passed; returns whether it held. */
async function waitFor(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await cond().catch(() => false)) return true;
    await sleep(50);
  }
  return false;
}

const noStackTrace = (r: CliResult) => expect(r.stderr).not.toMatch(/^\s+at /m);

describe('fault suite', () => {
  it('SIGKILL at 10+ random points, then a final run: target equal, no batch twice, cache complete', async () => {
    // Large enough that a kill while batches commit lands mid-copy rather than after a (fast) finish.
    const rows = 250_000;
    const db = await database('fault sigkill', rows);
    const prefix = `fk${randomBytes(4).toString('hex')}:`;
    const name = uniqueName('fault-kill');
    const file = plan(
      db.url,
      db.url,
      `cache:
  servers: [${testServers.memcachedServers.join(', ')}]
  distribution: ketama
  prefix: "${prefix}"
  ttl: 1800
tables:
  - source: src.t
    target: dst.t
    batchSize: 250
    cache: { key: "t:{id}" }
`,
      name,
    );
    const points: string[] = [];
    let kills = 0;
    let midCopy = 0;
    let restart = false;
    for (let attempt = 0; (kills < 10 || midCopy < 5) && attempt < 30; attempt++) {
      // A run that finished before its kill left nothing to kill: the next one starts the copy over.
      const before = await countRows(db.client);
      const run = startCli(['run', file, '--no-progress', ...(restart ? ['--restart'] : [])]);
      let exited = false;
      void run.done.then(() => {
        exited = true;
      });
      // Two kinds of random points: any instant from the start (connecting, introspection, claiming, the
      // first batch), and any instant once batches are committing (mid-batch, mid-warm, mid-checkpoint).
      const flowing =
        attempt % 3 !== 0 &&
        (await waitFor(async () => exited || (await countRows(db.client)) > before, 30_000));
      const delay = Math.floor(Math.random() * (flowing ? 250 : 1200));
      await sleep(delay);
      run.child.kill('SIGKILL');
      const result = await run.done;
      points.push(`${flowing ? 'copying' : 'start'}+${delay}ms`);
      if (result.signal === 'SIGKILL') {
        kills++;
        if (flowing) midCopy++;
        restart = false;
      } else {
        expect(result.code, `${result.stdout}${result.stderr}`).toBe(0);
        restart = true;
      }
    }
    expect(kills, `kill points: ${points.join(', ')}`).toBeGreaterThanOrEqual(10);
    expect(midCopy, `kill points: ${points.join(', ')}`).toBeGreaterThanOrEqual(5);
    console.log(
      `SIGKILL: ${kills} kills (${midCopy} while batches were committing) in ${points.length} runs, ` +
        `${await countRows(db.client)} rows copied before the final run`,
    );

    const final = await runCli(['run', file, '--no-progress']);
    expect(final.code, final.stdout + final.stderr).toBe(0);
    expect(final.stdout).not.toMatch(/not cached: /);
    await assertEqual(db.client);
    // Each batch and its checkpoint commit together: rows_read over the chunks counts every row once.
    expect(await chunkTotals(db.client, name)).toMatchObject({ rowsRead: rows, allDone: true });

    const keys = Array.from({ length: rows }, (_, i) => `${prefix}t:${i + 1}`);
    const found = await findKeys(testServers.memcachedServers, keys);
    expect(keys.filter((k) => !found.has(k))).toEqual([]);
  });

  it('SIGKILL of one of three worker processes: the others finish, a rerun takes its chunks over at once', async () => {
    const rows = 150_000;
    const db = await database('fault worker kill', rows);
    const name = uniqueName('fault-workers');
    const file = plan(
      db.url,
      db.url,
      'tables:\n  - source: src.t\n    target: dst.t\n    batchSize: 500\n',
      name,
    );
    // --workers 3 makes the split ~6 chunks (chunks.ts: estimated rows / (2 × workers)); the three processes
    // share them through the leases in the state table.
    const procs = [0, 1, 2].map(() => startCli(['run', file, '--workers', '3', '--json']));
    // The victim: a process caught in the middle of a chunk (its lease live, some of its batches committed).
    let victimPid = 0;
    const caught = await waitFor(async () => {
      const r = await db.client.query<{ owner: string }>(
        `SELECT lease_owner AS owner FROM _migrate_state
         WHERE plan = $1 AND status = 'running' AND rows_read > 0 AND lease_owner IS NOT NULL`,
        [name],
      );
      // An owner id starts `<pid>@<host>/` (src/engine/owner.ts).
      const pids = r.rows.map((row) => Number(row.owner.split('@')[0]));
      victimPid = pids.find((p) => procs.some((proc) => proc.child.pid === p)) ?? 0;
      return victimPid > 0;
    }, 60_000);
    expect(caught, 'no process was caught in the middle of a chunk').toBe(true);
    const victim = procs.find((proc) => proc.child.pid === victimPid)!;
    victim.child.kill('SIGKILL');
    const killed = await victim.done;
    expect(killed.signal).toBe('SIGKILL');
    // (The others may take its chunks over already: its pid is gone.)
    const others = await Promise.all(procs.filter((proc) => proc !== victim).map((proc) => proc.done));
    for (const r of others) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
    }
    const before = await chunkTotals(db.client, name);
    expect(before.chunks).toBeGreaterThanOrEqual(6);
    const left = await db.client.query(
      "SELECT count(*) AS n FROM _migrate_state WHERE plan = $1 AND status <> 'done'",
      [name],
    );

    // The victim's leases run for 60 s, but its pid is gone on this host: taken over at once.
    const started = Date.now();
    const rerun = await runCli(['run', file, '--workers', '3', '--no-progress']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(45_000);
    await assertEqual(db.client);
    expect(await chunkTotals(db.client, name)).toMatchObject({ rowsRead: rows, allDone: true });
    console.log(
      `worker kill: ${before.chunks} chunks; after the others ` +
        `${left.rows[0].n} unfinished, ` +
        `${before.rowsRead} rows committed; the rerun took ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  it('the target PostgreSQL restarted mid-run: the chunk retries, the run finishes exit 0, exact copy', async (ctx) => {
    if (process.getuid?.() !== 0 || !existsSync(join(PG_BIN, 'initdb'))) {
      ctx.skip(); // needs root (to run the server as `postgres`) and PostgreSQL 15's binaries
      return;
    }
    const rows = 100_000;
    const db = await database('fault target restart', rows);
    const server = await startPrivatePostgres();
    cleanups.push(() => server.stop());
    const target = new pg.Client({ connectionString: server.url });
    target.on('error', () => undefined);
    await target.connect();
    cleanups.push(() => target.end().catch(() => undefined));
    await target.query(`CREATE SCHEMA dst; CREATE TABLE dst.t (id bigint PRIMARY KEY, v text,
      n numeric(20,4), at timestamptz)`);
    const name = uniqueName('fault-restart');
    const file = plan(
      db.url,
      server.url,
      'tables:\n  - source: src.t\n    target: dst.t\n    batchSize: 500\n',
      name,
    );

    const run = startCli(['run', file, '--no-progress']);
    const midway = await waitFor(async () => (await countRows(target)) >= 10_000, 60_000);
    expect(midway).toBe(true);
    await target.end();
    const restartedAt = Date.now();
    server.restart();
    const restartMs = Date.now() - restartedAt;
    const result = await run.done;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    // Designed behaviour: a restart (here ~1 s) is far shorter than the ~30 s of retries.
    expect(result.stderr).toMatch(/connection lost .*retrying chunk 0 from its checkpoint/);
    noStackTrace(result);

    const after = new pg.Client({ connectionString: server.url });
    after.on('error', () => undefined);
    await after.connect();
    cleanups.push(() => after.end().catch(() => undefined));
    // Two servers: compare a digest of every row in key order, computed by each server.
    const digest = `SELECT count(*) AS n, md5(string_agg(t::text, '|' ORDER BY id)) AS h FROM %s t`;
    const [want, got] = await Promise.all([
      db.client.query(digest.replace('%s', 'src.t')),
      after.query(digest.replace('%s', 'dst.t')),
    ]);
    expect(got.rows[0]).toEqual(want.rows[0]);
    expect(want.rows[0].n).toBe(String(rows));
    expect(await chunkTotals(after, name)).toMatchObject({ rowsRead: rows, allDone: true });
    console.log(
      `target restart took ${restartMs} ms; run: ${result.stderr.trim().split('\n').length} stderr lines`,
    );
  });

  it('a network stall to the target is ended by the query timeout: retried, exit 0, exact copy', async () => {
    const rows = 60_000;
    const db = await database('fault stall', rows);
    const proxy = await StallProxy.start(testServers.pgUrl);
    cleanups.push(() => proxy.close());
    const name = uniqueName('fault-stall');
    const file = plan(
      db.url,
      proxy.urlFor(db.url),
      'tables:\n  - source: src.t\n    target: dst.t\n    batchSize: 500\n',
      name,
    );
    const run = startCli(['run', file, '--no-progress'], { env: { MIGRATE_QUERY_TIMEOUT_MS: '3000' } });
    expect(await waitFor(async () => (await countRows(db.client)) >= 10_000, 60_000)).toBe(true);
    proxy.stall();
    await sleep(5_000); // longer than the query timeout: the tool must notice by itself
    proxy.dropAll();
    proxy.heal();
    const result = await run.done;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stderr).toMatch(/no answer from PostgreSQL within 3000 ms \(query timeout/);
    expect(result.stderr).toMatch(/retrying chunk 0 from its checkpoint/);
    noStackTrace(result);
    await assertEqual(db.client);
    expect(await chunkTotals(db.client, name)).toMatchObject({ rowsRead: rows, allDone: true });
  });

  it('a stall that never ends: exit 1 with a clear message in bounded time; a rerun once healthy completes', async () => {
    const rows = 40_000;
    const db = await database('fault stall forever', rows);
    const proxy = await StallProxy.start(testServers.pgUrl);
    cleanups.push(() => proxy.close());
    const name = uniqueName('fault-stall-forever');
    const file = plan(
      db.url,
      proxy.urlFor(db.url),
      'tables:\n  - source: src.t\n    target: dst.t\n    batchSize: 500\n',
      name,
    );
    const env = { MIGRATE_QUERY_TIMEOUT_MS: '1500' };
    const started = Date.now();
    const run = startCli(['run', file, '--no-progress'], { env, timeoutMs: 120_000 });
    expect(await waitFor(async () => (await countRows(db.client)) >= 5_000, 60_000)).toBe(true);
    proxy.stall();
    const result = await run.done;
    const seconds = (Date.now() - started) / 1000;
    // Retries wait ~31.5 s in all (engine/retry.ts), each attempt's connect gives up after 1.5 s.
    expect(result.signal).toBeNull();
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(seconds).toBeLessThan(90);
    expect(result.stderr).toMatch(/retrying chunk 0 from its checkpoint/);
    expect(result.stderr).toMatch(
      /^error: .*(no answer within 1500 ms \(connect timeout\)|no answer from PostgreSQL)/m,
    );
    expect(result.stderr).toMatch(/→ .*run again to resume|→ check that the server is running/);
    noStackTrace(result);
    const copied = await countRows(db.client);
    expect(copied).toBeLessThan(rows);

    proxy.heal();
    const rerun = await runCli(['run', file, '--no-progress'], { env });
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    await assertEqual(db.client);
    expect(await chunkTotals(db.client, name)).toMatchObject({ rowsRead: rows, allDone: true });
    console.log(`never-ending stall: exit 1 after ${seconds.toFixed(1)} s with ${copied} rows committed`);
  });

  it('the target refusing connections for good (PostgreSQL stopped): exit 1 after the retries, with how to resume', async () => {
    const rows = 40_000;
    const db = await database('fault target down', rows);
    const proxy = await StallProxy.start(testServers.pgUrl);
    cleanups.push(() => proxy.close());
    const name = uniqueName('fault-down');
    const file = plan(
      db.url,
      proxy.urlFor(db.url),
      'tables:\n  - source: src.t\n    target: dst.t\n    batchSize: 500\n',
      name,
    );
    const run = startCli(['run', file, '--no-progress'], { timeoutMs: 120_000 });
    expect(await waitFor(async () => (await countRows(db.client)) >= 5_000, 60_000)).toBe(true);
    await proxy.close(); // connections dropped, the port refuses new ones: as a stopped server
    const result = await run.done;
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toMatch(/retrying chunk 0 from its checkpoint/);
    const hint = result.stderr.split('\n').find((l) => l.startsWith('  → '));
    expect(hint, result.stderr).toContain(`migrate run ${file}`);
    expect(hint).toMatch(/resume/);
    noStackTrace(result);
  });

  it('a failing run never prints the source password: stdout, stderr, --json and the report files', async () => {
    const db = await database('fault password', 3_000);
    const role = `fault_pw_${randomBytes(4).toString('hex')}`;
    const password = `Pw-${randomBytes(6).toString('hex')}-Zx9q`;
    await db.client.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    cleanups.push(async () => {
      await db.drop(); // the grants inside the database go with it
      const admin = new pg.Client({ connectionString: testServers.pgUrl });
      await admin.connect();
      await admin.query(`DROP ROLE IF EXISTS ${role}`).finally(() => admin.end());
    });
    await db.client.query(`GRANT USAGE ON SCHEMA src TO ${role}; GRANT SELECT ON src.t TO ${role};
      ALTER TABLE dst.t ADD CONSTRAINT small_n CHECK (n < 1000)`);
    // The plan refers to the password through the environment, so the plan file itself holds none.
    const source = db.url.replace(/\/\/[^@/]*@/, `//${role}:\${FAULT_SOURCE_PASSWORD}@`);
    const env = { FAULT_SOURCE_PASSWORD: password };
    const table = '\n  - source: src.t\n    target: dst.t\n    batchSize: 500\n';
    const cases = [
      // The target rejects a row (CHECK constraint) after the source connected and rows flowed.
      plan(source, db.url, `tables:${table}`, uniqueName('fault-pw-data')),
      // The target cannot be reached at all (the source connects first).
      plan(source, 'postgres://nobody:x@127.0.0.1:1/nowhere', `tables:${table}`, uniqueName('fault-pw-dead')),
    ];
    for (const file of cases) {
      expect(readFileSync(file, 'utf8')).not.toContain(password);
      for (const flags of [['--json'], ['--no-progress'], ['--verbose', '--no-progress']]) {
        const r = await runCli(['run', file, ...flags], { env });
        expect(r.code, r.stdout + r.stderr).toBe(1);
        noStackTrace(r);
        const everything = [r.stdout, r.stderr];
        for (const f of readdirSync(dirname(file)))
          everything.push(readFileSync(join(dirname(file), f), 'utf8'));
        for (const text of everything) {
          expect(text).not.toContain(password);
          expect(text).not.toContain(encodeURIComponent(password));
        }
        // The run that got as far as copying did report its source, masked.
        if (file === cases[0]) expect(r.stdout + r.stderr).toContain(`${role}:***@`);
      }
    }
  });
});

// ---------------------------------------------------------------------------- a TCP proxy that stalls

/** Forwards TCP to a server; `stall()` stops forwarding both ways (and leaves new connections hanging). */
class StallProxy {
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private stalled = false;

  private constructor(
    private readonly server: net.Server,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  static async start(serverUrl: string): Promise<StallProxy> {
    const url = new URL(serverUrl);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new StallProxy(server, { host: url.hostname, port: Number(url.port || 5432) });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** `url` with the proxy's host and port. */
  urlFor(url: string): string {
    const u = new URL(url);
    u.host = `127.0.0.1:${this.port}`;
    return u.toString();
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.target);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => client.write(d));
    for (const s of pair) {
      s.on('error', close);
      s.on('close', close);
    }
    if (this.stalled) for (const s of pair) s.pause();
  }

  stall(): void {
    this.stalled = true;
    for (const pair of this.pairs) for (const s of pair) s.pause();
  }

  /** Closes every connection (the tool sees them drop). */
  dropAll(): void {
    for (const [client, upstream] of [...this.pairs]) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  /** New connections are forwarded again. */
  heal(): void {
    this.stalled = false;
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------- a PostgreSQL of the test's own

const PG_BIN = '/usr/lib/postgresql/15/bin';

interface PrivatePostgres {
  url: string;
  restart(): void;
  stop(): void;
}

/** initdb + pg_ctl as the `postgres` OS user in a temporary folder, on a free port, fsync off. */
async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), 'cache-migrate-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(root, uid, gid);
  const data = join(root, 'data');
  const log = join(root, 'postgres.log');
  const asPostgres = (args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', ...args], { cwd: '/', stdio: 'pipe', timeout: 90_000 });
  asPostgres([
    join(PG_BIN, 'initdb'),
    '-D',
    data,
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    '--auth=trust',
    '--no-sync',
    '--no-instructions',
  ]);
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const ctl = (...args: string[]) =>
    asPostgres([join(PG_BIN, 'pg_ctl'), '-D', data, '-l', log, '-w', '-t', '60', ...args]);
  ctl('-o', options, 'start');
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: () => ctl('-m', 'fast', 'restart'),
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        ctl('-m', 'immediate', 'stop');
      } catch {
        // already down
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
