/**
 * The checks of a plan that need a database's own rules but no connection: the TLS parameters of its URLs
 * (tls-check.ts) and its raw SQL, `where` and `source: { query }` (sql-fragment.ts). Every command loads its
 * plan through here (`validate --offline` included), so these mistakes are plan errors at their line and
 * column before anything connects; the plan layer itself knows no database.
 */
import { PlanError, type PlanIssue, renderPlanPath } from '../errors.js';
import { type LoadedPlan, loadPlan } from '../plan/load.js';
import type { PlanPath } from '../plan/yaml-positions.js';
import { sourceSqlProblem } from './open.js';
import { tlsProblem } from './tls-check.js';

const HINT = 'see migrations.example.yaml for a commented plan';

/** loadPlan, then the checks above: a PlanError naming every problem found. */
export async function loadCheckedPlan(file: string): Promise<LoadedPlan> {
  const loaded = await loadPlan(file);
  const issues = dialectIssues(loaded);
  if (issues.length > 0) throw new PlanError(issues, { hint: HINT });
  return loaded;
}

function dialectIssues(loaded: LoadedPlan): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const add = (path: PlanPath, message: string) =>
    issues.push({ file: loaded.file, ...loaded.positionOf(path), path: renderPlanPath(path), message });
  const { plan } = loaded;
  for (const side of ['source', 'target'] as const) {
    const problem = tlsProblem(plan[side].url);
    if (problem) add([side, 'url'], problem);
  }
  plan.tables.forEach((table, i) => {
    const [text, path, kind] =
      typeof table.source === 'object'
        ? [table.source.query, ['tables', i, 'source', 'query'], 'query' as const]
        : [table.where, ['tables', i, 'where'], 'where' as const];
    if (text === undefined) return;
    const problem = sourceSqlProblem(plan.source.url, text, kind);
    if (problem) {
      const at = problem.offset === null ? '' : ` (at character ${problem.offset + 1})`;
      add(path, `${problem.message}${at}`);
    }
  });
  return issues;
}
