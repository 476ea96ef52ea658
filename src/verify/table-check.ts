/**
 * What every part of a table's verification shares: the connections, the counters, the canonical row form,
 * and how a mismatch or progress is reported (events through the sink, mismatches to the report file).
 */
import type { Cache } from '../cache/cache.js';
import type { Row } from '../convert/value.js';
import type { Dialect } from '../db/dialect.js';
import { convertRows } from '../engine/convert-rows.js';
import { type EventSink, emptyCounts, type Mismatch, type TableCounts } from '../engine/events.js';
import { keyOf, showKey } from '../engine/key-codec.js';
import type { TableMapping } from '../engine/mapping.js';
import type { PlanCache } from '../plan/schema.js';
import { type ExtraRule, extraRule, withoutSourceRow } from './extra-rows.js';

export interface VerifyContext {
  source: Dialect;
  target: Dialect;
  /** Null when the cache is not checked (`--no-cache`, no cache, or `warm: off`). */
  cache: Cache | null;
  cacheConfig: PlanCache | null;
  sink: EventSink;
  shouldStop: () => boolean;
  recordMismatch: (m: Mismatch) => void;
}

/** A key range (`after`, `until`]; null: open. */
export interface KeyRange {
  after: Row | null;
  until: Row | null;
}

export class TableCheck {
  readonly counts: TableCounts = emptyCounts();
  /** The canonical form two rows are compared by: equal exactly when the rows are equal. */
  readonly canonical: (row: Row) => string;
  /** How target rows without a source row are judged (extra-rows.ts). */
  readonly extraRule: ExtraRule;
  /** Target rows without a source row that are not extra: outside the `where`, or not in the query's result. */
  notExtra = 0;
  private readonly keyNames: string[];

  constructor(
    readonly ctx: VerifyContext,
    readonly m: TableMapping,
  ) {
    this.canonical = canonicalForm(m);
    this.extraRule = extraRule(m);
    this.keyNames = m.key.map((i) => m.targetColumns[i]!.name);
  }

  /** `id=42,region=eu` for a (converted) row of a keyed table. */
  keyText(row: Row): string {
    return showKey(this.keyNames, keyOf(row, this.m.key));
  }

  mismatch(where: Mismatch['in'], problem: Mismatch['problem'], key: string, columns?: string[]): void {
    this.counts.mismatches++;
    this.ctx.recordMismatch({
      table: this.m.label,
      key,
      in: where,
      problem,
      ...(columns?.length ? { columns } : {}),
    });
  }

  /** Target rows of a keyed table that no source row paired with: reports those that are extra. */
  async unmatchedTarget(rows: readonly Row[]): Promise<void> {
    if (rows.length === 0) return;
    const extra =
      this.extraRule === 'all'
        ? rows
        : this.extraRule === 'none'
          ? []
          : await withoutSourceRow(this.m, this.ctx.source, rows);
    this.notExtra += rows.length - extra.length;
    for (const row of extra) this.mismatch('target', 'extra', this.keyText(row));
  }

  /** Source rows converted to the target's types; rows that cannot be converted (`invalid: skip`) are counted. */
  convert(source: Row[]): Row[] {
    return convertRows(this.m, source, () => {
      this.counts.skipped++;
    });
  }

  progress(rows: number, lastKey: string): void {
    // `chunk` numbers run checkpoints; verify keeps none.
    this.ctx.sink.emit({ event: 'batch', table: this.m.label, chunk: 0, rows, lastKey, counts: this.counts });
  }

  warn(message: string): void {
    this.ctx.sink.emit({ event: 'warning', table: this.m.label, message });
  }
}

/**
 * The canonical row JSON (`m.rowJson`) plus, when the table has json columns, one flag per json column telling
 * SQL NULL from the JSON value `null` (the JSON embeds both as `null`).
 */
function canonicalForm(m: TableMapping): (row: Row) => string {
  const json = m.targetColumns.flatMap((c, i) => (c.kind === 'json' ? [i] : []));
  if (json.length === 0) return m.rowJson;
  return (row) => {
    let flags = '\n';
    for (const i of json) flags += row[i] === null ? '1' : '0';
    return m.rowJson(row) + flags;
  };
}
