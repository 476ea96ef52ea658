/**
 * The measured cases. Each repetition starts from an empty target table (created before the clock starts),
 * runs child processes under /usr/bin/time -v, then checks outside the clock that the work was done (row
 * counts, the migrate summary, cache keys present) so a fast but broken run never counts as a result.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ServerCpu } from './cpu.js';
import { BENCH_DB, type Dataset } from './dataset.js';
import { type ChildResult, expectSuccess, startMeasured, timed } from './measure.js';
import { countSampleKeys, deleteOrderKeys } from './memcached-keys.js';
import { prepareMysqlWide, preparePgWide } from './wide.js';

export interface BenchContext {
  rows: number;
  /** Rows of the wide cases' table (bench/wide.ts). */
  wideRows: number;
  dataset: Dataset;
  memcached: string[];
  /** The CLI's entry point (bin/migrate.js of the build under test, or the `--cli` given). */
  cli: string;
  /** Extra arguments for every `migrate run`. */
  cliArgs: string[];
  /** The baseline transpiled to plain JS. */
  baselineJs: string;
  /** Folder for plans and pgloader command files. */
  workDir: string;
  /** Unique per bench run: part of every cache prefix. */
  runId: string;
  /** Node flags for the profile run (`--cpu-prof ...`). */
  nodeFlags: string[];
  /** Extra environment for the CLI (the profile run sets MIGRATE_TIMING=1). */
  cliEnv?: Record<string, string>;
  log: (line: string) => void;
  /** Prefixes whose keys must be deleted at the end (kept meanwhile for `verify`). */
  pendingKeys: string[];
  /** The plan of the latest full pg->pg run, which `verify` re-checks. */
  lastFullPlan?: string;
}

export interface Measurement {
  seconds: number;
  /** Peak RSS in MiB (what exactly: `rssNote`). */
  rssMb: number;
  /** CPU seconds of the measured client process(es), all threads. */
  clientCpu: number;
  /** CPU seconds the servers used during the measured time. */
  serverCpu: ServerCpu;
  rssNote?: string;
  /** Seconds migrate's own summary reports, when it is a migrate run. */
  reportedSeconds?: number;
  note?: string;
  /** `timing ...` lines the CLI printed on stderr (MIGRATE_TIMING=1: time per pipeline stage). */
  stageTiming?: string[];
}

export interface BenchCase {
  id: string;
  /** The number of the list: 1..7 (7a/7b for pgloader, 6b for verify --no-cache). */
  num: string;
  label: string;
  mysql?: boolean;
  /** A reason not to run here (a missing tool), or null. */
  unavailable?: () => string | null;
  /** True for the cases that run `migrate` (their RSS counts for the ≤ 200 MB target). */
  migrate?: boolean;
  /** Rows the case moves when not `--rows`. */
  rows?: (ctx: BenchContext) => number;
  run(ctx: BenchContext, rep: number): Promise<Measurement>;
}

// ----------------------------------------------------------------------------------------- plans

function prefixFor(ctx: BenchContext, id: string, rep: number): string {
  return `cmb:${ctx.runId}:${id}:${rep}:`;
}

interface PlanSpec {
  name: string;
  sourceUrl: string;
  sourceTable: string;
  target: string;
  /** null: warm off and verify none (copy only). */
  prefix: string | null;
}

function renderPlan(ctx: BenchContext, p: PlanSpec): string {
  const cache =
    p.prefix === null
      ? `cache:
  servers: [${ctx.memcached.join(', ')}]
  warm: off
defaults:
  verify: none
`
      : `cache:
  servers: [${ctx.memcached.join(', ')}]
  distribution: ketama
  prefix: "${p.prefix}"
  ttl: 600
  warm: read-through
defaults:
  onConflict: upsert
  verify: checksum
`;
  const key = p.prefix === null ? '' : `    cache:\n      key: "order:{id}"\n`;
  return `version: 1
name: ${p.name}
source:
  url: ${p.sourceUrl}
target:
  url: ${ctx.dataset.pgUrl}
${cache}tables:
  - source: ${p.sourceTable}
    target: ${p.target}
${key}`;
}

function writePlanFile(ctx: BenchContext, name: string, text: string): string {
  const dir = join(ctx.workDir, name);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const file = join(dir, 'plan.yaml');
  writeFileSync(file, text);
  return file;
}

// ----------------------------------------------------------------------------------------- migrate

interface Summary {
  ok: boolean;
  seconds: number;
  tables: {
    table: string;
    counts: { read: number; written: number; cached: number; verified: number; mismatches: number };
  }[];
}

