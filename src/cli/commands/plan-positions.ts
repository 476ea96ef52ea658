/**
 * Problems the databases reveal (a missing table or column, an unusable key, an incompatible type) are
 * plan problems: this turns them into PlanErrors pointing at the plan's lines, printed like offline ones
 * (and as GitHub annotations where asked), exit 2.
 */
import { PlanError, type PlanIssue, renderPlanPath, SchemaError } from '../../errors.js';
import type { LoadedPlan } from '../../plan/load.js';
import type { CommonOptions } from '../options.js';
import { githubAnnotation, wantsGithubAnnotations } from '../output/github-annotation.js';

export async function withPlanPositions<T>(
  loaded: LoadedPlan,
  opts: CommonOptions,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof SchemaError) || error.problems.length === 0) throw error;
    const issues: PlanIssue[] = error.problems.map((p) => {
      const pos = loaded.positionOf(p.path);
      return {
        file: loaded.file,
        line: pos.line,
        col: pos.col,
        path: renderPlanPath(p.path),
        message: p.message,
      };
    });
    if (opts.json) {
      for (const i of issues) process.stdout.write(`${JSON.stringify({ event: 'plan-error', ...i })}\n`);
    } else if (wantsGithubAnnotations(opts)) {
      for (const i of issues) process.stdout.write(`${githubAnnotation(i)}\n`);
    }
    throw new PlanError(issues, { cause: error, hint: error.hint ?? 'fix the plan or the target schema' });
  }
}
