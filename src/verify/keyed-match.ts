/**
 * Pairs source and target rows by key, whatever order each side returns them in: a row waits in its side's
 * map until the other side's row with the same key arrives. Two databases may order text keys differently
 * (collations), so nothing here relies on order; when both sides do return the same order (the usual case)
 * the maps never hold more than about one batch.
 */
import type { Row } from '../convert/value.js';
import { canonicalKeyString } from './key-string.js';
import type { TableCheck } from './table-check.js';

export class KeyedMatcher {
  private readonly sourceWaiting = new Map<string, Row>();
  private readonly targetWaiting = new Map<string, Row>();
  private readonly keyString: (row: Row) => string;

  constructor(private readonly check: TableCheck) {
    this.keyString = canonicalKeyString(check.m);
  }

  /** Converted source rows. */
  source(rows: readonly Row[]): void {
    for (const row of rows) {
      const k = this.keyString(row);
      const other = this.targetWaiting.get(k);
      if (other === undefined) this.sourceWaiting.set(k, row);
      else {
        this.targetWaiting.delete(k);
        this.pair(row, other);
      }
    }
  }

  target(rows: readonly Row[]): void {
    for (const row of rows) {
      const k = this.keyString(row);
      const other = this.sourceWaiting.get(k);
      if (other === undefined) this.targetWaiting.set(k, row);
      else {
        this.sourceWaiting.delete(k);
        this.pair(other, row);
      }
    }
  }

  /** Both sides are read to the end: what is still waiting has no counterpart. */
  async finish(): Promise<void> {
    for (const row of this.sourceWaiting.values()) {
      this.check.mismatch('target', 'missing', this.check.keyText(row));
    }
    this.sourceWaiting.clear();
    const unmatched = [...this.targetWaiting.values()];
    this.targetWaiting.clear();
    await this.check.unmatchedTarget(unmatched);
  }

  private pair(source: Row, target: Row): void {
    const { check } = this;
    if (check.canonical(source) === check.canonical(target)) check.counts.verified++;
    else
      check.mismatch(
        'target',
        'different',
        check.keyText(source),
        check.m.rowEquality.differing(source, target),
      );
  }
}