function summaryOf(r: ChildResult): Summary {
  const lines = r.stdout.trim().split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    const event = JSON.parse(line) as { event?: string };
    if (event.event === 'summary') return event as unknown as Summary;
  }
  throw new Error(`no summary event in the CLI output:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
}

/**
 * The CLI started as a user starts it: the bin script itself, which chooses Node's flags. With node flags
 * to add (--profile), or a --cli that is not a bin script, Node runs it directly (Node's default heap).
 */
function cliCommand(ctx: BenchContext, args: string[]): [string, string[]] {
  if (ctx.nodeFlags.length === 0 && basename(dirname(ctx.cli)) === 'bin') return [ctx.cli, args];
  return [process.execPath, [...ctx.nodeFlags, ctx.cli, ...args]];
}

async function runCli(
  ctx: BenchContext,
  args: string[],
  label: string,
): Promise<{ m: Measurement; summary: Summary }> {
  const { seconds, result, serverCpu } = await timed(
    () =>
      startMeasured(...cliCommand(ctx, [...args, '--json', '--no-progress']), {
        env: { ...process.env, CI: 'true', ...ctx.cliEnv },
        maxOutput: 50_000_000,
      }).done,
  );
  expectSuccess(label, result);
  const summary = summaryOf(result);
  const stageTiming = result.stderr.split('\n').filter((l) => l.startsWith('timing '));
  const m: Measurement = {
    seconds,
    rssMb: result.rssMb,
    clientCpu: result.cpuSeconds,
    serverCpu,
    reportedSeconds: summary.seconds,
  };
  if (stageTiming.length) m.stageTiming = stageTiming;
  return { m, summary };
}

function expectCounts(
  label: string,
  s: Summary,
  rows: number,
  fields: ('written' | 'cached' | 'verified')[],
): void {
  const t = s.tables[0];
  if (!s.ok || !t) throw new Error(`${label}: summary not ok: ${JSON.stringify(s)}`);
  for (const f of fields) {
    if (t.counts[f] !== rows)
      throw new Error(`${label}: ${f} ${t.counts[f]}, expected ${rows}: ${JSON.stringify(t)}`);
  }
  if (t.counts.mismatches !== 0) throw new Error(`${label}: ${t.counts.mismatches} mismatches`);
}

async function expectRows(ctx: BenchContext, label: string, table: string): Promise<void> {
  const n = await ctx.dataset.count(table);
  if (n !== ctx.rows) throw new Error(`${label}: ${table} holds ${n} rows, expected ${ctx.rows}`);
}

async function expectKeys(ctx: BenchContext, label: string, prefix: string): Promise<void> {
  const { sampled, found } = await countSampleKeys(ctx.memcached, prefix, ctx.rows);
  if (found !== sampled)
    throw new Error(`${label}: only ${found} of ${sampled} sampled keys are in memcached`);
}

async function migrateRun(
  ctx: BenchContext,
  id: string,
  rep: number,
  source: { url: string; table: string },
  full: boolean,
): Promise<{ m: Measurement; plan: string; prefix: string | null }> {
  const target = await ctx.dataset.freshTarget(`orders_${id.replaceAll('-', '_')}`);
  const prefix = full ? prefixFor(ctx, id, rep) : null;
  const plan = writePlanFile(
    ctx,
    `${id}-${rep}`,
    renderPlan(ctx, {
      name: `bench-${id}`,
      sourceUrl: source.url,
      sourceTable: source.table,
      target,
      prefix,
    }),
  );
  await ctx.dataset.pgQuery('CHECKPOINT');
  const label = `migrate run (${id})`;
  const { m, summary } = await runCli(ctx, ['run', plan, '--restart', ...ctx.cliArgs], label);
  expectCounts(label, summary, ctx.rows, full ? ['written', 'cached', 'verified'] : ['written']);
  await expectRows(ctx, label, target);
  if (prefix) await expectKeys(ctx, label, prefix);
  return { m, plan, prefix };
}

// ----------------------------------------------------------------------------------------- cases

const psqlCopy: BenchCase = {
  id: 'psql-copy',
  num: '1',
  label: 'psql \\copy text pipe pg→pg',
  async run(ctx) {
    const target = await ctx.dataset.freshTarget('orders_psql_copy');
    await ctx.dataset.pgQuery('CHECKPOINT');
    const psql = (command: string) => [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-d',
      ctx.dataset.pgUrl,
      '-c',
      command,
    ];
    const { seconds, result, serverCpu } = await timed(async () => {
      const out = startMeasured('psql', psql('\\copy (SELECT * FROM src.orders) TO STDOUT'), {
        pipeStdout: true,
      });
      const stdout = out.child.stdout;
      if (!stdout) throw new Error('psql: no stdout pipe');
      const into = startMeasured('psql', psql(`\\copy ${target} FROM STDIN`), { stdin: stdout });
      // The second psql holds its own copy of the pipe now; ours would keep the first child from closing.
      stdout.destroy();
      return Promise.all([out.done, into.done]);
    });
    const [a, b] = result;
    expectSuccess('psql \\copy ... TO STDOUT', a);
    expectSuccess('psql \\copy ... FROM STDIN', b);
    await expectRows(ctx, 'psql copy', target);
    return {
      seconds,
      rssMb: a.rssMb + b.rssMb,
      clientCpu: a.cpuSeconds + b.cpuSeconds,
      serverCpu,
      rssNote: `sum of the two psql processes (${a.rssMb.toFixed(0)} + ${b.rssMb.toFixed(0)} MB)`,
    };
  },
};

const baseline: BenchCase = {
  id: 'baseline',
  num: '2',
  label: 'hand-written baseline (stream, INSERT, memjs)',
  async run(ctx, rep) {
    const target = await ctx.dataset.freshTarget('orders_baseline');
    const prefix = prefixFor(ctx, 'baseline', rep);
    await ctx.dataset.pgQuery('CHECKPOINT');
    const args = [
      ctx.baselineJs,
      ctx.dataset.pgUrl,
      'src.orders',
      ctx.dataset.pgUrl,
      target,
      ctx.memcached.join(','),
      prefix,
      '600',
    ];
    try {
      const { seconds, result, serverCpu } = await timed(() => startMeasured(process.execPath, args).done);
      expectSuccess('baseline', result);
      await expectRows(ctx, 'baseline', target);
      await expectKeys(ctx, 'baseline', prefix);
      return { seconds, rssMb: result.rssMb, clientCpu: result.cpuSeconds, serverCpu };
    } finally {
      await deleteOrderKeys(ctx.memcached, prefix, ctx.rows);
    }
  },
};

const copyOnly: BenchCase = {
  id: 'copy-only',
  num: '3',
  label: 'migrate pg→pg copy only (warm off, verify none)',
  migrate: true,
  async run(ctx, rep) {
    const { m } = await migrateRun(
      ctx,
      'copy-only',
      rep,
      { url: ctx.dataset.pgUrl, table: 'src.orders' },
      false,
    );
    return m;
  },
};

/** Runs the full pg->pg pipeline; its keys stay until the bench ends (verify re-checks them). */
async function fullPgRun(ctx: BenchContext, rep: number): Promise<Measurement> {
  const source = { url: ctx.dataset.pgUrl, table: 'src.orders' };
  const { m, plan, prefix } = await migrateRun(ctx, 'full-pg', rep, source, true);
  // Only the latest run's keys are needed later; older ones go now.
  for (const old of ctx.pendingKeys.splice(0)) await deleteOrderKeys(ctx.memcached, old, ctx.rows);
  if (prefix) ctx.pendingKeys.push(prefix);
  ctx.lastFullPlan = plan;
  return m;
}

const fullPg: BenchCase = {
  id: 'full-pg',
  num: '4',
  label: 'migrate pg→pg full (upsert, warm ×3, checksum)',
  migrate: true,
  run: fullPgRun,
};

const fullMysql: BenchCase = {
  id: 'full-mysql',
  num: '5',
  label: 'migrate mysql→pg full (same)',
  mysql: true,
  migrate: true,
  async run(ctx, rep) {
    const { m, prefix } = await migrateRun(
      ctx,
      'full-mysql',
      rep,
      { url: ctx.dataset.mysqlUrl, table: 'orders' },
      true,
    );
    if (prefix) await deleteOrderKeys(ctx.memcached, prefix, ctx.rows);
    return m;
  },
};

function verifyCase(id: string, num: string, label: string, extra: string[]): BenchCase {
  return {
    id,
    num,
    label,
    migrate: true,
    async run(ctx) {
      if (!ctx.lastFullPlan) {
        ctx.log(`  (${id}: no full pg→pg table yet; running case 4 once, unmeasured, to make one)`);
        await fullPgRun(ctx, 0);
      }
      const plan = ctx.lastFullPlan;
      if (!plan) throw new Error('no plan to verify');
      await ctx.dataset.pgQuery('CHECKPOINT');
      const label = `migrate verify ${extra.join(' ')}`.trim();
      const { m, summary } = await runCli(ctx, ['verify', plan, ...extra], label);
      const t = summary.tables[0];
      if (!summary.ok || !t || t.counts.mismatches !== 0)
        throw new Error(`${label}: ${JSON.stringify(summary)}`);
      return { ...m, note: `verified ${t.counts.verified}` };
    },
  };
}

// ----------------------------------------------------------------------------------------- wide rows

/**
 * `--wide-rows` rows of 20 KB copied with the plan's defaults (batch size, maxBatchBytes, per-batch check;
 * no cache: 6 GB of values would only evict other keys): memory must stay bounded by a batch's bytes.
 */
function wideCase(id: string, num: string, label: string, mysqlSource: boolean): BenchCase {
  return {
    id,
    num,
    label,
    mysql: mysqlSource,
    migrate: true,
    rows: (ctx) => ctx.wideRows,
    async run(ctx, rep) {
      if (mysqlSource) await prepareMysqlWide(ctx.dataset.mysqlUrl, ctx.wideRows, ctx.log);
      else await preparePgWide(ctx.dataset.pgUrl, ctx.wideRows, ctx.log);
      const target = `dst.wide_${id.replaceAll('-', '_')}`;
      await ctx.dataset.pgQuery(`DROP TABLE IF EXISTS ${target}`);
      await ctx.dataset.pgQuery(
        `CREATE TABLE ${target} (id bigint PRIMARY KEY, qty int NOT NULL, body text NOT NULL)`,
      );
      const plan = writePlanFile(
        ctx,
        `${id}-${rep}`,
        `version: 1
name: bench-${id}
source:
  url: ${mysqlSource ? ctx.dataset.mysqlUrl : ctx.dataset.pgUrl}
target:
  url: ${ctx.dataset.pgUrl}
tables:
  - source: ${mysqlSource ? 'wide' : 'src.wide'}
    target: ${target}
`,
      );
      await ctx.dataset.pgQuery('CHECKPOINT');
      const label = `migrate run (${id})`;
      const { m, summary } = await runCli(ctx, ['run', plan, '--restart', ...ctx.cliArgs], label);
      expectCounts(label, summary, ctx.wideRows, ['written', 'verified']);
      const n = await ctx.dataset.count(target);
      if (n !== ctx.wideRows)
        throw new Error(`${label}: ${target} holds ${n} rows, expected ${ctx.wideRows}`);
      await ctx.dataset.pgQuery(`DROP TABLE ${target}`);
      return m;
    },
  };
}

// ----------------------------------------------------------------------------------------- pgloader

function pgloaderUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol === 'postgres:' || u.protocol === 'postgresql:' ? 'pgsql' : 'mysql'}://${u.username}:${u.password}@${u.host}${u.pathname}`;
}

