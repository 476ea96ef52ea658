/**
 * Typed errors, and the one place that maps them to exit codes (README.md "Exit codes").
 * Every error says what went wrong, where, and what to do; the original error rides along as `cause`.
 */

export const ExitCode = {
  ok: 0,
  runtime: 1,
  usage: 2,
  mismatch: 3,
  locked: 4,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class MigrateError extends Error {
  abstract readonly exitCode: ExitCode;
  /** What the user should do about it; printed after the message. */
  readonly hint: string | undefined;

  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** One problem found in a plan file, with its position. */
export interface PlanIssue {
  file: string;
  line: number;
  col: number;
  /** Path inside the plan as `renderPlanPath` prints it: `tables[1].cache.key`; empty for the whole file. */
  path: string;
  message: string;
}

export function formatPlanIssue(issue: PlanIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** The plan file is invalid: bad YAML, schema errors, missing environment variables. Exit 2. */
export class PlanError extends MigrateError {
  readonly exitCode = ExitCode.usage;
  readonly issues: PlanIssue[];

  constructor(issues: PlanIssue[], options?: { cause?: unknown; hint?: string }) {
    const head = issues.length === 1 ? 'the plan has 1 error' : `the plan has ${issues.length} errors`;
    super(`${head}:\n${issues.map((i) => `  ${formatPlanIssue(i)}`).join('\n')}`, options);
    this.issues = issues;
  }
}

/** Bad flags or arguments. Exit 2. */
export class UsageError extends MigrateError {
  readonly exitCode = ExitCode.usage;
}

/** A server could not be reached or was lost beyond retries. `target` is a masked URL or host:port. Exit 1. */
export class ConnectionError extends MigrateError {
  readonly exitCode = ExitCode.runtime;
  readonly target: string;

  constructor(target: string, message: string, options?: { cause?: unknown; hint?: string }) {
    super(`${target}: ${message}`, options);
    this.target = target;
  }
}

/** A value that cannot be moved as it is: names the table, key, column and an excerpt of the value. Exit 1. */
export class DataError extends MigrateError {
  readonly exitCode = ExitCode.runtime;
  readonly table: string;
  readonly key: string | undefined;
  readonly column: string | undefined;

  constructor(
    where: { table: string; key?: string; column?: string },
    message: string,
    options?: { cause?: unknown; hint?: string },
  ) {
    const parts = [`table ${where.table}`];
    if (where.key !== undefined) parts.push(`key ${where.key}`);
    if (where.column !== undefined) parts.push(`column ${where.column}`);
    super(`${parts.join(', ')}: ${message}`, options);
    this.table = where.table;
    this.key = where.key;
    this.column = where.column;
  }
}

/** The databases disagree with the plan (missing table, unusable key, changed mapping). Exit 2. */
export interface SchemaProblem {
  /** Path in the plan, e.g. ['tables', 1, 'cache', 'key'], so the CLI can point at the plan's line. */
  path: (string | number)[];
  message: string;
}

/**
 * A path inside the plan as messages print it: `tables[1].cache.key`; keys that are not plain names are
 * quoted, `columns["first name"]`, so the path stays readable whatever a column is called.
 */
export function renderPlanPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(step)) out += out ? `.${step}` : step;
    else out += `[${JSON.stringify(step)}]`;
  }
  return out;
}

export class SchemaError extends MigrateError {
  readonly exitCode = ExitCode.usage;
  readonly problems: SchemaProblem[];

  constructor(message: string, options?: { cause?: unknown; hint?: string; problems?: SchemaProblem[] }) {
    super(message, options);
    this.problems = options?.problems ?? [];
  }
}

/** Any other failure at run time (target rejected rows, cache required but down). Exit 1. */
export class RuntimeError extends MigrateError {
  readonly exitCode = ExitCode.runtime;
}

/** Verification found differences. Exit 3. */
export class MismatchError extends MigrateError {
  readonly exitCode = ExitCode.mismatch;
}

/** Another run of this plan holds a live lease. Exit 4. */
export class LockedError extends MigrateError {
  readonly exitCode = ExitCode.locked;
}

/** A capability this version does not have yet. Exit 1: never a pretend success. */
export class NotYetError extends MigrateError {
  readonly exitCode = ExitCode.runtime;

  constructor(what: string, hint = 'see the README for what works today') {
    super(`${what} is not built yet in this version of cache-migrate`, { hint });
  }
}

export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof MigrateError ? error.exitCode : ExitCode.runtime;
}
