/**
 * Reads a plan file: YAML with positions, `${ENV}` interpolation, validation by the one zod schema.
 * Every problem becomes a PlanIssue with file, line and column; all are collected and thrown in one PlanError.
 *
 * Interpolation rules (PLAN.md "Plan file"), applied to string values (never to keys):
 * - `${NAME}` is the variable's value; unset is an error naming the variable (an empty value is a value).
 * - `${NAME:-default}` is the default when NAME is unset or empty. The default cannot contain `}` or `${`.
 * - `$${` is a literal `${`. Any other `$` is literal, so passwords and SQL (`$$` dollar quotes) need no escaping.
 * - A value that is exactly one reference and unquoted is read as YAML would read the expanded text:
 *   `ttl: ${CACHE_TTL:-3600}` is a number, `true`/`false` are booleans, and an empty expansion counts as
 *   the key not being written at all (so `username: ${MEMCACHED_USERNAME:-}` switches SASL off).
 *   Quoted values always stay strings.
 *
 * Secrets: messages show paths and positions, never interpolated values, never values of password keys,
 * and URLs only with the password masked.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${NAME}` is the plan's own syntax, quoted in messages.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  type CST,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  Parser,
  parseDocument,
  type Scalar,
  visit,
  type YAMLError,
} from 'yaml';
import { PlanError, type PlanIssue, renderPlanPath } from '../errors.js';
import {
  decodeOr,
  isSchemeUrl,
  isSecretKey,
  maskUrl,
  redact,
  rememberSecret,
  secretsIn,
} from '../secrets.js';
import { type Plan, planSchema } from './schema.js';
import { suggest } from './suggest.js';

export type PlanPath = readonly (string | number)[];
export interface Position {
  line: number;
  col: number;
}

export interface LoadedPlan {
  plan: Plan;
  /** The file name as given (relative paths stay relative, as compilers print them). */
  file: string;
  /**
   * sha256 of the canonical JSON of the validated plan (defaults applied, keys sorted), with URL passwords
   * and the cache password masked: rotating a password does not change it, any other edit does.
   */
  hash: string;
  /** Where `path` is written in the file: its value, else its key, else the nearest enclosing node. */
  positionOf(path: PlanPath): Position;
}

export type Env = Readonly<Record<string, string | undefined>>;

const HINT = 'see migrations.example.yaml for a commented plan';

export async function loadPlan(file: string, env: Env = process.env): Promise<LoadedPlan> {
  return parsePlan(await readPlanFile(file), file, env);
}

