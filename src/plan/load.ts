/**
 * Reads a plan file: YAML with positions, `${ENV}` interpolation, validation by the one zod schema, the hash.
 * Every problem becomes a PlanIssue with file, line and column; all are collected and thrown in one PlanError
 * whose messages show paths and positions, never interpolated values, never secrets (plan-secrets.ts).
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { PlanError, type PlanIssue } from '../errors.js';
import { type Env, type Interpolation, interpolate, stripDropped } from './env-interpolation.js';
import { explain, type ZodIssueLike } from './explain-issues.js';
import { planHash } from './plan-hash.js';
import { notePlanSecrets, redactIssues } from './plan-secrets.js';
import { type Plan, planSchema } from './schema.js';
import { aliasIssue, depthIssue, MAX_ALIAS_USES } from './yaml-limits.js';
import { type PlanPath, PlanSource, type Position } from './yaml-positions.js';

export interface LoadedPlan {
  plan: Plan;
  /** The file name as given (relative paths stay relative, as compilers print them). */
  file: string;
  /** plan-hash.ts: changes with any edit of the plan except a rotated password. */
  hash: string;
  /** Where `path` is written in the file: its value, else its key, else the nearest enclosing node. */
  positionOf(path: PlanPath): Position;
}

const HINT = 'see migrations.example.yaml for a commented plan';
const SYNTAX_HINT = 'fix the YAML syntax first; schema checks run once the file parses';

export async function loadPlan(file: string, env: Env = process.env): Promise<LoadedPlan> {
  return parsePlan(await readPlanFile(file), file, env);
}

/** loadPlan for text already in memory; `file` is only used in messages. */
export function parsePlan(text: string, file: string, env: Env = process.env): LoadedPlan {
  const deep = depthIssue(text, file);
  if (deep) throw new PlanError([deep], { hint: SYNTAX_HINT });
  const lineCounter = new LineCounter();
  // logLevel: the schema reports odd keys (`? [a, b]`); no process warning on stderr for them.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, logLevel: 'error' });
  const source = new PlanSource(file, text, doc, lineCounter);

  if (doc.errors.length > 0) {
    throw new PlanError(
      redactIssues(
        doc,
        doc.errors.map((e) => syntaxIssue(source, e)),
      ),
      {
        hint: SYNTAX_HINT,
      },
    );
  }

  const expansion = interpolate(source, env);
  notePlanSecrets(doc);
  const data = toData(source);
  const parsed = planSchema.safeParse(data);
  const issues = [...expansion.issues, ...schemaIssues(parsed.error?.issues ?? [], data, source, expansion)];
  if (issues.length > 0 || !parsed.success) throw new PlanError(redactIssues(doc, issues), { hint: HINT });

  return {
    plan: parsed.data,
    file,
    hash: planHash(parsed.data),
    positionOf: (path) => source.positionOf(path),
  };
}

async function readPlanFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : 'it could not be read';
    throw new PlanError([{ file, line: 1, col: 1, path: '', message: `cannot read the plan file: ${why}` }], {
      cause: error,
      hint: 'check the path; a plan is a YAML file such as migrations.example.yaml',
    });
  }
}

function syntaxIssue(source: PlanSource, error: YAMLError): PlanIssue {
  const message = error.message.replace(/\s+/g, ' ').trim();
  return {
    file: source.file,
    ...source.position(error.pos[0]),
    path: '',
    message: `YAML syntax: ${message}`,
  };
}

/** The document as plain data; an alias that cannot be expanded is a plan error (yaml-limits.ts). */
function toData(source: PlanSource): unknown {
  try {
    return stripDropped(source.doc.toJS({ maxAliasCount: MAX_ALIAS_USES }));
  } catch (error) {
    throw new PlanError([aliasIssue(source, error)], { cause: error, hint: HINT });
  }
}

/** zod's issues at their positions, less those about a value whose variable is already reported missing. */
function schemaIssues(
  zodIssues: readonly unknown[],
  data: unknown,
  source: PlanSource,
  env: Interpolation,
): PlanIssue[] {
  const issues: PlanIssue[] = [];
  for (const zodIssue of zodIssues as ZodIssueLike[]) {
    for (const found of explain(zodIssue, [], { data, source, env })) {
      const node = source.locate(found.path).node;
      if (node && env.failed.has(node)) continue;
      issues.push(source.issue(found.path, found.message, found.at));
    }
  }
  return issues;
}
