/**
 * `migrate validate <plan> [--offline]`: the plan's schema and environment; online (the default) also
 * connects to the source, the target and every cache server and resolves every table against them.
 * Output: a short summary (URLs masked), or with `--json` one event per line; problems also as GitHub
 * annotations with `--format github` or under GitHub Actions (not with `--json`: stdout stays JSON only).
 */

import { loadCheckedPlan } from '../../db/plan-checks.js';
import { preflight } from '../../engine/preflight.js';
import { selectTables } from '../../engine/select-tables.js';
import { ExitCode, PlanError, type PlanIssue } from '../../errors.js';
import type { LoadedPlan } from '../../plan/load.js';
import { type Plan, type PlanTable, targetName } from '../../plan/schema.js';
import { maskUrl } from '../../secrets.js';
import { type CommonOptions, tableFilter } from '../options.js';
import { errorEvent } from '../output/error-event.js';
import { githubAnnotation, wantsGithubAnnotations } from '../output/github-annotation.js';
import { withPlanPositions } from './plan-positions.js';

export async function validateCommand(planPath: string, opts: CommonOptions): Promise<void> {
  let loaded: LoadedPlan;
  try {
    loaded = await loadCheckedPlan(planPath);
  } catch (error) {
    if (!(error instanceof PlanError)) throw error;
    if (opts.json) {
      reportJson(error.issues);
      print(JSON.stringify(errorEvent(error, ExitCode.usage)));
      process.exitCode = ExitCode.usage;
      return;
    }
    if (wantsGithubAnnotations(opts)) for (const issue of error.issues) print(githubAnnotation(issue));
    throw error;
  }

  const tables = selectTables(loaded.plan, tableFilter(opts)).map((i) => loaded.plan.tables[i]!);
  if (!opts.offline) return validateOnline(loaded, opts);
  if (opts.json) print(JSON.stringify(summaryEvent(loaded, tables)));
  else if (opts.quiet) print(`plan ${loaded.plan.name} is valid (offline)`);
  else print(summaryText(loaded, tables).join('\n'));
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function reportJson(issues: PlanIssue[]): void {
  for (const { file, line, col, path, message } of issues) {
    print(JSON.stringify({ event: 'plan-error', file, line, col, path, message }));
  }
  print(JSON.stringify({ event: 'validate', ok: false, errors: issues.length }));
}

function sourceLabel(table: PlanTable): string {
  return typeof table.source === 'string' ? table.source : '(query)';
}

function tableNotes(table: PlanTable): string {
  const notes: string[] = [];
  if (table.key) notes.push(`key ${table.key.join(', ')}`);
  if (table.where) notes.push('filtered by where');
  const mapping = Object.values(table.columns ?? {});
  const dropped = mapping.filter((v) => v === false).length;
  const renamed = mapping.length - dropped;
  if (renamed > 0) notes.push(`${renamed} renamed`);
  if (dropped > 0) notes.push(`${dropped} dropped`);
  if (table.cache?.key) notes.push(`cache ${table.cache.key}`);
  return notes.length > 0 ? `  (${notes.join('; ')})` : '';
}

function cacheLine(plan: Plan): string {
  const cache = plan.cache;
  if (!cache) return 'none';
  const where =
    cache.driver === 'memory'
      ? 'in-memory'
      : `memcached ${cache.servers?.join(', ') ?? ''} (${cache.distribution})`;
  const ttl = cache.ttl === 0 ? 'no expiry' : `ttl ${cache.ttl}s`;
  const prefix = cache.prefix ? `, prefix ${JSON.stringify(cache.prefix)}` : '';
  return `${where}; warm ${cache.warm}, ${ttl}${prefix}`;
}

function summaryText(loaded: LoadedPlan, tables: PlanTable[]): string[] {
  const { plan } = loaded;
  return [
    `plan ${plan.name} (${loaded.file}) is valid — offline check: file and environment only`,
    `  source  ${maskUrl(plan.source.url)}`,
    `  target  ${maskUrl(plan.target.url)}`,
    `  cache   ${cacheLine(plan)}`,
    `  tables  ${tables.length}`,
    ...tables.map((t) => `    ${sourceLabel(t)} -> ${targetName(t)}${tableNotes(t)}`),
  ];
}

function summaryEvent(loaded: LoadedPlan, tables: PlanTable[]) {
  const { plan } = loaded;
  return {
    event: 'validate',
    ok: true,
    offline: true,
    file: loaded.file,
    plan: plan.name,
    hash: loaded.hash,
    source: maskUrl(plan.source.url),
    target: maskUrl(plan.target.url),
    cache: plan.cache
      ? {
          driver: plan.cache.driver,
          servers: plan.cache.servers ?? [],
          distribution: plan.cache.distribution,
          warm: plan.cache.warm,
        }
      : null,
    tables: tables.map((t) => ({ source: sourceLabel(t), target: targetName(t) })),
  };
}

async function validateOnline(loaded: LoadedPlan, opts: CommonOptions): Promise<void> {
  const { plan } = loaded;
  const pre = await withPlanPositions(loaded, opts, () =>
    preflight(plan, tableFilter(opts), { sampleKeys: true }),
  );
  try {
    const tables = pre.mappings.map((m) => ({
      table: m.label,
      estimatedRows: m.estimatedRows,
      key: m.key.map((i) => m.targetColumns[i]!.name),
      columns: m.targetColumns.length,
      cache: m.cache !== null,
      createSql: m.createSql,
    }));
    if (opts.json) {
      print(JSON.stringify({ event: 'validate', ok: true, offline: false, plan: plan.name, tables }));
      return;
    }
    print(
      `plan ${plan.name} (${loaded.file}) is valid — online: servers reachable, tables, columns, keys and types checked`,
    );
    print(`  source  ${pre.source.display}`);
    print(`  target  ${pre.target.display}`);
    print(`  cache   ${cacheLine(plan)}`);
    for (const t of tables) {
      const key = t.key.length ? `key ${t.key.join(', ')}` : 'no key: copied in one transaction';
      print(`    ${t.table}: ~${t.estimatedRows.toLocaleString('en-US')} rows, ${t.columns} columns, ${key}`);
      if (t.createSql) {
        print(
          '      not in the target yet: `migrate run` creates it (createTables); --dry-run shows the DDL',
        );
      }
    }
  } finally {
    await pre.close();
  }
}
