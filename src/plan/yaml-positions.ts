/**
 * Positions in a plan file: from a path inside the plan (`['tables', 1, 'cache', 'key']`) to the YAML node
 * that wrote it, and from there to its line and column, so every plan error points at its place.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import { type PlanIssue, renderPlanPath } from '../errors.js';

export type PlanPath = readonly (string | number)[];
export interface Position {
  line: number;
  col: number;
}

interface Located {
  /** The value node at `path`, if written (null for `key:` with nothing after it). */
  node: Node | null | undefined;
  /** The key node of the last map step, if found. */
  key: Node | undefined;
  /** The deepest node on the way that exists. */
  nearest: Node | undefined;
}

/** A parsed plan file with its text and line table: the one thing that turns paths into positions. */
export class PlanSource {
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

  /** Where `path` is written: its value, else its key, else the nearest enclosing node. */
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
}