/** loadPlan for text already in memory; `file` is only used in messages. */
export function parsePlan(text: string, file: string, env: Env = process.env): LoadedPlan {
  const lineCounter = new LineCounter();
  const deep = tooDeep(text);
  if (deep !== undefined) {
    const before = text.slice(0, deep);
    const at = { line: before.split('\n').length, col: deep - before.lastIndexOf('\n') };
    const message = `YAML nested more than ${MAX_DEPTH} levels deep (a plan needs a handful)`;
    throw new PlanError([{ file, ...at, path: '', message }], {
      hint: 'fix the YAML syntax first; schema checks run once the file parses',
    });
  }
  // logLevel: the schema reports odd keys (`? [a, b]`); no process warning on stderr for them.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, logLevel: 'error' });
  const source = new PlanSource(file, text, doc, lineCounter);

  if (doc.errors.length > 0) {
    throw new PlanError(source.redact(doc.errors.map((e) => syntaxIssue(source, e))), {
      hint: 'fix the YAML syntax first; schema checks run once the file parses',
    });
  }

  const expansion = interpolate(source, env);
  source.noteSecrets();
  const data = toData(source);
  const parsed = planSchema.safeParse(data);
  const issues = [...expansion.issues];
  for (const zodIssue of (parsed.error?.issues ?? []) as ZodIssueLike[]) {
    for (const found of explain(zodIssue, [], data, source, expansion)) {
      const node = source.locate(found.path).node;
      if (node && expansion.failed.has(node)) continue; // already reported as a missing variable
      issues.push(source.issue(found.path, found.message, found.at));
    }
  }
  if (issues.length > 0 || !parsed.success) throw new PlanError(source.redact(issues), { hint: HINT });

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

/* ------------------------------------------------------------------------------------------------
 * Positions: from a plan path to the YAML node that wrote it.
 * ---------------------------------------------------------------------------------------------- */

interface Located {
  /** The value node at `path`, if written (null for `key:` with nothing after it). */
  node: Node | null | undefined;
  /** The key node of the last map step, if found. */
  key: Node | undefined;
  /** The deepest node on the way that exists. */
  nearest: Node | undefined;
}

class PlanSource {
  readonly secrets = new Set<string>();

  constructor(
    readonly file: string,
    readonly text: string,
    readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  position(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return line === 0 ? { line: 1, col: offset + 1 } : { line, col };
  }

  nodePosition(node: Node | null | undefined): Position | undefined {
    return node?.range ? this.position(node.range[0]) : undefined;
  }

  locate(path: PlanPath): Located {
    let node: Node | null | undefined = this.doc.contents as Node | null;
    let key: Node | undefined;
    let nearest: Node | undefined = node ?? undefined;
    for (const step of path) {
      const current = this.resolve(node);
      key = undefined;
      if (isMap(current)) {
        const pair = current.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step));
        if (!pair) return { node: undefined, key: undefined, nearest };
        key = pair.key as Node;
        node = pair.value as Node | null;
      } else if (isSeq(current) && typeof step === 'number') {
        node = current.items[step] as Node | undefined;
        if (node === undefined) return { node: undefined, key: undefined, nearest };
      } else {
        return { node: undefined, key: undefined, nearest };
      }
      nearest = node ?? key ?? nearest;
    }
    return { node, key, nearest };
  }

  resolve(node: Node | null | undefined): Node | null | undefined {
    return isAlias(node) ? (node.resolve(this.doc) as Node | undefined) : node;
  }

  positionOf(path: PlanPath, at: 'value' | 'key' = 'value'): Position {
    const { node, key, nearest } = this.locate(path);
    const emptyValue =
      !node || (isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1]);
    const preferred = at === 'key' || emptyValue ? (key ?? node) : node;
    return this.nodePosition(preferred) ?? this.nodePosition(nearest) ?? { line: 1, col: 1 };
  }

  issue(path: PlanPath, message: string, at: 'value' | 'key' = 'value'): PlanIssue {
    return { file: this.file, ...this.positionOf(path, at), path: renderPlanPath(path), message };
  }

  /** Notes the plan's secrets, here and for every later output (secrets.ts). */
  noteSecrets(): void {
    collectSecrets(this, this.doc.contents as Node | null, false, false);
    for (const secret of this.secrets) rememberSecret(secret);
  }

  /** Belt and braces: no message carries a URL password or a known secret, whatever produced it. */
  redact(issues: PlanIssue[]): PlanIssue[] {
    this.noteSecrets();
    const secrets = [...this.secrets].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
    const seen = new Set<string>();
    const out: PlanIssue[] = [];
    for (const issue of issues) {
      let message = redact(issue.message);
      for (const secret of secrets) message = message.split(secret).join('***');
      const clean = { ...issue, message };
      const id = `${clean.line}:${clean.col}:${clean.path}:${clean.message}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(clean);
    }
    return out.sort((a, b) => a.line - b.line || a.col - b.col);
  }
}

/**
 * Values under a password-like key (at any depth), and the secrets of connection strings: values under a
 * `url` key (whatever their form: a URL, a URL without its scheme, a libpq `key=value` string) and URLs
 * anywhere else.
 */
function collectSecrets(
  source: PlanSource,
  node: Node | null | undefined,
  secret: boolean,
  url: boolean,
): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      collectSecrets(source, pair.value as Node | null, secret || isSecretPath([key]), key === 'url');
    }
  } else if (isSeq(node)) {
    for (const item of node.items) collectSecrets(source, item as Node | null, secret, false);
  } else if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number')) {
    const text = String(node.value);
    if (secret && text !== '') source.secrets.add(text);
    if (typeof node.value !== 'string' || !(url || isSchemeUrl(text))) return;
    for (const password of secretsIn(text)) {
      source.secrets.add(password);
      source.secrets.add(decodeOr(password));
    }
  }
}

function isSecretPath(path: PlanPath): boolean {
  const last = path[path.length - 1];
  return typeof last === 'string' && isSecretKey(last);
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

/* ------------------------------------------------------------------------------------------------
 * ${ENV} interpolation, in place on the parsed document so every node keeps its position.
 * ---------------------------------------------------------------------------------------------- */

/** Marks a map value whose whole `${…}` expanded to nothing: the key is treated as not written. */
const DROPPED = Symbol('dropped');

interface Interpolation {
  issues: PlanIssue[];
  /** Scalars with a missing or malformed reference: zod's complaints about them would only repeat it. */
  failed: Set<Node>;
  /** Scalars whose value came (partly) from the environment, with the variables used. */
  vars: Map<Node, string[]>;
}

function interpolate(source: PlanSource, env: Env): Interpolation {
  const result: Interpolation = { issues: [], failed: new Set(), vars: new Map() };
  const visit = (node: Node | null | undefined, path: PlanPath, inMap: boolean): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key)) visit(pair.value as Node | null, [...path, String(pair.key.value)], true);
      }
    } else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) visit(item as Node | null, [...path, i], false);
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      expandScalar(source, node as Scalar<string>, path, inMap, env, result);
    }
  };
  visit(source.doc.contents as Node | null, [], false);
  return result;
}

const WHOLE_REFERENCE = /^\$\{[^}]*\}$/;
const REFERENCE = /\$?\$\{/g;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;
const ESCAPE_HINT = '(write `$${` for a literal `${`)';

interface Expanded {
  text: string;
  /** The variables referred to, each once, in order. */
  vars: string[];
  /** Variables without a value or a default, each once. */
  missing: string[];
  malformed: string | undefined;
}

/** Expands the references in one string value; the rules are at the top of this file. */
export function expand(raw: string, env: Env): Expanded {
  const result: Expanded = { text: '', vars: [], missing: [], malformed: undefined };
  let last = 0;
  for (const match of raw.matchAll(REFERENCE)) {
    const start = match.index;
    if (start < last) continue;
    result.text += raw.slice(last, start);
    if (match[0] === '$${') {
      result.text += '${';
      last = start + 3;
      continue;
    }
    const close = raw.indexOf('}', start + 2);
    const parts = close < 0 ? null : NAME_AND_DEFAULT.exec(raw.slice(start + 2, close));
    last = close < 0 ? raw.length : close + 1;
    if (!parts || parts[2]?.includes('${')) {
      result.malformed ??=
        close < 0
          ? `\`\${\` has no closing \`}\` ${ESCAPE_HINT}`
          : `a reference must be \${NAME} or \${NAME:-default}, NAME made of letters, digits and _ ${ESCAPE_HINT}`;
      continue;
    }
    const [, name = '', fallback] = parts;
    const value = env[name];
    if (!result.vars.includes(name)) result.vars.push(name);
    if (fallback !== undefined) result.text += value === undefined || value === '' ? fallback : value;
    else if (value !== undefined) result.text += value;
    else if (!result.missing.includes(name)) result.missing.push(name);
  }
  result.text += raw.slice(last);
  return result;
}

function expandScalar(
  source: PlanSource,
  node: Scalar<string>,
  path: PlanPath,
  inMap: boolean,
  env: Env,
  result: Interpolation,
): void {
  const raw = node.value;
  const expanded = expand(raw, env);
  if (expanded.vars.length > 0) result.vars.set(node, expanded.vars);
  if (expanded.malformed !== undefined) result.issues.push(source.issue(path, expanded.malformed));
  for (const name of expanded.missing) {
    const issue = source.issue(
      path,
      `environment variable ${name} is not set (set it, or give a default: \${${name}:-value})`,
    );
    // Point at the reference itself when the source text shows it (it does unless escapes hide it).
    const [from = 0, to = 0] = node.range ?? [];
    const at = source.text.slice(from, to).search(new RegExp(`\\$\\{${name}[:}]`));
    if (at >= 0) Object.assign(issue, source.position(from + at));
    result.issues.push(issue);
  }
  if (expanded.malformed !== undefined || expanded.missing.length > 0) {
    result.failed.add(node);
    node.value = expanded.text;
    return;
  }
  const plainWhole = node.type === 'PLAIN' && node.tag === undefined && WHOLE_REFERENCE.test(raw);
  if (!plainWhole) node.value = expanded.text;
  else if (expanded.text === '' && inMap) (node as Scalar<unknown>).value = DROPPED;
  else (node as Scalar<unknown>).value = asPlainScalar(expanded.text);
}

/** What YAML's core schema would make of `text` written unquoted; anything else stays a string. */
function asPlainScalar(text: string): string | number | boolean {
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  return text;
}

/**
 * Deeper nesting than any plan needs: refused before composing, whose recursion it would exhaust (V8 can
 * even abort the process when that happens while a regular expression is being compiled).
 */
const MAX_DEPTH = 64;

/** The offset of a collection nested more than MAX_DEPTH deep, if any. */
function tooDeep(text: string): number | undefined {
  const parser = new Parser();
  const tokens: CST.Token[] = [];
  try {
    for (const token of parser.parse(text)) tokens.push(token);
  } catch (error) {
    // The CST parser recurses only when it closes thousands of nested block levels at once.
    if (!(error instanceof RangeError)) throw error;
    return deepestLine(text, parser.offset);
  }
  const stack: [CST.Token | null | undefined, number][] = [];
  for (const token of tokens) {
    stack.push([token, 0]);
    while (stack.length > 0) {
      const [t, depth] = stack.pop()!;
      if (!t) continue;
      if (t.type === 'document') stack.push([t.value, depth]);
      else if (t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection') {
        if (depth >= MAX_DEPTH) return t.offset;
        for (const item of t.items) stack.push([item.key, depth + 1], [item.value, depth + 1]);
      }
    }
  }
  return undefined;
}

/** The start of the line before `end` that nests deepest by its look: indentation plus `- `, `? `, `[`, `{`. */
function deepestLine(text: string, end: number): number {
  let best = { at: 0, depth: -1 };
  for (let at = 0; at < end && at < text.length; ) {
    const next = text.indexOf('\n', at);
    const stop = next < 0 ? text.length : next;
    let i = at;
    while (i < stop && ' \t-?[{'.includes(text[i]!)) i++;
    if (i - at > best.depth) best = { at, depth: i - at };
    at = stop + 1;
  }
  return best.at;
}

/**
 * The document as plain data. Aliases can fail here: to an anchor that does not exist, expanding to too
 * much (the "billion laughs"), or referring to the collection they are in (circular data).
 */
function toData(source: PlanSource): unknown {
  try {
    return stripDropped(source.doc.toJS({ maxAliasCount: 1000 }));
  } catch (error) {
    if (!(error instanceof ReferenceError || error instanceof RangeError)) throw error;
    let first: Node | undefined;
    let bad: { alias: Node; circular: boolean } | undefined;
    visit(source.doc, {
      Alias(_, alias) {
        first ??= alias;
        const anchor = alias.resolve(source.doc);
        const at = alias.range?.[0] ?? -1;
        const range = anchor?.range;
        const circular = range != null && at >= range[0] && at < range[2];
        if (anchor && !circular) return undefined;
        bad = { alias, circular };
        return visit.BREAK;
      },
    });
    let message: string;
    if (error instanceof RangeError) {
      if (!bad?.circular) throw error;
      message = 'an alias refers to the collection it is in: a plan cannot be circular';
    } else if (bad && !bad.circular) {
      message = 'an alias (*name) without an anchor (&name) before it';
    } else {
      message = 'the aliases expand to too much data (at most 1000 alias uses)';
    }
    const at = source.nodePosition(bad?.alias ?? first) ?? { line: 1, col: 1 };
    throw new PlanError([{ file: source.file, ...at, path: '', message: `YAML: ${message}` }], {
      cause: error,
      hint: HINT,
    });
  }
}

function stripDropped(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDropped);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== DROPPED) out[k] = stripDropped(v);
    return out;
  }
  return value;
}

