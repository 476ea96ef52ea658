/**
 * Cache warming of committed rows (a run's batches; `migrate warm`'s reads of the target): render keys and
 * values, store them (write-through) or look them up and load the misses from the target (read-through),
 * and check the entries against the expected values.
 */

import { EntryPackBuilder, type PackedEntries } from '../cache/entry-pack.js';
import { isSkip, type KeySkip, type KeySkipReason } from '../cache/key-template.js';
import { ReadThrough } from '../cache/read-through.js';
import type { Row } from '../convert/value.js';
import { type Batch, type CopyJson, rowsOf } from '../db/batch.js';
import type { Dialect } from '../db/dialect.js';
import { RuntimeError } from '../errors.js';
import type { EngineContext } from './context.js';
import type { TableCounts } from './events.js';
import { encodeKey, keyOf, keyStringer, showKey } from './key-codec.js';
import type { TableMapping } from './mapping.js';

const readThroughs = new WeakMap<TableMapping, ReadThrough>();

const KEY_SKIP_TEXT: Record<KeySkipReason, string> = {
  'key-too-long': 'cache key over 250 bytes (`cache.longKeys: hash` would store it hashed)',
  'key-has-space-or-control':
    'cache key with whitespace or control characters (`cache.longKeys: hash` would store it hashed)',
  'key-has-null': 'cache key template over a NULL column',
};

function bump(counts: TableCounts, reason: string, n = 1): void {
  counts.cacheSkipped[reason] = (counts.cacheSkipped[reason] ?? 0) + n;
}

/** The rows of a batch that are cached, each with its key and value (same index in all three). */
interface RowEntries {
  keys: string[];
  values: Buffer[];
  rows: Row[];
}

/**
 * Rows of a batch left out of the cache, per reason, with the warning for the first of each reason
 * (warned about once per table, when the tally is applied to the table's counts).
 */
class SkipTally implements SkipSink {
  readonly skipped = new Map<string, number>();
  readonly warnings = new Map<string, string>();

  add(reason: string, warning?: () => string): void {
    const n = this.skipped.get(reason);
    this.skipped.set(reason, (n ?? 0) + 1);
    if (n === undefined && warning) this.warnings.set(reason, warning());
  }

  applyTo(ctx: EngineContext, m: TableMapping, counts: TableCounts): void {
    for (const [reason, n] of this.skipped) {
      const warning = this.warnings.get(reason);
      if (warning && !counts.cacheSkipped[reason])
        ctx.sink.emit({ event: 'warning', table: m.label, message: warning });
      bump(counts, reason, n);
    }
  }
}

function keySkipWarning(m: TableMapping, skip: KeySkipReason, row: Row): string {
  const which = m.key.length ? ` for row ${rowKeyText(m, row)}` : '';
  return `${KEY_SKIP_TEXT[skip]}${which}: not cached (the row is migrated); further ones are counted`;
}

function tooLargeWarning(key: string, bytes: number, max: number): string {
  return `cache value of ${bytes} bytes for key ${key} is over cache.maxValueBytes (${max}): not cached (the row is migrated); raise cache.maxValueBytes (and memcached's -I) to cache it; further ones are counted`;
}

function rowEntries(ctx: EngineContext, m: TableMapping, rows: Row[], counts: TableCounts): RowEntries {
  const mc = m.cache!;
  const max = ctx.cacheConfig!.maxValueBytes;
  const out: RowEntries = { keys: [], values: [], rows: [] };
  const tally = new SkipTally();
  for (const row of rows) {
    const key = mc.render(row);
    if (isSkip(key)) {
      tally.add(key.skip, () => keySkipWarning(m, key.skip, row));
      continue;
    }
    const value = mc.value(row);
    if (value === null) tally.add('value-null');
    else if (value.length > max) tally.add('value-too-large', () => tooLargeWarning(key, value.length, max));
    else {
      out.keys.push(key);
      out.values.push(value);
      out.rows.push(row);
    }
  }
  tally.applyTo(ctx, m, counts);
  return out;
}

/**
 * The target's rows for a batch, as read back inside the batch's transaction (the per-batch check), and which
 * source rows (by index) have a target row that differs or is missing: read-through loads are served from
 * these committed rows instead of a second query of the same rows.
 */
export interface Committed {
  rows: Row[];
  differing: ReadonlySet<number>;
}

/**
 * A batch's cache entries packed (see entry-pack.ts), with the rows left out and why. Packed as soon as the
 * batch is converted: each row's key and JSON are written into the pack's buffer at once, so no per-row
 * string lives on through the write (which would make the garbage collector copy and promote it).
 */
export interface PackedBatch {
  pack: PackedEntries;
  /** Rows not cached, and why. */
  skips: SkipTally;
}

