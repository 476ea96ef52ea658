// The steps of a type-matrix case through the built CLI: write a plan, run, verify, read the --json summary
// and the mismatch/reject reports, compare both databases with the test's own rules, corrupt seeded cells
// and cache entries.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { type CliResult, ndjson, runCli, writePlan } from '../cli.js';
import { parseHostPort, testServers } from '../env.js';
import { findKeys, setOn } from '../memcached-many.js';
import type { ColumnSpec, Rand } from './columns.js';
import { type Cls, normalize } from './normalize.js';
import type { Side } from './sides.js';

export interface PlanOptions {
  source: Side;
  target: Side;
  /** `source: target` pairs. */
  tables: { source: string; target: string; where?: string; cacheKey?: string }[];
  createTables?: boolean;
  /** A memcached prefix: the plan caches each table's rows under `<prefix><cacheKey>`. */
  cachePrefix?: string;
  /** More `defaults:` lines, e.g. `invalid: skip`, `zeroDates: null`. */
  defaults?: string[];
  batchSize?: number;
}

export interface PlanFile {
  file: string;
  name: string;
  dir: string;
}

export function matrixPlan(o: PlanOptions): PlanFile {
  const name = `matrix-${randomBytes(4).toString('hex')}`;
  const cache =
    o.cachePrefix === undefined
      ? ''
      : `cache:\n  servers: [${testServers.memcachedServers.join(', ')}]\n  prefix: "${o.cachePrefix}"\n`;
  const defaults = [
    `batchSize: ${o.batchSize ?? 50}`,
    ...(o.createTables ? ['createTables: true'] : []),
    ...(o.defaults ?? []),
  ];
  const tables = o.tables.map((t) =>
    [
      `  - source: ${t.source}`,
      `    target: ${t.target}`,
      ...(t.where ? [`    where: "${t.where}"`] : []),
      ...(t.cacheKey ? [`    cache: { key: "${t.cacheKey}" }`] : []),
    ].join('\n'),
  );
  const file = writePlan(`version: 1
name: ${name}
source:
  url: ${o.source.url}
target:
  url: ${o.target.url}
${cache}defaults:
${defaults.map((d) => `  ${d}`).join('\n')}
tables:
${tables.join('\n')}
`);
  return { file, name, dir: dirname(file) };
}

interface Counts {
  read?: number;
  written?: number;
  skipped?: number;
  verified?: number;
  cached?: number;
  mismatches?: number;
}

interface Summary {
  ok?: boolean;
  tables: { table: string; counts: Counts }[];
}

export interface Report {
  table: string;
  key: string;
  in: string;
  problem: string;
  columns?: string[];
}

export interface Step {
  result: CliResult;
  summary: Summary | undefined;
  /** The mismatches report of this step (none: []). */
  mismatches: Report[];
}

/**
 * `migrate <command> plan --json` (or as a user sees it, with `--no-progress`); the report files of an
 * earlier step are removed first.
 */
export async function cli(command: 'run' | 'verify', plan: PlanFile, json = true): Promise<Step> {
  const report = join(plan.dir, `${plan.name}.mismatches.ndjson`);
  rmSync(report, { force: true });
  const result = await runCli([command, plan.file, json ? '--json' : '--no-progress']);
  let summary: Summary | undefined;
  if (json) {
    try {
      summary = ndjson<{ event: string } & Summary>(result.stdout).find((e) => e.event === 'summary');
    } catch {
      summary = undefined;
    }
  }
  const mismatches = existsSync(report) ? ndjson<Report>(readFileSync(report, 'utf8')) : [];
  return { result, summary, mismatches };
}

/** A step's exit code, stderr and reports grouped by kind and columns, for assertion messages. */
export function describeStep(step: Step): string {
  const groups = new Map<string, string[]>();
  for (const m of step.mismatches) {
    const kind = `${m.in} ${m.problem}${m.columns ? ` (columns: ${m.columns.join(', ')})` : ''}`;
    groups.set(kind, [...(groups.get(kind) ?? []), m.key]);
  }
  const report = [...groups.entries()].map(
    ([kind, keys]) => `${kind}: ${keys.length} keys, e.g. ${keys.slice(0, 3).join(' ')}`,
  );
  const stderr = step.result.stderr
    .split('\n')
    .filter((l) => !l.startsWith('mismatch: '))
    .join(' ')
    .trim();
  return `exit ${step.result.code}; stderr: ${stderr.slice(0, 1200)}; report: ${report.join(' | ') || 'none'}`;
}

export function rejects(plan: PlanFile): { table: string; key: string; column?: string }[] {
  const file = join(plan.dir, `${plan.name}.rejects.ndjson`);
  return existsSync(file) ? ndjson(readFileSync(file, 'utf8')) : [];
}

export interface CellDiff {
  id: string;
  column: string;
  source: string | null;
  target: string | null;
}