/* ------------------------------------------------------------------------------------------------
 * zod issues -> what was found and what is valid, at the node that wrote it.
 * ---------------------------------------------------------------------------------------------- */

interface ZodIssueLike {
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

function explain(
  issue: ZodIssueLike,
  prefix: PlanPath,
  data: unknown,
  source: PlanSource,
  env: Interpolation,
): Explained[] {
  const path: PlanPath = [...prefix, ...issue.path.filter((p) => typeof p !== 'symbol')];
  const value = valueAt(data, path);
  const found = () => describe(value, path, source, env);

  switch (issue.code) {
    case 'unrecognized_keys': {
      const valid = keysAt(path);
      return (issue.keys ?? []).map((key) => {
        const guess = valid ? suggest(key, valid) : undefined;
        let message = `unknown key \`${key}\``;
        if (guess) message += `: did you mean \`${guess}\`?`;
        if (valid) message += ` (valid here: ${valid.join(', ')})`;
        return { path: [...path, key], message, at: 'key' as const };
      });
    }
    case 'invalid_type': {
      if (path.length === 0) {
        return [
          { path, message: `a plan is a YAML map with the keys ${keysAt([])?.join(', ')}; found ${found()}` },
        ];
      }
      if (value === undefined) {
        const node = source.locate(path).node;
        const vars = node ? env.vars.get(node) : undefined;
        const message = vars
          ? `required, but \${${vars[0]}} expanded to nothing (expected ${typeName(issue.expected)})`
          : `required key is missing (expected ${typeName(issue.expected)})`;
        return [{ path, message }];
      }
      return [
        { path, message: `expected ${typeName(issue.expected)}, found ${found()}${quoteHint(issue, value)}` },
      ];
    }
    case 'invalid_value': {
      const values = issue.values ?? [];
      const expected =
        values.length === 1
          ? `expected ${literal(values[0])}`
          : `expected one of: ${values.map(literal).join(', ')}`;
      const shown = typeof value === 'string' && !hidden(path, source, env);
      const guess = shown
        ? suggest(
            value,
            values.filter((v): v is string => typeof v === 'string'),
          )
        : undefined;
      return [
        { path, message: `${expected}; found ${found()}${guess ? `: did you mean \`${guess}\`?` : ''}` },
      ];
    }
    case 'invalid_union': {
      const branches = issue.errors ?? [];
      const viable = branches.filter((b) => !b.every((i) => i.path.length === 0 && isTypeMismatch(i)));
      if (viable.length === 1) return (viable[0] ?? []).flatMap((i) => explain(i, path, data, source, env));
      const alternatives = branches.map((b) => b.map(expectedOf).join(' and ')).filter((s) => s);
      return [{ path, message: `expected ${alternatives.join(' or ')}${unionHint(path)}; found ${found()}` }];
    }
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

function hidden(path: PlanPath, source: PlanSource, env: Interpolation): boolean {
  const node = source.resolve(source.locate(path).node);
  return isSecretPath(path) || (node ? env.vars.has(node) : false);
}

/** What the user wrote, unless it may be a secret: then only its kind, and which variables it came from. */
function describe(value: unknown, path: PlanPath, source: PlanSource, env: Interpolation): string {
  const kind = kindOf(value);
  if (value === undefined || value === null) return kind;
  if (isSecretPath(path)) return `${kind} (value not shown)`;
  // A URL with its scheme is shown masked (secrets.ts); any other form of a connection string that came
  // from the environment (`app:pw@db/shop`, `host=db password=pw`) is not shown at all.
  if (typeof value === 'string' && isSchemeUrl(value)) return JSON.stringify(maskUrl(value));
  const node = source.resolve(source.locate(path).node);
  const vars = node ? env.vars.get(node) : undefined;
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

/* ------------------------------------------------------------------------------------------------
 * The schema's own key names at a path (zod's `unrecognized_keys` does not list the valid ones).
 * ---------------------------------------------------------------------------------------------- */

interface SchemaLike {
  _zod: {
    def: {
      type: string;
      shape?: Record<string, SchemaLike>;
      element?: SchemaLike;
      options?: SchemaLike[];
      valueType?: SchemaLike;
      innerType?: SchemaLike;
      in?: SchemaLike;
      getter?: () => SchemaLike;
    };
  };
}

function unwrap(schema: SchemaLike | undefined): SchemaLike | undefined {
  let current = schema;
  for (let i = 0; current && i < 20; i++) {
    const def: SchemaLike['_zod']['def'] = current._zod.def;
    const next = def.innerType ?? def.in ?? def.getter?.();
    if (!next) return current;
    current = next;
  }
  return current;
}

function step(schema: SchemaLike | undefined, key: string | number): SchemaLike | undefined {
  const def = unwrap(schema)?._zod.def;
  if (!def) return undefined;
  if (def.type === 'object') return def.shape?.[String(key)];
  if (def.type === 'array') return def.element;
  if (def.type === 'record') return def.valueType;
  if (def.type === 'union') {
    for (const option of def.options ?? []) {
      const next = step(option, key);
      if (next) return next;
    }
  }
  return undefined;
}

function keysAt(path: PlanPath): string[] | undefined {
  let schema: SchemaLike | undefined = planSchema as unknown as SchemaLike;
  for (const key of path) schema = step(schema, key);
  const def = unwrap(schema)?._zod.def;
  if (def?.type === 'object') return Object.keys(def.shape ?? {});
  if (def?.type === 'union') {
    for (const option of def.options ?? []) {
      const inner = unwrap(option)?._zod.def;
      if (inner?.type === 'object') return Object.keys(inner.shape ?? {});
    }
  }
  return undefined;
}

/* ------------------------------------------------------------------------------------------------
 * The plan's hash, for checkpoints.
 * ---------------------------------------------------------------------------------------------- */

function planHash(plan: Plan): string {
  const masked: Plan = {
    ...plan,
    source: { url: maskUrl(plan.source.url) },
    target: { url: maskUrl(plan.target.url) },
    ...(plan.cache
      ? { cache: { ...plan.cache, password: plan.cache.password === undefined ? undefined : '***' } }
      : {}),
  };
  return createHash('sha256').update(canonicalJson(masked)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
