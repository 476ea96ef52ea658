/**
 * A table with no key cannot be resumed row-exactly, so it is copied in ONE transaction into an empty
 * target table: a crash leaves nothing, a re-run starts clean. Checked by a count and an order-free digest.
 */
import { createHash } from 'node:crypto';
import type { StateStore } from '../db/state-store.js';
import type { EngineContext } from './context.js';
import { convertRows } from './convert-rows.js';
import { LEASE_MS, readSpec, writeSpec } from './copy-specs.js';
import type { TableCounts } from './events.js';
import type { TableMapping } from './mapping.js';
import { warmFromTarget } from './warm-rows.js';

/** Copies the key-less table, then checks it and warms the cache from the target. Returns true. */
export async function copyWhole(
  ctx: EngineContext,
  m: TableMapping,
  state: StateStore,
  counts: TableCounts,
): Promise<boolean> {
  const verify = m.options.verify === 'checksum';
  const sourceDigest = new MultisetDigest();
  await writeWhole(ctx, m, counts, verify ? sourceDigest : null);
  if (verify || (ctx.cache && m.cache)) {
    await checkAndWarmWhole(ctx, m, counts, verify ? sourceDigest : null);
    await state.setWarmed(ctx.planName, m.label, 0, '[]');
  }
  return true;
}

/** Every batch into the one transaction, committed with the table's checkpoint; `digest` takes each row. */
async function writeWhole(
  ctx: EngineContext,
  m: TableMapping,
  counts: TableCounts,
  digest: MultisetDigest | null,
): Promise<void> {
  const writer = await ctx.target.openWriter(writeSpec(ctx, m));
  let skippedAll = 0;
  try {
    await writer.beginWhole();
    for await (const source of ctx.source.readBatches(readSpec(ctx, m, null, null))) {
      counts.read += source.length;
      const rows = convertRows(m, source, (r) => {
        skippedAll++;
        counts.skipped++;
        ctx.recordReject(r);
      });
      if (digest) for (const row of rows) digest.add(m.rowJson(row));
      counts.written += await writer.appendWhole(rows);
      ctx.sink.emit({ event: 'batch', table: m.label, chunk: 0, rows: source.length, lastKey: '', counts });
    }
    await writer.finishWhole({
      plan: ctx.planName,
      table: m.label,
      chunk: 0,
      owner: ctx.owner,
      lastKey: '[]',
      rowsRead: counts.read,
      rowsWritten: counts.written,
      mismatches: 0,
      skipped: skippedAll,
      done: true,
      leaseMs: LEASE_MS,
    });
  } finally {
    await writer.close();
  }
}

/** Reads the table back from the target: warms the cache and, with `sourceDigest`, compares digests. */
async function checkAndWarmWhole(
  ctx: EngineContext,
  m: TableMapping,
  counts: TableCounts,
  sourceDigest: MultisetDigest | null,
): Promise<void> {
  const targetDigest = new MultisetDigest();
  await warmFromTarget(ctx, m, {
    after: null,
    until: null,
    counts,
    onRows: sourceDigest
      ? (rows) => {
          for (const r of rows) targetDigest.add(m.rowJson(r));
        }
      : undefined,
    warm: Boolean(ctx.cache && m.cache),
  });
  if (!sourceDigest) return;
  if (sourceDigest.equals(targetDigest)) counts.verified += sourceDigest.count;
  else {
    counts.mismatches += 1;
    ctx.recordMismatch({
      table: m.label,
      key: '(whole table: no key)',
      in: 'target',
      problem: 'different',
    });
  }
}

/** An order-independent digest of a multiset of rows: count plus a sum of 64-bit row hashes. */
class MultisetDigest {
  count = 0;
  private sum = 0n;
  add(canonical: string): void {
    this.count++;
    this.sum = (this.sum + hash64(canonical)) & 0xffffffffffffffffn;
  }
  equals(other: MultisetDigest): boolean {
    return this.count === other.count && this.sum === other.sum;
  }
}

function hash64(s: string): bigint {
  return createHash('md5').update(s).digest().readBigUInt64LE(0);
}