type Rows = Map<string, Record<string, unknown>>;

function norm(cls: Cls, v: unknown, where: string): string | null {
  try {
    return normalize(cls, v);
  } catch (error) {
    return `<${where}: ${(error as Error).message}>`;
  }
}

/** Every cell that differs by the test's rules; rows only on one side as column `(row)`. */
export function diffRows(columns: ColumnSpec[], source: Rows, target: Rows, ids: string[]): CellDiff[] {
  const out: CellDiff[] = [];
  for (const id of ids) {
    const s = source.get(id);
    const t = target.get(id);
    if (!s || !t) {
      out.push({ id, column: '(row)', source: s ? 'present' : null, target: t ? 'present' : null });
      continue;
    }
    for (const c of columns) {
      const a = norm(c.cls, s[c.name], 'source');
      const b = norm(c.cls, t[c.name], 'target');
      if (a !== b) out.push({ id, column: c.name, source: a, target: b });
    }
  }
  for (const id of target.keys())
    if (!ids.includes(id)) out.push({ id, column: '(row)', source: null, target: 'extra' });
  return out;
}

/** Diffs grouped by column: how many, and the first example of each, for assertion messages. */
export function showDiffs(diffs: CellDiff[]): string {
  const cut = (v: string | null) =>
    v === null ? 'NULL' : JSON.stringify(v.length > 70 ? `${v.slice(0, 70)}…` : v);
  const byColumn = new Map<string, CellDiff[]>();
  for (const d of diffs) byColumn.set(d.column, [...(byColumn.get(d.column) ?? []), d]);
  const shown = [...byColumn.entries()].map(
    ([column, ds]) =>
      `${column} (${ds.length} rows, e.g. id=${ds[0]!.id}: source ${cut(ds[0]!.source)} target ${cut(ds[0]!.target)})`,
  );
  return `${diffs.length} differing cells: ${shown.join('; ')}`;
}

/**
 * Changes `k` cells of `k` distinct rows of the target: each takes the value the same column holds in
 * another row where that differs by the test's rules. Returns the changed ids.
 */
export async function corruptTarget(
  side: Side,
  table: string,
  columns: ColumnSpec[],
  rows: Rows,
  k: number,
  rand: Rand,
  avoid: Set<string>,
): Promise<string[]> {
  const ids = [...rows.keys()].filter((id) => !avoid.has(id));
  const changed: string[] = [];
  while (changed.length < k) {
    const id = ids[rand() % ids.length]!;
    if (changed.includes(id)) continue;
    const c = columns[rand() % columns.length]!;
    const mine = norm(c.cls, rows.get(id)![c.name], 'target');
    const others = ids.filter((o) => norm(c.cls, rows.get(o)![c.name], 'target') !== mine);
    if (others.length === 0) continue;
    await side.copyCell(table, c.name, id, others[rand() % others.length]!);
    changed.push(id);
  }
  return changed;
}

function deleteOn(server: string, key: string): Promise<void> {
  const { host, port } = parseHostPort(server);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => {
      socket.end();
      if (d.toString().startsWith('DELETED')) resolve();
      else reject(new Error(`memcached ${server}: delete ${key}: ${d.toString().trim()}`));
    });
    socket.write(`delete ${key}\r\n`);
  });
}

/**
 * Spoils `k` cache entries of distinct rows under `prefix + template(id)`: alternately a stale value
 * (`different`) and a deleted entry (`missing`). Returns the reports `migrate verify` must give.
 */
export async function corruptCache(
  prefix: string,
  keyOf: (id: string) => string,
  table: string,
  ids: string[],
  k: number,
  rand: Rand,
  avoid: Set<string>,
): Promise<Report[]> {
  const candidates = ids.filter((id) => !avoid.has(id));
  const chosen: string[] = [];
  while (chosen.length < k * 3 && chosen.length < candidates.length) {
    const id = candidates[rand() % candidates.length]!;
    if (!chosen.includes(id)) chosen.push(id);
  }
  const found = await findKeys(
    testServers.memcachedServers,
    chosen.map((id) => `${prefix}${keyOf(id)}`),
  );
  const out: Report[] = [];
  for (const id of chosen) {
    if (out.length === k) break;
    const key = `${prefix}${keyOf(id)}`;
    const entry = found.get(key);
    if (!entry) continue;
    const stale = out.length % 2 === 0;
    for (const server of entry.servers) {
      if (stale) await setOn(server, key, '{"stale":true}');
      else await deleteOn(server, key);
    }
    out.push({ table, key: `id=${id}`, in: 'cache', problem: stale ? 'different' : 'missing' });
  }
  if (out.length < k) throw new Error(`only ${out.length} of ${k} cache entries found to spoil`);
  return out;
}

export const reportSet = (reports: Report[]): string[] =>
  reports.map((r) => `${r.table} ${r.key} ${r.in} ${r.problem}`).sort();
