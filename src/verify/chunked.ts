/**
 * The fast path for a keyed table: chunks of about {@link CHUNK_ROWS} source rows in key order, each digested
 * inside both databases (`ChunkDigester.chunkDigest`: count + aggregate of per-row hashes; no row leaves the
 * server). A dense integer key is split by value, at once; any other key chunk by chunk, the source's digest
 * of chunk k+1 (which first finds the chunk's last key) running while the target digests chunk k. A chunk
 * whose digests differ is bisected — split at the median key of its larger side, both halves digested
 * again — down to ranges of at most {@link LEAF_ROWS} rows, whose rows are then downloaded from both sides
 * and compared by key: every missing, extra and different row is found and only those small ranges are
 * downloaded.
 *
 * Sound only when both databases hash equal rows alike and order the key alike: see {@link sqlDigestUsable}.
 */
import type { ColumnKind, Row } from '../convert/value.js';
import type { Dialect, ChunkDigest as Digest } from '../db/dialect.js';
import type { RowSource } from '../db/table.js';
import { valueBoundaries } from '../engine/chunks.js';
import { encodeKey } from '../engine/key-codec.js';
import type { TableMapping } from '../engine/mapping.js';
import { compareKeyedRange, STREAM_BATCH_ROWS } from './keyed-stream.js';
import type { KeyRange, TableCheck, VerifyContext } from './table-check.js';

/** Source rows per chunk. */
const CHUNK_ROWS = 50_000;
/** A differing range of at most this many rows (on either side) is downloaded and compared row by row. */
const LEAF_ROWS = 1_000;

type Side = (range: KeyRange, limit?: number) => Promise<Digest>;
interface Sides {
  source: Side;
  target: Side;
}

/** Key kinds whose order is the same in any two databases of one dialect (no collation involved). */
const ORDER_SAFE: ReadonlySet<ColumnKind> = new Set<ColumnKind>([
  'int',
  'decimal',
  'float',
  'bool',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'uuid',
  'bytes',
]);

/**
 * Whether the databases can compare the table by digests: both have a `digester`, they are the same
 * dialect (the same text forms and hash), every mapped column has the identical type on both sides (so equal
 * values have equal text forms), and — for key ranges — every key column is of an order-safe kind (text keys
 * may sort differently under the two databases' collations, which would put a row in different chunks).
 */
export function sqlDigestUsable(ctx: VerifyContext, m: TableMapping): boolean {
  if (!ctx.source.digester || !ctx.target.digester) return false;
  if (ctx.source.name !== ctx.target.name) return false;
  if (m.sourceColumns.some((c, i) => c.dbType !== m.targetColumns[i]!.dbType)) return false;
  return m.key.every((i) => ORDER_SAFE.has(m.targetColumns[i]!.kind));
}

/**
 * The two sides' digest functions, both in the same form: the first of the source's forms (best first) that
 * the target has too.
 */
export async function digestSides(check: TableCheck): Promise<Sides> {
  const { ctx, m } = check;
  const formsOf = async (d: Dialect): Promise<string[]> => (await d.digester?.digestForms()) ?? [];
  const [sourceForms, targetForms] = await Promise.all([formsOf(ctx.source), formsOf(ctx.target)]);
  const form = sourceForms.find((f) => targetForms.includes(f));
  const side =
    (dialect: Dialect, from: RowSource, columns: TableMapping['sourceColumns']): Side =>
    (range, limit) =>
      dialect.digester!.chunkDigest({
        from,
        columns,
        key: m.key,
        after: range.after,
        until: range.until,
        ...(limit !== undefined ? { limit } : {}),
        ...(form !== undefined ? { form } : {}),
      });
  return {
    source: side(ctx.source, m.from, m.sourceColumns),
    target: side(ctx.target, { kind: 'table', ref: m.targetRef }, m.targetColumns),
  };
}

const same = (a: Digest, b: Digest) => a.count === b.count && a.digest === b.digest;

