/**
 * zod's issues turned into plan errors: what was found and what is valid, at the node that wrote it, with
 * "did you mean" for misspelt keys and values, and never a value that may be a secret.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${NAME}` is the plan's own syntax, quoted in messages.

import { isSchemeUrl, maskUrl } from '../secrets.js';
import type { Interpolation } from './env-interpolation.js';
import { isSecretPath } from './plan-secrets.js';
import { keysAt } from './schema-keys.js';
import { suggest } from './suggest.js';
import type { PlanPath, PlanSource } from './yaml-positions.js';

/** The parts of a zod issue read here (zod's own types differ per code). */
export interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: string;
  values?: unknown[];
  keys?: string[];
  errors?: ZodIssueLike[][];
  origin?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
}

interface Explained {
  path: PlanPath;
  message: string;
  at?: 'key' | 'value';
}

/** What an explanation reads besides the issue: the data zod saw, the file and the interpolation. */
interface IssueContext {
  data: unknown;
  source: PlanSource;
  env: Interpolation;
}

/** One zod issue as plan errors (a union's issue may become several); `prefix` is where its path starts. */
export function explain(issue: ZodIssueLike, prefix: PlanPath, ctx: IssueContext): Explained[] {
  const path: PlanPath = [...prefix, ...issue.path.filter((p) => typeof p !== 'symbol')];
  const value = valueAt(ctx.data, path);
  const found = () => describe(value, path, ctx);

  switch (issue.code) {
    case 'unrecognized_keys':
      return unknownKeys(issue, path);
    case 'invalid_type':
      return [{ path, message: invalidType(issue, path, value, ctx, found) }];
    case 'invalid_value':
      return [{ path, message: invalidValue(issue, path, value, ctx, found) }];
    case 'invalid_union':
      return invalidUnion(issue, path, ctx, found);
    case 'too_small':
    case 'too_big':
      return [{ path, message: sizeMessage(issue, value, found) }];
    case 'invalid_format':
    case 'custom':
      return [{ path, message: value === undefined ? issue.message : `${issue.message}; found ${found()}` }];
    default:
      return [{ path, message: issue.message }];
  }
}

function unknownKeys(issue: ZodIssueLike, path: PlanPath): Explained[] {
  const valid = keysAt(path);
  return (issue.keys ?? []).map((key) => {
    const guess = valid ? suggest(key, valid) : undefined;
    let message = `unknown key \`${key}\``;
    if (guess) message += `: did you mean \`${guess}\`?`;
    if (valid) message += ` (valid here: ${valid.join(', ')})`;
    return { path: [...path, key], message, at: 'key' as const };
  });
}

function invalidType(
  issue: ZodIssueLike,
  path: PlanPath,
  value: unknown,
  ctx: IssueContext,
  found: () => string,
): string {
  if (path.length === 0)
    return `a plan is a YAML map with the keys ${keysAt([])?.join(', ')}; found ${found()}`;
  if (value === undefined) {
    const node = ctx.source.locate(path).node;
    const vars = node ? ctx.env.vars.get(node) : undefined;
    return vars
      ? `required, but \${${vars[0]}} expanded to nothing (expected ${typeName(issue.expected)})`
      : `required key is missing (expected ${typeName(issue.expected)})`;
  }
  return `expected ${typeName(issue.expected)}, found ${found()}${quoteHint(issue, value)}`;
}

