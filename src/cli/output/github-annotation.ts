/** Plan problems as GitHub Actions annotations on the plan's lines: when they are printed, and how. */
import type { PlanIssue } from '../../errors.js';
import type { CommonOptions } from '../options.js';

/** `--format github`, or no `--format` under GitHub Actions. */
export function wantsGithubAnnotations(opts: CommonOptions): boolean {
  return opts.format === 'github' || (opts.format === undefined && process.env.GITHUB_ACTIONS === 'true');
}

/** A GitHub Actions workflow command; its data and properties have their own escaping. */
export function githubAnnotation(issue: PlanIssue): string {
  const data = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const property = (s: string) => data(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
  const text = issue.path ? `${issue.path}: ${issue.message}` : issue.message;
  return `::error file=${property(issue.file)},line=${issue.line},col=${issue.col}::${data(text)}`;
}
