/**
 * Cache warming for committed rows: render keys and values, store them (write-through) or look them up and
 * load the misses from the target (read-through), and check the entries against the expected values.
 */

import { isSkip, type KeySkipReason } from '../cache/key-template.js';
import { ReadThrough } from '../cache/read-through.js';
import type { Row } from '../convert/value.js';
import { RuntimeError } from '../errors.js';
import type { EngineContext } from './context.js';
import type { TableCounts } from './events.js';
import { encodeKey, keyOf, keyStringer } from './key-codec.js';
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

interface Prepared {
  keys: string[];
  values: Buffer[];
  rows: Row[];
}

function prepare(
  ctx: EngineContext,
  m: TableMapping,
  rows: Row[],
  json: string[] | null,
  counts: TableCounts,
): Prepared {
  const mc = m.cache!;
  const max = ctx.cacheConfig!.maxValueBytes;
  const out: Prepared = { keys: [], values: [], rows: [] };
  const reuse = json !== null && mc.valueIsRowJson;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const key = mc.render(row);
    if (isSkip(key)) {
      if (!counts.cacheSkipped[key.skip]) {
        ctx.sink.emit({
          event: 'warning',
          table: m.label,
          message: `${KEY_SKIP_TEXT[key.skip]}${m.key.length ? ` for row ${keyText(m, row)}` : ''}: not cached (the row is migrated); further ones are counted`,
        });
      }
      bump(counts, key.skip);
      continue;
    }
    const value = reuse ? Buffer.from(json[i]!) : mc.value(row);
    if (value === null) {
      bump(counts, 'value-null');
      continue;
    }
    if (value.length > max) {
      if (!counts.cacheSkipped['value-too-large']) {
        ctx.sink.emit({
          event: 'warning',
          table: m.label,
          message: `cache value of ${value.length} bytes for key ${key} is over cache.maxValueBytes (${max}): not cached (the row is migrated); further ones are counted`,
        });
      }
      bump(counts, 'value-too-large');
      continue;
    }
    out.keys.push(key);
    out.values.push(value);
    out.rows.push(row);
  }
  return out;
}

/**
 * Warms rows just committed to the target. `fromTarget`: the rows were read from the target (re-warm,
 * `migrate warm`), so misses are served from them; otherwise misses are loaded from the target by key.
 */
export async function warmRows(
  ctx: EngineContext,
  m: TableMapping,
  rows: Row[],
  /** `m.rowJson` of each row when already computed (reused as the `json` cache value). */
  rowJson: string[] | null,
  counts: TableCounts,
  fromTarget = false,
  /**
   * The target's rows for this batch as read inside the batch's transaction (the per-batch check). Misses
   * are then served from them — the committed rows — instead of a second query of the same rows.
   */
  committed: Row[] | null = null,
): Promise<void> {
  const cache = ctx.cache!;
  const cfg = ctx.cacheConfig!;
  const mc = m.cache!;
  const p = prepare(ctx, m, rows, rowJson, counts);
  if (p.keys.length === 0) return;
  const mode = cfg.overwrite ? 'set' : 'add';
  const verify = m.options.verify === 'checksum';
  let failed: string[];
  let toCheck: Map<string, Buffer>;
  const expected = new Map<string, Buffer>();
  for (let i = 0; i < p.keys.length; i++) expected.set(p.keys[i]!, p.values[i]!);

  if (cfg.warm === 'write-through' || fromTarget) {
    const entries = p.keys.map((key, i) => ({ key, value: p.values[i]!, ttl: mc.ttl }));
    if (cfg.warm === 'write-through') {
      const res = await cache.store(entries, mode);
      counts.cached += res.stored + res.existed;
      failed = res.failed;
      toCheck = new Map();
      if (verify && res.existed > 0) {
        // `add` left some entries alone: they must hold the same value to count as warm.
        const failedKeys = new Set(res.failed);
        const taken = p.keys.filter((k) => !failedKeys.has(k));
        const got = await cache.get(taken);
        for (const [k, v] of got.hits) toCheck.set(k, v);
        toCheck.forEach((v, k) => {
          if (v.equals(expected.get(k)!)) toCheck.delete(k);
        });
      }
    } else {
      const rt = readThrough(ctx, m);
      const res = await rt.fetch(p.keys, async (missing) => {
        const out = new Map<string, Buffer>();
        for (const k of missing) out.set(k, expected.get(k)!);
        return out;
      });
      counts.cached += res.hits.size + res.stored + res.existed;
      failed = res.failed;
      toCheck = res.hits;
    }
  } else {
    const rt = readThrough(ctx, m);
    const rowByKey = new Map<string, Row>();
    for (let i = 0; i < p.keys.length; i++) rowByKey.set(p.keys[i]!, p.rows[i]!);
    const res = await rt.fetch(p.keys, async (missing) => {
      const keys = missing.map((k) => keyOf(rowByKey.get(k)!, m.key));
      const loaded = committed
        ? fromCommitted(m, committed, keys)
        : await ctx.target.fetchByKeys(m.targetRef, m.targetColumns, m.key, keys);
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
    failed = res.failed;
    toCheck = res.hits;
  }

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
      counts.mismatches++;
      rowOf ??= new Map(p.keys.map((k, i) => [k, p.rows[i]!]));
      const row = rowOf.get(key)!;
      ctx.recordMismatch({
        table: m.label,
        key: m.key.length ? keyText(m, row) : key,
        in: 'cache',
        problem: 'different',
      });
    }
  }
  if (failed.length > 0) {
    bump(counts, 'cache-server-failed', failed.length);
    ctx.recordUnwarmed(m.label, failed);
    if (cfg.required) {
      throw new RuntimeError(
        `table ${m.label}: ${failed.length} cache keys could not be stored (${cache.description})`,
        {
          hint: 'cache.required is true, so the run stops; bring the servers back and run again to resume',
        },
      );
    }
  }
}

/** The committed rows whose key is one of `keys`. */
function fromCommitted(m: TableMapping, committed: Row[], keys: Row[]): Row[] {
  const keyString = keyStringer(m.key);
  const byKey = new Map<string, Row>();
  for (const row of committed) byKey.set(keyString(row), row);
  const identity = m.key.map((_, i) => i);
  const wanted = keyStringer(identity);
  const out: Row[] = [];
  for (const k of keys) {
    const row = byKey.get(wanted(k));
    if (row) out.push(row);
  }
  return out;
}

function keyText(m: TableMapping, row: Row): string {
  const names = m.key.map((i) => m.targetColumns[i]!.name);
  return names.map((n, i) => `${n}=${String(keyOf(row, m.key)[i])}`).join(',');
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
    after: pass.after,
    until: pass.until,
  });
  for await (const rows of batches) {
    pass.onRows?.(rows);
    if (warm) await warmRows(ctx, m, rows, null, pass.counts, true);
    const last = rows[rows.length - 1];
    pass.onBatch?.(rows.length, last && m.key.length ? encodeKey(keyOf(last, m.key)) : '');
    if (ctx.shouldStop()) break;
  }
}
