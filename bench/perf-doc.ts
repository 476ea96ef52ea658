/**
 * Renders docs/performance.md from a bench run's results.json, so the published figures are always one
 * run's output, never typed by hand. `npm run bench:doc -- [results.json]` (default: the committed copy).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchReport, type CaseResult, CPU_HEADER, cpuRows } from './report.js';

/** Where the run behind docs/performance.md is kept (force-added: bench/results/ is otherwise ignored). */
export const COMMITTED_RESULTS = 'bench/results/performance.json';
export const PERFORMANCE_DOC = 'docs/performance.md';

const whole = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (n: number, digits: number) => n.toFixed(digits);
const ratio = (n: number | undefined) => (n === undefined ? '—' : `${fixed(n, 2)}×`);
const loads = (xs: number[]) => xs.map((x) => fixed(x, 2)).join(' ');

function table(header: string[], body: string[][], rightFrom = 1): string {
  const align = header.map((_, i) => (i >= rightFrom ? '--:' : '---'));
  return [header, align, ...body].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Rows/s of the pgloader case reading from the same source as `r` (7b for MariaDB, 7a for PostgreSQL). */
function pgloaderRate(r: CaseResult, cases: CaseResult[]): number | undefined {
  if (r.rows !== undefined || /^[67]/.test(r.num) || r.rowsPerSec === undefined) return undefined;
  const mysql = r.mysqlSource ?? r.id.includes('mysql');
  return cases.find((c) => c.num === (mysql ? '7b' : '7a'))?.rowsPerSec;
}

function speedTable(report: BenchReport): string {
  const withPgloader = report.cases.some((c) => c.num.startsWith('7') && c.rowsPerSec !== undefined);
  const header = ['case', 'rows', 'rows/s (median)', 'vs (1) psql COPY', 'vs (2) baseline'];
  if (withPgloader) header.push('vs pgloader');
  header.push('peak RSS MiB', 'median s', 'runs, s');
  const body = report.cases.map((r) => {
    const name = `(${r.num}) ${r.label.replaceAll('|', '\\|')}`;
    const rows = whole(r.rows ?? report.rows);
    if (r.skipped || r.failed || r.rowsPerSec === undefined) {
      const why = r.skipped ? `skipped: ${r.skipped}` : `failed: ${r.failed ?? 'no run'}`;
      return [name, rows, why.replaceAll('|', '\\|'), ...header.slice(3).map(() => '')];
    }
    const cells = [name, rows, whole(r.rowsPerSec), ratio(r.vsCopy), ratio(r.vsBaseline)];
    if (withPgloader) {
      const pgl = pgloaderRate(r, report.cases);
      cells.push(ratio(pgl === undefined ? undefined : r.rowsPerSec / pgl));
    }
    cells.push(
      whole(r.peakRssMb ?? 0),
      fixed(r.medianSeconds ?? 0, 2),
      r.runs.map((m) => fixed(m.seconds, 1)).join(' '),
    );
    return cells;
  });
  const notes = report.cases.filter((r) => r.rssNote).map((r) => `- RSS of (${r.num}): ${r.rssNote}`);
  return [table(header, body, 1), ...(notes.length ? ['', ...notes] : [])].join('\n');
}

function targetList(report: BenchReport): string {
  return report.targets
    .map((t) => {
      const verdict = t.pass === undefined ? 'not measured' : t.pass ? 'pass' : 'FAIL';
      const value =
        t.value === undefined ? '' : t.kind === 'max' ? `: ${whole(t.value)} MiB` : `: ${ratio(t.value)}`;
      return `- ${verdict}: ${t.text}${value}${t.note ? ` (${t.note})` : ''}`;
    })
    .join('\n');
}

/** "2026-12-07 22:33 to 22:38 UTC" from two ISO times (the date again only when it changed). */
function span(start: string, end: string): string {
  const [d1, t1] = [start.slice(0, 10), start.slice(11, 16)];
  const [d2, t2] = [end.slice(0, 10), end.slice(11, 16)];
  return `${d1} ${t1} to ${d2 === d1 ? '' : `${d2} `}${t2} UTC`;
}

function runSection(report: BenchReport, source: string): string {
  const { machine, load } = report;
  const peak = Math.max(...load.start, ...load.end);
  const when = report.startedAt && report.endedAt ? span(report.startedAt, report.endedAt) : 'not recorded';
  const changed = report.srcFilesChanged ? ` with ${report.srcFilesChanged} files under src/ changed` : '';
  const lines = [
    `- When: ${when}`,
    `- Command: ${report.command ? `\`${report.command}\`` : 'not recorded'}`,
    `- Commit: ${report.commit || 'unknown'}${changed}; Node ${report.node ?? 'not recorded'}`,
    `- Machine: ${machine.cores} cores${machine.cpuModel ? ` (${machine.cpuModel})` : ''}, ${fixed(machine.totalMemGiB, 0)} GiB;` +
      ' PostgreSQL, MariaDB and memcached on the same machine, over loopback',
    `- Load average (1/5/15 min): ${loads(load.start)} at the start, ${loads(load.end)} at the end`,
    `- Rows: ${whole(report.rows)} (\`orders\`)${report.wideRows ? `, ${whole(report.wideRows)} of 20 KB for (8a)/(8b)` : ''}; ${report.repeat} repetition(s) of each case`,
    `- Results: [${source}](../${source})`,
  ];
  const busy =
    peak > machine.cores
      ? `The machine was shared and busy during this run (load average up to ${fixed(peak, 2)} on ${machine.cores} cores): ` +
        'the figures compare with each other (the ratios), not with another run on a quieter machine.'
      : `The load average stayed within the machine's ${machine.cores} cores during this run.`;
  return [...lines, '', busy].join('\n');
}

const INTRO = `<!-- Generated by bench/perf-doc.ts from %SOURCE%: do not edit by hand; see "Regenerating" below. -->

# Performance

Speed and memory of \`migrate\` next to \`psql \\copy\`, a hand-written script and pgloader, as measured by
\`npm run bench\` (bench/run.ts). Every figure on this page comes from the one run described below. A
shared machine's figures vary from run to run, so compare the cases within a run: the ratio columns.`;

const CASES = `## The cases

- (1) \`psql \\copy\` of the source table piped into \`psql \\copy\` into the target: the floor for a
  PostgreSQL copy, with no conversion, check or cache.
- (2) a hand-written script (bench/baseline.ts): pg-query-stream, multi-row \`INSERT\`, memjs \`set\`.
- (3) \`migrate run\` pg→pg with \`warm: off\` and \`verify: none\`: the copy alone.
- (4) \`migrate run\` pg→pg as a plan would run it: upsert, read-through warming of three memcached servers,
  the per-batch check. (5) the same from MariaDB.
- (6) \`migrate verify\` of the table (4) wrote, with its cache entries; (6b) with \`--no-cache\`.
- (7a)/(7b) pgloader pg→pg and mysql→pg (no cache, no checks), when pgloader is installed.
- (8a)/(8b) rows of 20 KB with the plan's defaults (per-batch check, no cache): memory stays bounded by a
  batch's bytes however wide the rows.

Rows/s is the case's rows over the median wall time of its process (spawn to exit, repetitions taken
round-robin so that a change of load hits every case alike); peak RSS is the largest \`/usr/bin/time\`
reported over the repetitions. Each case checks its work outside the clock (row counts, the summary, cache
keys present), so a fast but broken run never counts.`;

const READING = `## Reading the figures

Memory is bounded by the batches in flight, not by the size of the table: a batch ends at \`batchSize\`
rows or after the row that brings it to \`maxBatchBytes\` (2 MiB as read), so wide rows make shorter
batches. \`bin/migrate.js\` starts Node with \`--max-semi-space-size=4 --heap-growing-percent=100\`: batches
live in buffers, so a default-sized young generation only holds garbage, and the old generation grows to
twice its live size between full collections rather than up to four times.

Between PostgreSQL tables of the same types a batch is never decoded into rows, and a MariaDB batch is
transcoded from the server's bytes into COPY text ([how a run works](how-it-works.md)). Comparing (3), the
copy alone, with (4) shows what the cache and the per-batch check add; the CPU table shows which process
spent it. \`MIGRATE_TIMING=1 ./bin/migrate.js run plan.yaml\` prints a run's time per pipeline stage, and
\`npm run bench -- --profile\` profiles case (4).

## Regenerating

With the test servers running (CONTRIBUTING.md):

\`\`\`sh
npm run bench -- --rows 200000 --wide-rows 30000 --repeat 1 --json --doc   # a run, then this page
npm run bench:doc -- bench/results/run-<stamp>/results.json              # from an earlier run
\`\`\`

Either copies the run's JSON to %SOURCE% and rewrites this page; commit both.`;

export function renderPerformanceDoc(report: BenchReport, source: string): string {
  const cpu = table(CPU_HEADER, cpuRows(report.cases, report.rows));
  return `${[
    INTRO.replaceAll('%SOURCE%', source),
    `## The run\n\n${runSection(report, source)}`,
    `## Speed and memory\n\n${speedTable(report)}`,
    `## Where the CPU went\n\nCPU seconds during the measured time, medians over the repetitions (servers read from /proc, the client from /usr/bin/time):\n\n${cpu}`,
    `## Targets (issue 10)\n\n${targetList(report)}`,
    CASES,
    READING.replaceAll('%SOURCE%', source),
  ].join('\n\n')}\n`;
}

/** Copies `resultsFile` to COMMITTED_RESULTS and writes PERFORMANCE_DOC from it; returns both paths. */
export function writePerformanceDoc(repo: string, resultsFile: string): string[] {
  let report: BenchReport;
  try {
    report = JSON.parse(readFileSync(resultsFile, 'utf8')) as BenchReport;
  } catch (err) {
    throw new Error(`${resultsFile}: ${err instanceof Error ? err.message : err}`);
  }
  if (!Array.isArray(report?.cases) || !Array.isArray(report.load?.start))
    throw new Error(`${resultsFile}: not a results.json of \`npm run bench\``);
  const committed = resolve(repo, COMMITTED_RESULTS);
  mkdirSync(dirname(committed), { recursive: true });
  if (resolve(resultsFile) !== committed) copyFileSync(resultsFile, committed);
  const doc = resolve(repo, PERFORMANCE_DOC);
  writeFileSync(doc, renderPerformanceDoc(report, COMMITTED_RESULTS));
  return [committed, doc].map((p) => relative(repo, p));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const input = process.argv[2] ? resolve(process.argv[2]) : resolve(repo, COMMITTED_RESULTS);
  try {
    console.log(`wrote ${writePerformanceDoc(repo, input).join(' and ')}`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