/**
 * Packs the rows' cache entries. With `committed`, rows whose target row differs are packed with the target
 * row's value (what the application would load) and rows missing from the target are left out.
 */
export function packBatch(
  ctx: EngineContext,
  m: TableMapping,
  rows: Row[],
  committed: Committed | null = null,
): PackedBatch {
  const skips = new SkipTally();
  const pack = packRowEntries(m, rows, ctx.cacheConfig!.maxValueBytes, m.cache!.ttl, skips, committed);
  return { pack, skips };
}

/** The cache entries of decoded rows, every entry with `ttl` (see packBatch). */
export function packRowEntries(
  m: TableMapping,
  rows: readonly Row[],
  maxValueBytes: number,
  ttl: number,
  skips: SkipSink,
  committed: Committed | null = null,
): PackedEntries {
  const mc = m.cache!;
  const b = new EntryPackBuilder(rows.length * 320);
  let targetRows: Map<string, Row> | null = null;
  const keyString = keyStringer(m.key);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const key = mc.render(row);
    if (isSkip(key)) {
      skips.add(key.skip, () => keySkipWarning(m, key.skip, row));
      continue;
    }
    let value: string | Buffer | null;
    if (committed?.differing.has(i)) {
      // The target holds something else for this row (reported by the check): the application would load
      // that, so that is what is cached.
      targetRows ??= byKey(m, committed.rows);
      const target = targetRows.get(keyString(row));
      if (!target) {
        skips.add('not-in-target');
        continue;
      }
      value = mc.packValue(target);
    } else value = mc.packValue(row);
    if (value === null) {
      skips.add('value-null');
      continue;
    }
    const bytes = b.add(key, value, ttl);
    if (bytes > maxValueBytes) {
      b.undo();
      skips.add('value-too-large', () => tooLargeWarning(key, bytes, maxValueBytes));
    }
  }
  return b.finish();
}

/**
 * The first row of each cache key (the one a mismatch is reported by): looked up again only when the cache
 * holds a different value for some key.
 */
export function rowsByCacheKey(m: TableMapping, rows: Iterable<Row>): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const row of rows) {
    const key = m.cache!.render(row);
    if (!isSkip(key) && !out.has(key)) out.set(key, row);
  }
  return out;
}

/**
 * packBatch of a batch still in COPY text (see copyJsonOf): each value written by `copyJson` straight from
 * the text, only the key columns decoded.
 */
export function packCopyText(
  ctx: EngineContext,
  m: TableMapping,
  batch: Batch,
  copyJson: CopyJson,
): PackedBatch {
  const skips = new SkipTally();
  const pack = packCopyEntries(m, batch, copyJson, ctx.cacheConfig!.maxValueBytes, m.cache!.ttl, skips);
  return { pack, skips };
}

/** Where packing reports the rows it leaves out (a reason, and how to word the first one's warning). */
export interface SkipSink {
  add(reason: string, warning?: () => string): void;
}

/** The cache entries of a COPY text batch, every entry with `ttl` (see packCopyText). */
export function packCopyEntries(
  m: TableMapping,
  batch: Batch,
  copyJson: CopyJson,
  maxValueBytes: number,
  ttl: number,
  skips: SkipSink,
): PackedEntries {
  const { render, renderBytes } = m.cache!;
  const text = batch.copyText!.text;
  // An entry is about its line, the column names and its key: a pack seldom grows (and it grows by half).
  const b = new EntryPackBuilder(text.length + batch.count * (copyJson.maxBytes(0) + 80) + 8192);
  /** The line's key from the string renderer; null: written as bytes by the byte renderer. */
  let key: string | KeySkip | null = null;
  /** Starts the line's entry with room for `room` value bytes; -1: the row is not cached (`key` says why). */
  const begin = (room: number): number => {
    if (renderBytes) {
      // The key's bytes straight from the line, when the byte renderer can write them.
      const at = b.beginKey(renderBytes.maxBytes, room);
      const n = renderBytes.render(text, copyJson, b.buffer, at);
      if (n >= 0) {
        key = null;
        return b.keyWritten(n, ttl);
      }
    }
    key = render(copyJson.keyRow());
    return isSkip(key) ? -1 : b.begin(key, ttl, room);
  };
  copyJson.lines(text, (start, end) => {
    let room = copyJson.maxBytes(end - start);
    let at = begin(room);
    if (at < 0) {
      const { skip } = key as KeySkip;
      const row = copyJson.keyRow();
      skips.add(skip, () => keySkipWarning(m, skip, row));
      return;
    }
    let valueEnd = copyJson.writeJson(text, start, end, b.buffer, at);
    while (valueEnd < 0) {
      room *= 2;
      at = begin(room);
      valueEnd = copyJson.writeJson(text, start, end, b.buffer, at);
    }
    const bytes = b.commit(valueEnd);
    if (bytes > maxValueBytes) {
      const named = (key ?? render(copyJson.keyRow())) as string;
      b.undo();
      skips.add('value-too-large', () => tooLargeWarning(named, bytes, maxValueBytes));
    }
  });
  return b.finish();
}

