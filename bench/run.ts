/**
 * `npm run bench`: the speed and memory benchmark of issue 10 (not part of `npm test`).
 *
 *   npm run bench -- [--rows 1000000] [--wide-rows 300000] [--cases 1,2,full-pg,...] [--repeat 3] [--keep] [--json]
 *                    [--profile] [--cli bin/migrate.js] [--cli-args "--workers 2"] [--doc]
 *
 * Generates `orders` (N rows) in PostgreSQL and MariaDB (bench/dataset.ts), then measures each case
 * `--repeat` times, round-robin (rep 1 of every case, then rep 2, ...) so a change in machine load hits
 * every case alike, and prints rows/s (median), the ratios against (1) psql \copy and (2) the hand-written
 * baseline, peak RSS (/usr/bin/time -v) and the issue's targets with pass/fail.
 *
 * Cases (ids or numbers for --cases): 1 psql-copy, 2 baseline, 3 copy-only, 4 full-pg, 5 full-mysql,
 * 6 verify, 6b verify-no-cache, 7 = 7a pgloader-pg + 7b pgloader-mysql (skipped when pgloader is missing),
 * 8 = 8a wide-pg + 8b wide-mysql: `--wide-rows` rows of 20 KB (bench/wide.ts), default settings.
 *
 * The CLI under test is a snapshot of bin/ and dist/ taken at start (others may rebuild dist/ meanwhile),
 * unless --cli names one; it is started as users start it (bin/migrate.js, which picks Node's heap flags).
 * `--profile` instead runs case (4) once under `node --cpu-prof` and prints the top 25
 * functions by self time (bench/profile.ts). Everything a run writes goes to bench/results/run-<stamp>/
 * (plans, pgloader logs, results.json, profiles; the dist/ snapshot is removed at the end). Servers: TEST_PG_URL, TEST_MYSQL_URL,
 * TEST_MEMCACHED_SERVERS (`eval "$(bash scripts/services.sh env)"`), defaulting to that script's ports;
 * MIGRATE_BENCH_DB names the bench database when another bench runs against the same servers.
 * `--doc` then renders docs/performance.md from this run's results.json (bench/perf-doc.ts).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ts from 'typescript';
import { type BenchCase, type BenchContext, CASES } from './cases.js';
import { BENCH_DB, type Dataset, prepareDataset } from './dataset.js';
import { haveTime, TIME_BIN } from './measure.js';
import { deleteOrderKeys } from './memcached-keys.js';
import { writePerformanceDoc } from './perf-doc.js';
import { formatSummary, profileFiles, summarize } from './profile.js';
import {
  type BenchReport,
  type CaseResult,
  finishResults,
  formatCpu,
  formatTable,
  formatTargets,
  targets,
} from './report.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    cases: { type: 'string', default: 'all' },
    repeat: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    cli: { type: 'string' },
    'cli-args': { type: 'string', default: '' },
    'wide-rows': { type: 'string', default: '300000' },
    doc: { type: 'boolean', default: false },
  },
});

/** With --json, stdout carries only the result; progress goes to stderr. */
const log = (line: string) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);

