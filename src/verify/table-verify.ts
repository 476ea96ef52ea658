/**
 * `migrate verify` for one table: source vs target (and the cache), whole-table, read-only.
 *
 * - Keyed table, digests usable (`sqlDigestUsable`: same dialect, identical column types, order-safe key):
 *   key-range chunks hashed inside both databases, differing chunks bisected down to the differing rows
 *   (`chunked.ts`). The cache check, when asked, streams the source alongside.
 * - Keyed table otherwise (e.g. MySQL → PostgreSQL, or a text key): both sides streamed in large batches and
 *   compared row by row in canonical form, paired by key without relying on order (`keyed-stream.ts`).
 * - No key: the multiset of rows, by an in-database digest of the whole table when usable, else (or when it
 *   differs) by streaming both sides (`multiset.ts`), so duplicated rows are found.
 *
 * Counts: read = source rows, verified = source rows equal in the target, cached = cache entries equal to the
 * expected value, mismatches = missing, extra and different rows and cache entries.
 */
import type { Row } from '../convert/value.js';
import type { TableMapping } from '../engine/mapping.js';
import type { TableResult } from '../engine/table-run.js';
import { CacheCheck } from './cache-check.js';
import { compareChunked, digestSides, sqlDigestUsable } from './chunked.js';
import { compareKeyedRange, STREAM_BATCH_ROWS } from './keyed-stream.js';
import { compareMultiset } from './multiset.js';
import { TableCheck, type VerifyContext } from './table-check.js';

export async function verifyTable(ctx: VerifyContext, m: TableMapping): Promise<TableResult> {
  const started = Date.now();
  const check = new TableCheck(ctx, m);
  ctx.sink.emit({
    event: 'table-start',
    table: m.label,
    estimatedRows: m.estimatedRows,
    resumedFrom: null,
    rowsDone: 0,
    alreadyDone: false,
  });
  const cache =
    ctx.cache && ctx.cacheConfig && m.cache ? new CacheCheck(check, ctx.cache, ctx.cacheConfig) : null;
  const fast = sqlDigestUsable(ctx, m);
  let complete: boolean;
  if (m.key.length > 0 && fast) {
    complete = (await both(compareChunked(check), cache?.stream())).every(Boolean);
  } else if (m.key.length > 0) {
    complete = await compareKeyedRange(check, { after: null, until: null }, STREAM_BATCH_ROWS, {
      onSource: async (rows, read, lastKey) => {
        check.counts.read += read;
        await cache?.rows(rows);
        check.progress(read, lastKey);
      },
    });
  } else {
    complete = await verifyKeyless(check, fast, cache);
  }
  if (check.notExtra > 0) check.warn(notExtraWarning(check));
  const seconds = (Date.now() - started) / 1000;
  ctx.sink.emit({ event: 'table-done', table: m.label, counts: check.counts, seconds, complete });
  return { table: m.label, counts: check.counts, seconds, complete };
}

/** Target rows without a source row that were not called extra (extra-rows.ts says why). */
function notExtraWarning(check: TableCheck): string {
  const { m, notExtra: n } = check;
  const rows = n === 1 ? '1 target row has' : `${n.toLocaleString('en-US')} target rows have`;
  if (m.from.kind === 'query') {
    return `${rows} no row in the source query's result: not reported as extra, since a query cannot say whether it never selected them or their source rows were deleted`;
  }
  if (m.key.length === 0)
    return `${rows} an equal row only outside the \`where\` filter: not reported as extra`;
  return check.extraRule === 'none'
    ? `${rows} no row in the filtered source: not reported as extra, since the key's types differ between source and target and the source table cannot be searched by it`
    : `${rows} a source row outside the \`where\` filter: not compared, not reported as extra`;
}

async function verifyKeyless(check: TableCheck, fast: boolean, cache: CacheCheck | null): Promise<boolean> {
  if (fast) {
    const { source, target } = await digestSides(check);
    const whole = { after: null, until: null };
    const [s, t] = await Promise.all([source(whole), target(whole)]);
    if (s.count === t.count && s.digest === t.digest) {
      check.counts.read += s.count;
      check.counts.verified += s.count;
      check.progress(s.count, '');
      return cache ? cache.stream() : true;
    }
  }
  return compareMultiset(check, {
    onSource: async (rows: Row[], read: number) => {
      check.counts.read += read;
      await cache?.rows(rows);
      check.progress(read, '');
    },
  });
}

/** Awaits both (the second may be absent); the first failure is rethrown once both have settled. */
async function both(a: Promise<boolean>, b: Promise<boolean> | undefined): Promise<boolean[]> {
  const settled = await Promise.allSettled([a, b ?? Promise.resolve(true)]);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<boolean>).value);
}
