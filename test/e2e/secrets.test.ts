// biome-ignore-all lint/suspicious/noTemplateCurlyInString: plans use `${NAME}` interpolation.
// The secrets grep: every command (validate offline and online, run, run --dry-run, status, verify, warm,
// each as text and --json) and their failure paths (a wrong password, an unreachable server, a wrong SASL
// password, plan errors) run with a marker password in each way a secret enters a plan: URL user info,
// `?password=` of either driver, a whole URL in `${ENV}`, a URL without its scheme or a libpq key=value
// string in `${ENV}`, an unencoded password (item 9 of issue 20), and the cache's SASL password. stdout,
// stderr and every file next to the plan must hold none of the marker's forms: as written, percent-encoded,
// base64, or even its random core alone. The plans take the secrets from the environment, so the plan files
// hold none either.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { type CliResult, ndjson, runCli, writePlan } from '../helpers/cli.js';
import { testServers } from '../helpers/env.js';
import { scopedDatabases } from '../helpers/scoped-databases.js';

const { pgDb, mysqlDb } = scopedDatabases();

const CORE = `Mk${randomBytes(6).toString('hex')}`;
/** Names in the plans (not secret: they are printed). */
const RUN = randomBytes(4).toString('hex');
/** Every character that needs percent-encoding in a URL's user info. */
const MARKER = `${CORE}#/?@%:x`;
const SASL_SERVER = process.env.TEST_MEMCACHED_SASL?.trim() || '127.0.0.1:51215';
const SASL_USER = process.env.TEST_MEMCACHED_SASL_USERNAME?.trim() || 'migrate';
const SASL_PASSWORD = process.env.TEST_MEMCACHED_SASL_PASSWORD?.trim() || 'migrate-sasl';

const forms = (secret: string): string[] => {
  const b64 = Buffer.from(secret).toString('base64');
  return [
    secret,
    encodeURIComponent(secret),
    b64,
    b64.replace(/=+$/, ''),
    JSON.stringify(secret).slice(1, -1),
  ];
};
const FORBIDDEN = [...forms(MARKER), CORE, ...forms(SASL_PASSWORD)];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

const role = (): string => `secrets_${randomBytes(4).toString('hex')}`;
const pgServer = new URL(testServers.pgUrl);
const myServer = new URL(testServers.mysqlUrl);

/** A PostgreSQL database whose tables belong to a new role with the marker password. */
async function pgWithRole() {
  const db = await pgDb('secrets');
  const user = role();
  await db.client.query(`CREATE ROLE ${user} LOGIN PASSWORD '${MARKER}'`);
  cleanups.push(async () => {
    await db.drop();
    const admin = new pg.Client({ connectionString: testServers.pgUrl });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${user}`).finally(() => admin.end());
  });
  await db.client.query(`GRANT ALL ON SCHEMA public TO ${user};
    CREATE TABLE src (id int PRIMARY KEY, v text);
    INSERT INTO src SELECT g, 'v' || g FROM generate_series(1, 50) g;
    ALTER TABLE src OWNER TO ${user}`);
  const host = `${pgServer.hostname}:${pgServer.port}`;
  return { db, user, host, name: db.name };
}

/** A MariaDB database with a table, granted to a new user with the marker password. */
async function mysqlWithUser() {
  const db = await mysqlDb('secrets');
  const user = role();
  for (const host of ['%', '127.0.0.1']) {
    await db.conn.query(`CREATE USER '${user}'@'${host}' IDENTIFIED BY ?`, [MARKER]);
    await db.conn.query(`GRANT ALL ON \`${db.name}\`.* TO '${user}'@'${host}'`);
  }
  cleanups.push(async () => {
    for (const host of ['%', '127.0.0.1']) await db.conn.query(`DROP USER IF EXISTS '${user}'@'${host}'`);
  });
  await db.conn.query(`CREATE TABLE src (id int PRIMARY KEY, v text);
    INSERT INTO src SELECT seq, CONCAT('v', seq) FROM seq_1_to_50`);
  const host = `${myServer.hostname}:${myServer.port}`;
  return { db, user, host, name: db.name };
}

function planText(name: string, source: string, target: string, table: string, extra = ''): string {
  return `version: 1
name: ${name}
source:
  url: ${source}
target:
  url: ${target}
cache:
  servers: [${SASL_SERVER}]
  username: ${SASL_USER}
  password: \${SASL_PASSWORD}
  prefix: "${RUN}-${name}:"
tables:
  - source: src
    target: ${table}
    createTables: true
    cache:
      key: "r:{id}"
${extra}`;
}

/** The environment every plan reads its secrets from. */
const ENV = {
  PW: encodeURIComponent(MARKER),
  PW_RAW: MARKER,
  SASL_PASSWORD,
};

