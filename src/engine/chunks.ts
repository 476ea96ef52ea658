/**
 * Splitting a table into key-range chunks, claimed by workers of this process and of other processes
 * through leases in the state table. A table is split on its first run only (the split is kept in the
 * state table, so every run and machine works on the same chunks); a key-less or small table is one chunk.
 */
import type { Row } from '../convert/value.js';
import type { Dialect } from '../db/dialect.js';
import type { StateStore } from '../db/state-store.js';
import type { EngineContext } from './context.js';
import { encodeKey } from './key-codec.js';
import type { TableMapping } from './mapping.js';

/**
 * Without `--workers` (a table's chunks run `lanes` at a time, run.ts DEFAULT_WORKERS): the most rows in a
 * chunk. Every chunk's start costs its lane a pipeline fill (its connections and claim, then its first
 * batch through every stage alone), so chunks are large; their number is a multiple of the lanes,
 * so that the lanes finish together (a 1M-row table: two chunks of 500,000 rows; 1.2M: four of 300,000).
 * A table of at most 250,000 rows is one chunk.
 */
export const CHUNK_ROWS = 500_000;
/** With `--workers N`: two chunks per worker, each at most this many rows. */
export const WORKER_CHUNK_ROWS = 250_000;
export const MIN_CHUNK_ROWS = 20_000;

/** Rows per chunk; `workers` is `--workers`, undefined without it (`lanes` chunks at a time). */
export function chunkRows(estimatedRows: number, workers: number | undefined, lanes: number): number {
  if (workers !== undefined) {
    return Math.max(MIN_CHUNK_ROWS, Math.min(WORKER_CHUNK_ROWS, Math.ceil(estimatedRows / (workers * 2))));
  }
  // A table of up to half a chunk is not split (its one chunk: planChunks).
  if (estimatedRows <= CHUNK_ROWS / 2) return CHUNK_ROWS;
  const chunks = lanes * Math.ceil(estimatedRows / (lanes * CHUNK_ROWS));
  return Math.max(MIN_CHUNK_ROWS, Math.ceil(estimatedRows / chunks));
}

/** The table's chunk ids, creating its split when it has none yet. */
export async function planChunks(
  ctx: EngineContext,
  state: StateStore,
  m: TableMapping,
  workers: number | undefined,
  lanes: number,
): Promise<number[]> {
  const mine = async () =>
    (await state.list(ctx.planName))
      .filter((c) => c.table === m.label)
      .map((c) => c.chunk)
      .sort((a, b) => a - b);
  const existing = await mine();
  if (existing.length > 0) return existing;
  const every = chunkRows(m.estimatedRows, workers, lanes);
  if (m.key.length === 0 || !state.createChunks || !ctx.source.splitter || m.estimatedRows <= every) {
    return [0];
  }
  const bounds =
    (await valueBoundaries(ctx.source, m, every)) ??
    (await ctx.source.splitter.keyBoundaries({ from: m.from, columns: m.sourceColumns, key: m.key, every }));
  // The last chunk is open-ended, so rows added behind the last boundary are still copied.
  const edges = bounds.map((b) => encodeKey(b));
  const ranges = [...edges, null].map((end, i) => ({ start: i === 0 ? null : edges[i - 1]!, end }));
  await state.createChunks(ctx.planName, m.label, m.mappingHash, ranges);
  return mine();
}

/**
 * Boundaries of a dense integer key split by value: `ceil(rows / every)` ranges of equal width between its
 * smallest and largest value, read from the index at once. Counting `every` rows per boundary instead
 * (keyBoundaries) walks the whole index, which for MySQL's clustered key means the table's pages, before
 * any row moves. Dense means at least one row per two values, so no range holds
 * more than twice its share; a sparser key (or one the estimate misjudges that far) is counted. null: not
 * an integer key, or not dense. `migrate verify` splits its digest chunks the same way (verify/chunked.ts).
 */
export async function valueBoundaries(
  source: Dialect,
  m: TableMapping,
  every: number,
): Promise<Row[] | null> {
  const column = m.key.length === 1 ? m.sourceColumns[m.key[0]!]! : null;
  if (column?.kind !== 'int' || /^(year|bit)/i.test(column.dbType.trim())) return null;
  const extent = await source.splitter?.intExtent({ from: m.from, column });
  if (extent === undefined) return null;
  if (extent === null) return [];
  const [min, max] = extent.map(BigInt) as [bigint, bigint];
  const width = max - min + 1n;
  const rows = BigInt(m.estimatedRows);
  if (rows * 2n < width) return null;
  const parts = (rows + BigInt(every) - 1n) / BigInt(every);
  const out: Row[] = [];
  // Equal bounds (more parts than values, from a far-off estimate) are one.
  for (let i = 1n, last = min - 1n; i < parts; i++) {
    const bound = min + (width * i) / parts - 1n;
    if (bound > last) out.push([String(bound)]);
    last = bound;
  }
  return out;
}
