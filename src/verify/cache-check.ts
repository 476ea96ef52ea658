/**
 * The cache check of `migrate verify`: for every source row, the entry the application would find — the key
 * rendered from the converted row, the value encoded from it — must be in the cache with exactly that value.
 * Missing entries and different values are mismatches (`in: cache`); rows that are never cached (key over
 * 250 bytes, NULL in the key or value, value over `maxValueBytes`) are counted by reason, as `run` does.
 */
import type { Cache } from '../cache/cache.js';
import type { PackedEntries } from '../cache/entry-pack.js';
import type { Row } from '../convert/value.js';
import { type Batch, rowsBatch } from '../db/batch.js';
import { readKeyed } from '../db/dialect.js';
import {
  copyJsonOf,
  packCopyEntries,
  packRowEntries,
  rowsByCacheKey,
  type SkipSink,
} from '../engine/warm-rows.js';
import { RuntimeError } from '../errors.js';
import type { PlanCache } from '../plan/schema.js';
import type { TableCheck } from './table-check.js';

/**
 * Rows per batch of the cache check's own read of the source: a batch's entries are one request to the
 * cache. Larger batches add memory, not speed (bench case 6).
 */
const CACHE_CHECK_ROWS = 5000;
/** Batches the cache is checking at once while the next is read and packed. */
const CACHE_CHECK_IN_FLIGHT = 2;

export class CacheCheck {
  private warnedFailure = false;
  /** Rows that are never cached are counted by reason, as a run counts them. */
  private readonly skips: SkipSink = { add: (reason) => this.skip(reason) };

  constructor(
    private readonly check: TableCheck,
    private readonly cache: Cache,
    private readonly config: PlanCache,
  ) {}

  /** Checks the cache entries of converted source rows. */
  async rows(rows: readonly Row[]): Promise<void> {
    await this.submit(this.pack(rows), () => rows);
  }

  /** The rows' expected entries. */
  private pack(rows: readonly Row[]): PackedEntries {
    return packRowEntries(this.check.m, rows, this.config.maxValueBytes, 0, this.skips);
  }

  /** Settles once the cache has answered for the entries and it is counted; `rows` names wrong keys. */
  private submit(pack: PackedEntries, rows: () => readonly Row[]): Promise<void> {
    const { check } = this;
    if (pack.count === 0) return Promise.resolve();
    return this.cache.check(pack).then((got) => {
      // Rare: the rows of the keys found wrong are looked up again (the first row of a key names it).
      let rowOf: Map<string, Row> | null = null;
      const shown = (key: string) => {
        if (check.m.key.length === 0) return key;
        rowOf ??= rowsByCacheKey(check.m, rows());
        return check.keyText(rowOf.get(key)!);
      };
      check.counts.cached += got.same;
      for (const key of got.missing) check.mismatch('cache', 'missing', shown(key));
      for (const key of got.different) check.mismatch('cache', 'different', shown(key));
      if (got.failed.length > 0) this.serverFailed(got.failed.length);
    });
  }

  /**
   * The fast path digests the source inside the database: this reads it once more, for the cache. The next
   * batch is read while one is packed, and the cache checks up to {@link CACHE_CHECK_IN_FLIGHT} batches
   * meanwhile. A batch read as COPY text has its entries written straight from the text (copyJsonOf), decoded
   * only to name a wrong key.
   */
  async stream(): Promise<boolean> {
    const { ctx, m } = this.check;
    const spec = {
      from: m.from,
      columns: m.sourceColumns,
      key: m.key,
      batchSize: CACHE_CHECK_ROWS,
      maxBatchBytes: m.options.maxBatchBytes,
      after: null,
    };
    const copyJson = m.key.length > 0 ? copyJsonOf(ctx.source, m, 'source') : null;
    const max = this.config.maxValueBytes;
    const inFlight: Promise<void>[] = [];
    const batches = m.key.length > 0 ? readKeyed(ctx.source, spec) : asBatches(ctx.source.readBatches(spec));
    const it = batches[Symbol.asyncIterator]();
    let next: Promise<IteratorResult<Batch>> | null = it.next();
    try {
      for (;;) {
        const step: IteratorResult<Batch> = await next;
        next = null;
        if (step.done) break;
        next = it.next();
        next.catch(() => undefined);
        const batch = step.value;
        let converted: readonly Row[] | null = null;
        const rows = () => {
          converted ??= this.check.convert(batch.rows());
          return converted;
        };
        const checked =
          copyJson && batch.copyText
            ? this.submit(packCopyEntries(m, batch, copyJson, max, 0, this.skips), rows)
            : this.submit(this.pack(rows()), rows);
        checked.catch(() => undefined);
        inFlight.push(checked);
        if (inFlight.length >= CACHE_CHECK_IN_FLIGHT) await inFlight.shift();
        if (ctx.shouldStop()) return false;
      }
      while (inFlight.length > 0) await inFlight.shift();
      return true;
    } finally {
      // Stopped or failed: let the batches in flight settle before the cache is closed, and end the read
      // (after the batch being read ahead, if any) so that its connection is released.
      await Promise.allSettled(inFlight);
      if (next) await next.catch(() => undefined);
      await it.return?.(undefined).catch(() => undefined);
    }
  }

  private skip(reason: string, n = 1): void {
    const c = this.check.counts.cacheSkipped;
    c[reason] = (c[reason] ?? 0) + n;
  }

  private serverFailed(n: number): void {
    this.skip('cache-server-failed', n);
    if (this.config.required) {
      throw new RuntimeError(
        `table ${this.check.m.label}: ${n} cache keys could not be read (${this.cache.description})`,
        {
          hint: 'cache.required is true, so verify stops; bring the servers back and run it again',
        },
      );
    }
    if (!this.warnedFailure) {
      this.warnedFailure = true;
      this.check.warn(
        `cache servers did not answer for ${n} keys (${this.cache.description}): those entries are not checked; further ones are counted`,
      );
    }
  }
}

async function* asBatches(rows: AsyncIterable<Row[]>): AsyncGenerator<Batch> {
  for await (const r of rows) yield rowsBatch(r);
}