function assertClean(label: string, r: CliResult, planFile: string): void {
  const texts: [string, string][] = [
    ['stdout', r.stdout],
    ['stderr', r.stderr],
  ];
  const dir = dirname(planFile);
  for (const f of readdirSync(dir)) texts.push([f, readFileSync(join(dir, f), 'utf8')]);
  for (const [where, text] of texts) {
    for (const secret of FORBIDDEN) {
      expect(text.includes(secret), `${label}: ${where} holds a secret (${secret}):\n${text}`).toBe(false);
    }
  }
  expect(r.stderr, label).not.toContain('this is a bug');
}

/** The last stdout line of a failed --json command is its `error` event. */
function assertErrorEvent(label: string, r: CliResult, code: number): void {
  const events = ndjson<{ event: string; exitCode?: number; message?: string }>(r.stdout);
  expect(events.at(-1), label).toMatchObject({ event: 'error', exitCode: code, message: expect.any(String) });
}

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

const COMMANDS: string[][] = [
  ['validate', '--offline'],
  ['validate', '--offline', '--json'],
  ['validate'],
  ['validate', '--json'],
  ['run', '--dry-run'],
  ['run', '--dry-run', '--json'],
  ['run', '--verbose', '--no-progress'],
  ['run', '--json', '--restart'],
  ['status'],
  ['status', '--json'],
  ['verify'],
  ['verify', '--json'],
  ['warm', '--no-progress'],
  ['warm', '--json'],
];

async function everyCommand(file: string, env: Record<string, string>, label: string): Promise<CliResult[]> {
  const results: CliResult[] = [];
  for (const args of COMMANDS) {
    const r = await runCli([...args, file], { env });
    const name = `${label}: ${args.join(' ')}`;
    expect(r.code, `${name}\n${r.stdout}\n${r.stderr}`).toBe(0);
    assertClean(name, r, file);
    results.push(r);
  }
  return results;
}