/**
 * The writer of row JSON from a batch's COPY text (Dialect.copyCodec), when the cache value is the row's JSON:
 * such a batch's cache entries are packed without decoding it. `from: 'source'`: for batches as the source
 * read them, which go to the target as read (same kinds, nothing converted); `'target'`: for batches the
 * target encoded from the converted rows (CopyTextCodec.encodeBatch).
 */
export function copyJsonOf(dialect: Dialect, m: TableMapping, from: 'source' | 'target'): CopyJson | null {
  const mc = m.cache;
  if (!mc?.valueIsRowJson || !dialect.copyCodec) return null;
  if (from === 'source') {
    if (!m.convertsNothing) return null;
    if (m.sourceColumns.some((c, i) => c.kind !== m.targetColumns[i]!.kind)) return null;
  }
  const decoded = [...new Set([...mc.keyColumns, ...m.key])];
  return dialect.copyCodec.copyJson(
    from === 'source' ? m.sourceColumns : m.targetColumns,
    m.targetColumns.map((c) => c.name),
    decoded,
  );
}

/**
 * Whether a batch's entries can be packed before it is written: every warm except read-through without
 * the per-batch read-back, which looks its keys up after the commit instead (warmRows).
 */
export function packsAhead(ctx: EngineContext, m: TableMapping): boolean {
  return (
    ctx.cache !== null &&
    m.cache !== null &&
    !(ctx.cacheConfig?.warm === 'read-through' && m.options.verify !== 'checksum')
  );
}

/**
 * Warms rows just committed to the target. `fromTarget`: the rows were read from the target (re-warm,
 * `migrate warm`). When every value is known — write-through, rows from the target, or read-through with
 * the committed rows at hand — the packed batch is filled in one call (`add` finds what the application
 * cached meanwhile, and that is compared); otherwise the keys are looked up and the misses loaded from
 * the target by key.
 */
export async function warmRows(
  ctx: EngineContext,
  m: TableMapping,
  rows: Row[] | Batch,
  counts: TableCounts,
  opts: {
    fromTarget?: boolean;
    committed?: Committed | null;
    /** `packBatch(ctx, m, rows)`, when packed already. */
    packed?: PackedBatch | null;
  } = {},
): Promise<void> {
  const cfg = ctx.cacheConfig!;
  const readThrough = cfg.warm === 'read-through' && !opts.fromTarget;
  const committed = opts.committed ?? null;
  if (readThrough && committed === null) {
    await warmByLookup(ctx, m, rowsOf(rows), counts);
    return;
  }
  const packed =
    readThrough && committed && committed.differing.size > 0
      ? packBatch(ctx, m, rowsOf(rows), committed)
      : (opts.packed ?? packBatch(ctx, m, rowsOf(rows)));
  packed.skips.applyTo(ctx, m, counts);
  if (packed.pack.count === 0) return;
  const res = await ctx.cache!.fill(packed.pack, cfg.overwrite ? 'set' : 'add');
  counts.cached += res.stored + res.same + res.different.length;
  if (m.options.verify === 'checksum' && res.different.length > 0) {
    // Rare: find the rows of the keys again.
    const rowOf = rowsByCacheKey(m, rowsOf(rows));
    for (const key of res.different) cacheDiffers(ctx, m, counts, key, rowOf.get(key));
  }
  unwarmed(ctx, m, counts, res.failed);
}

function byKey(m: TableMapping, rows: Row[]): Map<string, Row> {
  const keyString = keyStringer(m.key);
  const out = new Map<string, Row>();
  for (const row of rows) out.set(keyString(row), row);
  return out;
}

function cacheDiffers(
  ctx: EngineContext,
  m: TableMapping,
  counts: TableCounts,
  key: string,
  row: Row | undefined,
): void {
  counts.mismatches++;
  ctx.recordMismatch({
    table: m.label,
    key: m.key.length && row ? rowKeyText(m, row) : key,
    in: 'cache',
    problem: 'different',
  });
}

/** Keys whose server failed: counted and listed, or the run stops (`cache.required`). */
function unwarmed(ctx: EngineContext, m: TableMapping, counts: TableCounts, failed: string[]): void {
  if (failed.length === 0) return;
  bump(counts, 'cache-server-failed', failed.length);
  ctx.recordUnwarmed(m.label, failed);
  if (ctx.cacheConfig!.required) {
    throw new RuntimeError(
      `table ${m.label}: ${failed.length} cache keys could not be stored (${ctx.cache!.description})`,
      {
        hint: 'cache.required is true, so the run stops; bring the servers back and run again to resume',
      },
    );
  }
}

