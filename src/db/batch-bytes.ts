/**
 * Batches bounded by bytes as well as by rows (ReadSpec.maxBatchBytes), so wide rows take no more memory
 * than narrow ones. A reader cuts a batch after the row that brings it to the limit (the first row is
 * always taken, however wide), and sizes the next keyset page from the bytes per row seen so far, so a page
 * seldom reads rows it must drop.
 */
import type { ReadSpec } from './batch.js';

/** The byte limit of a read: none when the spec gives none. */
export function byteLimit(spec: ReadSpec): number {
  return spec.maxBatchBytes ?? Number.POSITIVE_INFINITY;
}

/** The row limits of successive keyset pages of one read. */
export class PageSizer {
  /** Rows the next page asks for (its LIMIT). */
  limit: number;
  readonly maxBytes: number;

  constructor(private readonly spec: ReadSpec) {
    this.limit = spec.batchSize;
    this.maxBytes = byteLimit(spec);
  }

  /** The spec of the next page: the read's, with the page's LIMIT as batch size. */
  page(): ReadSpec {
    return this.limit === this.spec.batchSize ? this.spec : { ...this.spec, batchSize: this.limit };
  }

  /**
   * Records a page of `count` rows taking `bytes`, `cut` when the byte limit ended it (rows after the cut
   * were dropped); returns whether the read is over: the page held fewer rows than it asked for, uncut.
   */
  done(count: number, bytes: number, cut: boolean): boolean {
    const asked = this.limit;
    if (count > 0 && bytes > 0) {
      const fit = Math.ceil((this.maxBytes * count) / bytes);
      this.limit = Math.max(1, Math.min(this.spec.batchSize, fit));
    }
    return !cut && count < asked;
  }
}
