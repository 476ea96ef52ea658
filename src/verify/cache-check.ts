/**
 * The cache check of `migrate verify`: for every source row, the entry the application would find — the key
 * rendered from the converted row, the value encoded from it — must be in the cache with exactly that value.
 * Missing entries and different values are mismatches (`in: cache`); rows that are never cached (key over
 * 250 bytes, NULL in the key or value, value over `maxValueBytes`) are counted by reason, as `run` does.
 */
import type { Cache } from '../cache/cache.js';
import { isSkip } from '../cache/key-template.js';
import type { Row } from '../convert/value.js';
import { RuntimeError } from '../errors.js';
import type { PlanCache } from '../plan/schema.js';
import { STREAM_BATCH_ROWS } from './keyed-stream.js';
import type { TableCheck } from './table-check.js';

interface Expected {
  row: Row;
  /** Several rows may render the same key (a key-less table, a coarse template): any of their values is right. */
  values: Buffer[];
}

export class CacheCheck {
  private warnedFailure = false;

  constructor(
    private readonly check: TableCheck,
    private readonly cache: Cache,
    private readonly config: PlanCache,
  ) {}

  /** Checks the cache entries of converted source rows. */
  async rows(rows: readonly Row[]): Promise<void> {
    const { check } = this;
    const mc = check.m.cache!;
    const max = this.config.maxValueBytes;
    const expected = new Map<string, Expected>();
    for (const row of rows) {
      const key = mc.render(row);
      if (isSkip(key)) {
        this.skip(key.skip);
        continue;
      }
      const value = mc.value(row);
      if (value === null) this.skip('value-null');
      else if (value.length > max) this.skip('value-too-large');
      else {
        const e = expected.get(key);
        if (e) e.values.push(value);
        else expected.set(key, { row, values: [value] });
      }
    }
    if (expected.size === 0) return;
    const got = await this.cache.get([...expected.keys()]);
    const failed = new Set(got.failed);
    const keyed = check.m.key.length > 0;
    for (const [key, e] of expected) {
      if (failed.has(key)) continue;
      const hit = got.hits.get(key);
      const shown = keyed ? check.keyText(e.row) : key;
      if (hit === undefined) check.mismatch('cache', 'missing', shown);
      else if (e.values.some((v) => v.equals(hit))) check.counts.cached++;
      else check.mismatch('cache', 'different', shown);
    }
    if (failed.size > 0) this.serverFailed(failed.size);
  }

  /** The fast path digests the source inside the database: this reads it once more, for the cache. */
  async stream(): Promise<boolean> {
    const { ctx, m } = this.check;
    for await (const raw of ctx.source.readBatches({
      from: m.from,
      columns: m.sourceColumns,
      key: m.key,
      batchSize: STREAM_BATCH_ROWS,
      after: null,
    })) {
      await this.rows(this.check.convert(raw));
      if (ctx.shouldStop()) return false;
    }
    return true;
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