/** Read-through without the committed rows at hand: get the keys, load the misses from the target by key. */
async function warmByLookup(
  ctx: EngineContext,
  m: TableMapping,
  rows: Row[],
  counts: TableCounts,
): Promise<void> {
  const cache = ctx.cache!;
  const cfg = ctx.cacheConfig!;
  const mc = m.cache!;
  const p = rowEntries(ctx, m, rows, counts);
  if (p.keys.length === 0) return;
  const verify = m.options.verify === 'checksum';
  const expected = new Map<string, Buffer>();
  for (let i = 0; i < p.keys.length; i++) expected.set(p.keys[i]!, p.values[i]!);
  const rt = readThrough(ctx, m);
  const rowByKey = new Map<string, Row>();
  for (let i = 0; i < p.keys.length; i++) rowByKey.set(p.keys[i]!, p.rows[i]!);
  const res = await rt.fetch(p.keys, async (missing) => {
    const keys = missing.map((k) => keyOf(rowByKey.get(k)!, m.key));
    const loaded = await ctx.target.fetchByKeys(m.targetRef, m.targetColumns, m.key, keys);
    const out = new Map<string, Buffer>();
    for (const row of loaded) {
      const key = mc.render(row);
      if (isSkip(key)) continue;
      // The usual case: the target holds exactly the row just written, whose value is already built.
      const source = rowByKey.get(key);
      const value = source && m.rowEquality.equals(source, row) ? expected.get(key)! : mc.value(row);
      if (value !== null) out.set(key, value);
    }
    return out;
  });
  counts.cached += res.hits.size + res.stored + res.existed;
  if (res.absent.length > 0) bump(counts, 'not-in-target', res.absent.length);
  let failed = res.failed;
  const toCheck = res.hits;
  if (cfg.overwrite && toCheck.size > 0) {
    // overwrite: true lets the migrated values win: a different value found in the cache is replaced
    // (as `set` does for write-through), not reported.
    const stale = [];
    for (const [key, value] of toCheck) {
      const want = expected.get(key);
      if (want && !value.equals(want)) stale.push({ key, value: want, ttl: mc.ttl });
    }
    if (stale.length > 0) {
      const res = await cache.store(stale, 'set');
      failed = failed.concat(res.failed);
      for (const entry of stale) toCheck.delete(entry.key);
    }
  }
  if (verify) {
    let rowOf: Map<string, Row> | null = null;
    for (const [key, value] of toCheck) {
      const want = expected.get(key);
      if (!want || value.equals(want)) continue;
      rowOf ??= new Map(p.keys.map((k, i) => [k, p.rows[i]!]));
      cacheDiffers(ctx, m, counts, key, rowOf.get(key));
    }
  }
  unwarmed(ctx, m, counts, failed);
}

/** `id=42`: the row's key as mismatches and warnings show it. */
function rowKeyText(m: TableMapping, row: Row): string {
  return showKey(
    m.key.map((i) => m.targetColumns[i]!.name),
    keyOf(row, m.key),
  );
}

function readThrough(ctx: EngineContext, m: TableMapping): ReadThrough {
  let rt = readThroughs.get(m);
  if (!rt) {
    rt = new ReadThrough(ctx.cache!, ctx.cacheConfig!.overwrite ? 'set' : 'add', m.cache!.ttl);
    readThroughs.set(m, rt);
  }
  return rt;
}

export interface TargetPass {
  after: Row | null;
  until: Row | null;
  counts: TableCounts;
  onRows?: ((rows: Row[]) => void) | undefined;
  /** Warm the rows read (default true). */
  warm?: boolean;
  onBatch?: (rows: number, lastKey: string) => void;
}

/** Reads the target table (a key range of it, or all) and warms the cache from it. */
export async function warmFromTarget(ctx: EngineContext, m: TableMapping, pass: TargetPass): Promise<void> {
  const warm = pass.warm !== false && ctx.cache !== null && m.cache !== null;
  const batches = ctx.target.readBatches({
    from: { kind: 'table', ref: m.targetRef },
    columns: m.targetColumns,
    key: m.key,
    batchSize: ctx.batchSize ?? m.options.batchSize,
    maxBatchBytes: m.options.maxBatchBytes,
    after: pass.after,
    until: pass.until,
  });
  for await (const rows of batches) {
    pass.onRows?.(rows);
    if (warm) await warmRows(ctx, m, rows, pass.counts, { fromTarget: true });
    const last = rows[rows.length - 1];
    pass.onBatch?.(rows.length, last && m.key.length ? encodeKey(keyOf(last, m.key)) : '');
    if (ctx.shouldStop()) break;
  }
}
