/**
 * The limits a plan's YAML must keep before it becomes data: nesting depth (checked on the raw tokens, before
 * composing recurses into it) and alias use (missing anchors, circular data, the "billion laughs").
 */
import { type CST, type Node, Parser, visit } from 'yaml';
import type { PlanIssue } from '../errors.js';
import type { PlanSource } from './yaml-positions.js';

/**
 * Deeper nesting than any plan needs: refused before composing, whose recursion it would exhaust (V8 can
 * even abort the process when that happens while a regular expression is being compiled).
 */
const MAX_DEPTH = 64;

/** Alias uses allowed when the document becomes data (yaml's `maxAliasCount`). */
export const MAX_ALIAS_USES = 1000;

/** The issue for a collection nested more than MAX_DEPTH deep, if there is one. */
export function depthIssue(text: string, file: string): PlanIssue | undefined {
  const deep = tooDeep(text);
  if (deep === undefined) return undefined;
  const before = text.slice(0, deep);
  const at = { line: before.split('\n').length, col: deep - before.lastIndexOf('\n') };
  const message = `YAML nested more than ${MAX_DEPTH} levels deep (a plan needs a handful)`;
  return { file, ...at, path: '', message };
}

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
 * The issue for an error of yaml's `toJS`: an alias to an anchor that does not exist, aliases expanding to
 * too much, or an alias inside the collection it refers to (circular data). Any other error is rethrown.
 */
export function aliasIssue(source: PlanSource, error: unknown): PlanIssue {
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
    message = `the aliases expand to too much data (at most ${MAX_ALIAS_USES} alias uses)`;
  }
  const at = source.nodePosition(bad?.alias ?? first) ?? { line: 1, col: 1 };
  return { file: source.file, ...at, path: '', message: `YAML: ${message}` };
}