function invalidValue(
  issue: ZodIssueLike,
  path: PlanPath,
  value: unknown,
  ctx: IssueContext,
  found: () => string,
): string {
  const values = issue.values ?? [];
  const expected =
    values.length === 1
      ? `expected ${literal(values[0])}`
      : `expected one of: ${values.map(literal).join(', ')}`;
  const shown = typeof value === 'string' && !hidden(path, ctx);
  const guess = shown
    ? suggest(
        value,
        values.filter((v): v is string => typeof v === 'string'),
      )
    : undefined;
  return `${expected}; found ${found()}${guess ? `: did you mean \`${guess}\`?` : ''}`;
}

/** A union: when only one branch fits the value's type, its issues; else what each branch expects. */
function invalidUnion(
  issue: ZodIssueLike,
  path: PlanPath,
  ctx: IssueContext,
  found: () => string,
): Explained[] {
  const branches = issue.errors ?? [];
  const viable = branches.filter((b) => !b.every((i) => i.path.length === 0 && isTypeMismatch(i)));
  if (viable.length === 1) return (viable[0] ?? []).flatMap((i) => explain(i, path, ctx));
  const alternatives = branches.map((b) => b.map(expectedOf).join(' and ')).filter((s) => s);
  return [{ path, message: `expected ${alternatives.join(' or ')}${unionHint(path)}; found ${found()}` }];
}

function isTypeMismatch(issue: ZodIssueLike): boolean {
  return issue.code === 'invalid_type' || issue.code === 'invalid_value';
}

function expectedOf(issue: ZodIssueLike): string {
  if (issue.code === 'invalid_type') return typeName(issue.expected);
  if (issue.code === 'invalid_value') return (issue.values ?? []).map(literal).join(' or ');
  return '';
}

function unionHint(path: PlanPath): string {
  const parent = path[path.length - 2];
  if (path[path.length - 1] === 'source' && parent !== undefined && typeof parent === 'number') {
    return ' (a table name, or `{ query: "SELECT ..." }`)';
  }
  if (parent === 'columns') return ' (`false` drops the column, a name renames it)';
  return '';
}

function sizeMessage(issue: ZodIssueLike, value: unknown, found: () => string): string {
  const small = issue.code === 'too_small';
  const bound = Number(small ? issue.minimum : issue.maximum);
  if (issue.origin === 'array') {
    const n = Array.isArray(value) ? value.length : 0;
    return `expected ${small ? 'at least' : 'at most'} ${bound} item${bound === 1 ? '' : 's'}, found ${n}`;
  }
  if (issue.origin === 'string') {
    if (small && bound === 1) return 'must not be empty';
    return `expected ${small ? 'at least' : 'at most'} ${bound} characters`;
  }
  const op = small ? (issue.inclusive === false ? '>' : '>=') : issue.inclusive === false ? '<' : '<=';
  return `expected a number ${op} ${bound}; found ${found()}`;
}

/** `ttl: "60"` is a string in YAML; say so rather than leave the user staring at a number. */
function quoteHint(issue: ZodIssueLike, value: unknown): string {
  if (issue.expected === 'number' && typeof value === 'string' && /^\s*[-+]?\d+(\.\d+)?\s*$/.test(value)) {
    return ' (remove the quotes)';
  }
  if (issue.expected === 'boolean' && typeof value === 'string' && /^(true|false)$/i.test(value)) {
    return ' (remove the quotes)';
  }
  return '';
}

function typeName(expected: string | undefined): string {
  switch (expected) {
    case 'object':
      return 'a map';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'a whole number';
    case 'boolean':
      return 'true or false';
    default:
      return expected ?? 'something else';
  }
}

function literal(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

function hidden(path: PlanPath, ctx: IssueContext): boolean {
  const node = ctx.source.resolve(ctx.source.locate(path).node);
  return isSecretPath(path) || (node ? ctx.env.vars.has(node) : false);
}

/** What the user wrote, unless it may be a secret: then only its kind, and which variables it came from. */
function describe(value: unknown, path: PlanPath, ctx: IssueContext): string {
  const kind = kindOf(value);
  if (value === undefined || value === null) return kind;
  if (isSecretPath(path)) return `${kind} (value not shown)`;
  // A URL with its scheme is shown masked (secrets.ts); any other form of a connection string that came
  // from the environment (`app:pw@db/shop`, `host=db password=pw`) is not shown at all.
  if (typeof value === 'string' && isSchemeUrl(value)) return JSON.stringify(maskUrl(value));
  const node = ctx.source.resolve(ctx.source.locate(path).node);
  const vars = node ? ctx.env.vars.get(node) : undefined;
  if (vars) return `${kind} from ${vars.map((v) => `\${${v}}`).join(', ')} (value not shown)`;
  if (typeof value === 'string' && path[path.length - 1] === 'url') return JSON.stringify(maskUrl(value));
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${kind} ${String(value)}`;
  return kind;
}

function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'no value (YAML null: empty, `null` or `~`)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'the number';
  if (typeof value === 'boolean') return 'the boolean';
  return typeof value;
}

function valueAt(data: unknown, path: PlanPath): unknown {
  let current = data;
  for (const step of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}