function positive(name: string, text: string): number {
  const n = Number(text.replaceAll('_', ''));
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name}: expected a positive whole number, got "${text}"`);
  return n;
}

function selectCases(spec: string): BenchCase[] {
  if (spec === 'all') return [...CASES];
  const wanted = spec.split(',').map((s) => s.trim().toLowerCase());
  const picked = CASES.filter((c) =>
    wanted.some((w) => w === c.id || w === c.num || (/^[78]$/.test(w) && c.num.startsWith(w))),
  );
  const unknown = wanted.filter(
    (w) => !CASES.some((c) => w === c.id || w === c.num || (/^[78]$/.test(w) && c.num.startsWith(w))),
  );
  if (unknown.length) {
    throw new Error(
      `--cases: unknown ${unknown.join(', ')}; known: ${CASES.map((c) => `${c.num} ${c.id}`).join(', ')}`,
    );
  }
  return picked;
}

function loadavg(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

function git(argv: string[]): string {
  try {
    return execFileSync('git', argv, { cwd: REPO, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/** bin/ and dist/ copied next to a package.json (main.js reads ../../package.json): the run tests one build. */
function snapshotCli(runDir: string): string {
  const dist = join(REPO, 'dist');
  if (!existsSync(join(dist, 'cli', 'main.js')))
    throw new Error('dist/cli/main.js missing: run `npm run build`');
  const snap = join(runDir, 'build');
  cpSync(dist, join(snap, 'dist'), { recursive: true });
  cpSync(join(REPO, 'bin'), join(snap, 'bin'), { recursive: true });
  copyFileSync(join(REPO, 'package.json'), join(snap, 'package.json'));
  return join(snap, 'bin', 'migrate.js');
}

/** The baseline as plain JS next to the repo's node_modules, so it runs (and is measured) without tsx. */
function transpileBaseline(runDir: string): string {
  const source = readFileSync(join(REPO, 'bench', 'baseline.ts'), 'utf8');
  const out = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  const file = join(runDir, 'baseline.mjs');
  writeFileSync(file, out.outputText);
  return file;
}

/** How this run was started, as a user would type it again (recorded in results.json and the doc). */
function commandLine(): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`);
  const argv = process.argv.slice(2);
  return `npm run bench${argv.length ? ` -- ${argv.map(quote).join(' ')}` : ''}`;
}

