/**
 * `${ENV}` interpolation (docs/plan.md "Environment variables"), in place on the parsed document so every
 * node keeps its position. Applied to string values, never to keys:
 * - `${NAME}` is the variable's value; unset is an error naming the variable (an empty value is a value).
 * - `${NAME:-default}` is the default when NAME is unset or empty. The default cannot contain `}` or `${`.
 * - `$${` is a literal `${`. Any other `$` is literal, so passwords and SQL (`$$` dollar quotes) need no escaping.
 * - A value that is exactly one reference and unquoted is read as YAML would read the expanded text:
 *   `ttl: ${CACHE_TTL:-3600}` is a number, `true`/`false` are booleans, and an empty expansion counts as
 *   the key not being written at all (so `username: ${MEMCACHED_USERNAME:-}` switches SASL off).
 *   Quoted values always stay strings.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${NAME}` is the plan's own syntax, quoted in messages.
import { isMap, isScalar, isSeq, type Node, type Scalar } from 'yaml';
import type { PlanIssue } from '../errors.js';
import type { PlanPath, PlanSource } from './yaml-positions.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Marks a map value whose whole `${…}` expanded to nothing: the key is treated as not written. */
const DROPPED = Symbol('dropped');

export interface Interpolation {
  issues: PlanIssue[];
  /** Scalars with a missing or malformed reference: zod's complaints about them would only repeat it. */
  failed: Set<Node>;
  /** Scalars whose value came (partly) from the environment, with the variables used. */
  vars: Map<Node, string[]>;
}

export function interpolate(source: PlanSource, env: Env): Interpolation {
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
function expand(raw: string, env: Env): Expanded {
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

/** The plain data with the keys whose value expanded to nothing left out. */
export function stripDropped(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDropped);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== DROPPED) out[k] = stripDropped(v);
    return out;
  }
  return value;
}