describe('no secret in any output', () => {
  it('PostgreSQL: user info, ?password=, a whole URL in ${ENV}, and the SASL password', async () => {
    const pgs = await pgWithRole();
    const base = `${pgs.host}/${pgs.name}`;
    const userInfo = `postgres://${pgs.user}:\${PW}@${base}`;
    const query = `postgres://${pgs.user}@${base}?password=\${PW}`;
    const env = { ...ENV, TARGET_URL: `postgres://${pgs.user}:${encodeURIComponent(MARKER)}@${base}` };

    const one = writePlan(planText('sec-pg-a', userInfo, query, 'dst_a'));
    const results = await everyCommand(one, env, 'pg user info -> pg ?password=');
    expect(results[0]?.stdout).toContain(`postgres://${pgs.user}:***@`);
    expect(results[0]?.stdout).toContain('?password=***');
    expect(ndjson<{ event: string; source?: string }>(results[7]?.stdout ?? '')[0]).toMatchObject({
      event: 'run-start',
      source: `postgres://${pgs.user}:***@${base}`,
      target: `postgres://${pgs.user}@${base}?password=***`,
    });

    const two = writePlan(planText('sec-pg-b', query, '${TARGET_URL}', 'dst_b'));
    await everyCommand(two, env, 'pg ?password= -> ${TARGET_URL}');

    // A difference makes verify write its report next to the plan: it holds no secret either.
    await pgs.db.client.query(`UPDATE dst_b SET v = 'changed' WHERE id = 7`);
    for (const args of [['verify', '--json'], ['verify']]) {
      const r = await runCli([...args, two], { env });
      expect(r.code, r.stdout + r.stderr).toBe(3);
      assertClean(`verify with a difference ${args.join(' ')}`, r, two);
      // Differences are a result (exit 3), not a failure: --json ends with the summary, not an error event.
      if (args.includes('--json')) expect(ndjson<{ event: string }>(r.stdout).at(-1)?.event).toBe('summary');
    }
    expect(readdirSync(dirname(two))).toContain('sec-pg-b.mismatches.ndjson');
  });

  it('MariaDB: user info and ?password=, into PostgreSQL', async () => {
    const my = await mysqlWithUser();
    const pgs = await pgWithRole();
    const myBase = `${my.host}/${my.name}`;
    const pgUrl = `postgres://${pgs.user}:\${PW}@${pgs.host}/${pgs.name}`;
    const one = writePlan(planText('sec-my-a', `mysql://${my.user}:\${PW}@${myBase}`, pgUrl, 'dst_c'));
    const results = await everyCommand(one, ENV, 'mysql user info -> pg');
    expect(results[2]?.stdout).toContain(`mysql://${my.user}:***@${myBase}`);

    const two = writePlan(
      planText('sec-my-b', `mariadb://${my.user}@${myBase}?password=\${PW}`, pgUrl, 'dst_d'),
    );
    const more = await everyCommand(two, ENV, 'mysql ?password= -> pg');
    expect(more[2]?.stdout).toContain(`mariadb://${my.user}@${myBase}?password=***`);
    const copied = await pgs.db.client.query('SELECT count(*)::int AS n FROM dst_d');
    expect(copied.rows[0].n).toBe(50);
  });

  it('failures: a wrong password, an unreachable server, a wrong SASL password', async () => {
    const pgs = await pgWithRole();
    const my = await mysqlWithUser();
    const good = `postgres://${pgs.user}:\${PW}@${pgs.host}/${pgs.name}`;
    // The target is the broken server: every command connects to it.
    const plans = [
      ['pg wrong password', `postgres://nobody_${RUN}:\${PW}@${pgs.host}/${pgs.name}`],
      ['mysql wrong password', `mysql://${my.user}x:\${PW}@${my.host}/${my.name}`],
      ['pg ?password= wrong', `postgres://${pgs.user}x@${pgs.host}/${pgs.name}?password=\${PW}`],
      ['unreachable', `postgres://${pgs.user}:\${PW}@127.0.0.1:1/${pgs.name}`],
    ] as const;
    const failing = [
      ['validate'],
      ['validate', '--json'],
      ['run', '--dry-run', '--json'],
      ['run'],
      ['run', '--json'],
      ['status', '--json'],
      ['verify', '--json'],
      ['warm', '--json'],
    ];
    await Promise.all(
      plans.map(async ([label, target]) => {
        const file = writePlan(planText('sec-f', good, target, 'f'));
        for (const args of failing) {
          const r = await runCli([...args, file], { env: ENV });
          const name = `${label}: ${args.join(' ')}`;
          expect(r.code, `${name}\n${r.stdout}\n${r.stderr}`).toBe(1);
          assertClean(name, r, file);
          if (args.includes('--json')) assertErrorEvent(name, r, 1);
        }
      }),
    );

    // The SASL server refuses the marker as a password: rows are copied, the keys are reported unwarmed.
    const sasl = writePlan(planText('sec-f5', good, good, 'f5').replace('${SASL_PASSWORD}', '${PW_RAW}'));
    for (const args of [
      ['run', '--json'],
      ['run', '--restart', '--verbose', '--no-progress'],
      ['warm', '--json'],
      ['verify'],
    ]) {
      const r = await runCli([...args, sasl], { env: ENV });
      assertClean(`wrong SASL password: ${args.join(' ')}`, r, sasl);
    }
    expect(readdirSync(dirname(sasl))).toContain('sec-f5.unwarmed.ndjson');
  });

  it('plan errors: a URL without its scheme or a key=value string in ${ENV}, an unencoded password, [::1', async () => {
    const host = `${pgServer.hostname}:${pgServer.port}`;
    const good = `postgres://app:\${PW}@${host}/db`;
    const cases = [
      [
        'scheme-less URL in ${ENV}',
        '${SOURCE_URL}',
        { SOURCE_URL: `app:${MARKER}@${host}/db` },
        /URL without its scheme/,
      ],
      [
        'scheme-less URL in ${ENV}, encoded',
        '${SOURCE_URL}',
        { SOURCE_URL: `app:${encodeURIComponent(MARKER)}@${host}/db` },
        /URL without its scheme/,
      ],
      [
        'key=value in ${ENV}',
        '${SOURCE_URL}',
        { SOURCE_URL: `host=127.0.0.1 port=5432 user=app password=${MARKER} dbname=db` },
        /key=value/,
      ],
      [
        'key=value quoted',
        '${SOURCE_URL}',
        { SOURCE_URL: `host=127.0.0.1 password='${MARKER} x' dbname=db` },
        /key=value/,
      ],
      ['unencoded password', `postgres://app:\${PW_RAW}@${host}/db`, {}, /percent-encode/],
      ['unencoded password, mysql', `mysql://app:\${PW_RAW}@${host}/db`, {}, /percent-encode/],
      ['unbalanced [', `postgres://app:\${PW}@[::1:5432/db`, {}, /IPv6 address/],
      ['?password= and an unknown key', `${good.replace(':${PW}', '')}?password=\${PW}`, {}, /unknown key/],
    ] as const;
    // Every command loads its plan the same way: all of them for the first case, three for the others.
    const all = [
      ['validate', '--offline'],
      ['validate', '--offline', '--json'],
      ['run', '--json'],
      ['validate'],
      ['run', '--dry-run'],
      ['status', '--json'],
      ['verify', '--json'],
      ['warm', '--json'],
    ];
    const runs = cases.flatMap(([label, url, env, message], i) => {
      const extra = label.includes('unknown key') ? '    batchSiz: 10\n' : '';
      const file = writePlan(planText('sec-e', url, good, 'e', extra));
      return (i === 0 ? all : all.slice(0, 3)).map((args) => ({ label, file, env, message, args }));
    });
    await inParallel(runs, 4, async ({ label, file, env, message, args }) => {
      const r = await runCli([...args, file], { env: { ...ENV, ...env } });
      const name = `${label}: ${args.join(' ')}`;
      expect(r.code, `${name}\n${r.stdout}\n${r.stderr}`).toBe(2);
      assertClean(name, r, file);
      if (args.includes('--json')) {
        assertErrorEvent(name, r, 2);
        expect(r.stdout, name).toMatch(message);
      } else {
        expect(r.stderr, name).toMatch(/plan\.yaml:\d+:\d+: /);
        expect(r.stderr, name).toMatch(message);
      }
    });
  });
});