function servers() {
  const env = (name: string) => process.env[name]?.trim() || undefined;
  return {
    pgAdminUrl: env('TEST_PG_URL') ?? 'postgres://migrate:migrate@127.0.0.1:55432/migrate',
    mysqlAdminUrl: env('TEST_MYSQL_URL') ?? 'mysql://migrate:migrate@127.0.0.1:53306/migrate',
    memcached: (env('TEST_MEMCACHED_SERVERS') ?? '127.0.0.1:51211,127.0.0.1:51212,127.0.0.1:51213')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

async function measureCases(ctx: BenchContext, cases: BenchCase[], repeat: number): Promise<CaseResult[]> {
  const results: CaseResult[] = cases.map((c) => ({
    id: c.id,
    num: c.num,
    label: c.label,
    migrate: Boolean(c.migrate),
    mysqlSource: Boolean(c.mysql),
    ...(c.rows ? { rows: c.rows(ctx) } : {}),
    runs: [],
    skipped: c.unavailable?.() ?? undefined,
  }));
  for (let rep = 1; rep <= repeat; rep++) {
    for (const [i, c] of cases.entries()) {
      const r = results[i]!;
      if (r.skipped || r.failed) continue;
      try {
        const m = await c.run(ctx, rep);
        r.runs.push(m);
        log(
          `(${c.num}) ${c.id} rep ${rep}/${repeat}: ${m.seconds.toFixed(2)} s, ` +
            `${Math.round((r.rows ?? ctx.rows) / m.seconds).toLocaleString('en-US')} rows/s, ${m.rssMb.toFixed(0)} MB` +
            `${m.reportedSeconds !== undefined ? ` (migrate's own summary: ${m.reportedSeconds.toFixed(2)} s)` : ''}` +
            `${m.note ? `, ${m.note}` : ''}  [load ${loadavg()}]`,
        );
      } catch (err) {
        r.failed = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200);
        log(
          `(${c.num}) ${c.id} rep ${rep}/${repeat}: FAILED\n${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
  }
  return results;
}

async function profileRun(ctx: BenchContext, runDir: string): Promise<void> {
  const dir = join(runDir, 'profile');
  mkdirSync(dir, { recursive: true });
  const fullPg = CASES.find((c) => c.id === 'full-pg')!;
  const flags = ['--cpu-prof', '--cpu-prof-dir', dir];
  const m = await fullPg.run({ ...ctx, nodeFlags: flags, cliEnv: { MIGRATE_TIMING: '1' } }, 1);
  log(
    `(4) full-pg under --cpu-prof: ${m.seconds.toFixed(2)} s, ${Math.round(ctx.rows / m.seconds).toLocaleString('en-US')} rows/s, ${m.rssMb.toFixed(0)} MB`,
  );
  const files = profileFiles(dir);
  if (files.length === 0) throw new Error(`no .cpuprofile written to ${dir}`);
  if (m.stageTiming) log(`stage times the CLI reported (MIGRATE_TIMING=1):\n${m.stageTiming.join('\n')}`);
  log(`profiles in ${dir}\n`);
  log(formatSummary(summarize(files), 25));
}

async function main(): Promise<void> {
  const rows = positive('rows', args.rows);
  const wideRows = positive('wide-rows', args['wide-rows']);
  const repeat = positive('repeat', args.repeat);
  const cases = args.profile ? CASES.filter((c) => c.id === 'full-pg') : selectCases(args.cases);
  if (!haveTime()) throw new Error(`${TIME_BIN} is missing: apt-get install -y time`);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const runDir = join(REPO, 'bench', 'results', `run-${stamp}`);
  mkdirSync(runDir, { recursive: true });
  const srv = servers();
  const startedAt = new Date().toISOString();
  const loadStart = os.loadavg();
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--', 'src']).split('\n').filter(Boolean).length;
  log(
    `cache-migrate bench: ${rows.toLocaleString('en-US')} rows, ` +
      `${args.profile ? 'profile of case 4' : `repeat ${repeat}, cases ${cases.map((c) => c.num).join(',')}`}; ` +
      `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; commit ${commit}${dirty ? ` + ${dirty} changed files in src/` : ''}`,
  );
  log(`load average at start (1/5/15 min): ${loadavg()}`);
  const cli = args.cli ? resolve(args.cli) : snapshotCli(runDir);
  log(`CLI under test: ${cli}; results in ${runDir}`);

  const needsMysql = cases.some((c) => c.mysql && !c.unavailable?.());
  let dataset: Dataset | undefined;
  let ctx: BenchContext | undefined;
  let results: CaseResult[] = [];
  try {
    dataset = await prepareDataset(srv, rows, { mysql: needsMysql, log });
    ctx = {
      rows,
      wideRows,
      dataset,
      memcached: srv.memcached,
      cli,
      cliArgs: args['cli-args'].split(/\s+/).filter(Boolean),
      baselineJs: transpileBaseline(runDir),
      workDir: runDir,
      runId: stamp.replace('-', ''),
      nodeFlags: [],
      log,
      pendingKeys: [],
    };
    if (args.profile) {
      await profileRun(ctx, runDir);
      return;
    }
    results = await measureCases(ctx, cases, repeat);
  } finally {
    // The snapshot is only for this run (and would otherwise be linted as part of bench/).
    if (!args.cli) rmSync(join(runDir, 'build'), { recursive: true, force: true });
    if (ctx) for (const p of ctx.pendingKeys.splice(0)) await deleteOrderKeys(ctx.memcached, p, rows);
    if (dataset) {
      if (args.keep) {
        await dataset.close();
        log(`--keep: the ${BENCH_DB} databases are kept (reused by the next run with the same --rows)`);
      } else await dataset.drop();
    }
  }

  const loadEnd = os.loadavg();
  finishResults(results, rows);
  const goals = targets(results);
  log('');
  log(formatTable(results, rows, repeat));
  log('');
  log(formatCpu(results, rows));
  log('');
  log(formatTargets(goals));
  log('');
  log(`load average (1/5/15 min): start ${loadStart.map((x) => x.toFixed(2)).join(' ')}, end ${loadavg()}`);
  const report: BenchReport = {
    rows,
    wideRows,
    repeat,
    commit,
    srcFilesChanged: dirty,
    command: commandLine(),
    startedAt,
    endedAt: new Date().toISOString(),
    node: process.version,
    machine: {
      cores: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? '',
      totalMemGiB: os.totalmem() / 2 ** 30,
    },
    load: { start: loadStart, end: loadEnd },
    cases: results,
    targets: goals,
  };
  const resultsFile = join(runDir, 'results.json');
  writeFileSync(resultsFile, `${JSON.stringify(report, null, 2)}\n`);
  if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  if (args.doc) log(`wrote ${writePerformanceDoc(REPO, resultsFile).join(' and ')}`);
  if (results.some((r) => r.failed)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