/** Returns whether the whole table was compared (false: stopped). */
export async function compareChunked(check: TableCheck): Promise<boolean> {
  const sides = await digestSides(check);
  const bounds = await valueBoundaries(check.ctx.source, check.m, CHUNK_ROWS);
  for await (const { range, s, t } of bounds ? chunksByValue(sides, bounds) : chunksByCount(sides)) {
    check.counts.read += s.count;
    await narrow(check, sides.source, sides.target, range, s, t);
    check.progress(s.count, range.until ? encodeKey(range.until) : '');
    // The last chunk is open-ended.
    if (range.until === null) return true;
    if (check.ctx.shouldStop()) return false;
  }
  return true;
}

interface DigestedChunk {
  range: KeyRange;
  s: Digest;
  t: Digest;
}

/**
 * A dense integer key: chunks of equal width in key values (engine/chunks.ts valueBoundaries), the first and
 * last open-ended so that target rows outside the source's extent are found. Both sides digest a chunk at
 * once, with no query to find its end first; the next chunk's digests run while one is narrowed.
 */
async function* chunksByValue({ source, target }: Sides, bounds: Row[]): AsyncGenerator<DigestedChunk> {
  const ranges: KeyRange[] = [...bounds, null].map((until, i) => ({
    after: i === 0 ? null : bounds[i - 1]!,
    until,
  }));
  const digests = (range: KeyRange) => {
    const both = Promise.all([source(range), target(range)]);
    both.catch(() => undefined);
    return both;
  };
  let next = digests(ranges[0]!);
  for (const [i, range] of ranges.entries()) {
    const [s, t] = await next;
    if (i + 1 < ranges.length) next = digests(ranges[i + 1]!);
    yield { range, s, t };
  }
}

/**
 * Any other key: each chunk ends at the key of its {@link CHUNK_ROWS}th source row, found by the source; its
 * digest of chunk k+1 runs while the target digests chunk k.
 */
async function* chunksByCount({ source, target }: Sides): AsyncGenerator<DigestedChunk> {
  let after: Row | null = null;
  for (let nextSource = source({ after, until: null }, CHUNK_ROWS); ; ) {
    const s = await nextSource;
    const until = s.lastKey;
    const t = target({ after, until });
    if (until !== null) {
      nextSource = source({ after: until, until: null }, CHUNK_ROWS);
      nextSource.catch(() => undefined);
    }
    yield { range: { after, until }, s, t: await t };
    if (until === null) return;
    after = until;
  }
}

/** Compares a range whose digests are `s` (source) and `t` (target), bisecting it while they differ. */
async function narrow(check: TableCheck, source: Side, target: Side, range: KeyRange, s: Digest, t: Digest) {
  if (same(s, t)) {
    check.counts.verified += s.count;
    return;
  }
  const larger = Math.max(s.count, t.count);
  if (larger <= LEAF_ROWS || s.count === 0 || t.count === 0) {
    // Small, or one side empty (every row missing or extra): nothing to narrow, stream the range.
    await compareKeyedRange(check, range, Math.min(larger + 1, STREAM_BATCH_ROWS));
    return;
  }
  // Split at the median key of the side with more rows (the other may hold none of the range).
  const bySource = s.count >= t.count;
  const [splitter, other] = bySource ? [source, target] : [target, source];
  const firstSplit = await splitter(range, Math.floor(larger / 2));
  const mid = firstSplit.lastKey;
  if (mid === null) {
    // The range changed under us (rows deleted meanwhile): compare it row by row.
    await compareKeyedRange(check, range, LEAF_ROWS * 5);
    return;
  }
  const low = { after: range.after, until: mid };
  const high = { after: mid, until: range.until };
  const [firstOther, secondSplit, secondOther] = await Promise.all([other(low), splitter(high), other(high)]);
  const pair = (a: Digest, b: Digest) => (bySource ? [a, b] : [b, a]) as [Digest, Digest];
  await narrow(check, source, target, low, ...pair(firstSplit, firstOther));
  await narrow(check, source, target, high, ...pair(secondSplit, secondOther));
}