const hasPgloader = () =>
  existsSync('/usr/bin/pgloader') ? null : 'pgloader is not installed (apt-get install -y pgloader)';

function pgloaderCase(id: string, num: string, label: string, mysqlSource: boolean): BenchCase {
  return {
    id,
    num,
    label,
    mysql: mysqlSource,
    unavailable: hasPgloader,
    async run(ctx, rep) {
      const targetUrl = await ctx.dataset.pgloaderDb();
      // pgloader names the target schema after the source schema (pg) or database (MySQL).
      const schema = mysqlSource ? BENCH_DB : 'src';
      await ctx.dataset.pgloaderQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      const from = pgloaderUrl(mysqlSource ? ctx.dataset.mysqlUrl : ctx.dataset.pgUrl);
      const only = mysqlSource
        ? "INCLUDING ONLY TABLE NAMES MATCHING 'orders'"
        : "INCLUDING ONLY TABLE NAMES MATCHING 'orders' IN SCHEMA 'src'";
      const dir = join(ctx.workDir, `${id}-${rep}`);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'load.pgloader');
      writeFileSync(file, `LOAD DATABASE\n  FROM ${from}\n  INTO ${pgloaderUrl(targetUrl)}\n  ${only};\n`);
      await ctx.dataset.pgQuery('CHECKPOINT');
      const args = ['--dynamic-space-size', '4096', '--root-dir', dir, file];
      const { seconds, result, serverCpu } = await timed(() => startMeasured('pgloader', args).done);
      expectSuccess('pgloader', result);
      const n = Number(await ctx.dataset.pgloaderQuery(`SELECT count(*) FROM ${schema}.orders`));
      if (n !== ctx.rows) {
        throw new Error(
          `pgloader: ${schema}.orders holds ${n} rows, expected ${ctx.rows}\n${result.stdout.slice(-3000)}`,
        );
      }
      return { seconds, rssMb: result.rssMb, clientCpu: result.cpuSeconds, serverCpu };
    },
  };
}

export const CASES: readonly BenchCase[] = [
  psqlCopy,
  baseline,
  copyOnly,
  fullPg,
  fullMysql,
  verifyCase('verify', '6', 'migrate verify (equal table, with cache)', []),
  verifyCase('verify-no-cache', '6b', 'migrate verify --no-cache', ['--no-cache']),
  pgloaderCase('pgloader-pg', '7a', 'pgloader pg→pg', false),
  pgloaderCase('pgloader-mysql', '7b', 'pgloader mysql→pg', true),
  wideCase('wide-pg', '8a', 'migrate pg→pg, 20 KB rows, defaults (checksum, no cache)', false),
  wideCase('wide-mysql', '8b', 'migrate mysql→pg, 20 KB rows, defaults (same)', true),
];
