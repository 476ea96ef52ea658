/**
 * The pipeline of one chunk (a key range of a table; a small or key-less table is one chunk): read a batch
 * (the next one is read meanwhile), convert it, write it with its checkpoint in one transaction and read it
 * back for the checksum, then warm the cache and check the entries while the next batch is written.
 * Resumes from the chunk's checkpoint; re-warms what a crash left unwarmed.
 */
import { createHash } from 'node:crypto';
import type { Row } from '../convert/value.js';
import { transcoderFor } from '../db/bridge/mysql-to-postgres.js';
import {
  type Batch,
  type BatchResult,
  type CheckpointUpdate,
  type ChunkState,
  type ReadSpec,
  readKeyed,
  rowsBatch,
  type StateStore,
  type WriteSpec,
} from '../db/dialect.js';
import { SchemaError } from '../errors.js';
import { StageTimer } from '../timing.js';
import { compareRows } from './compare.js';
import type { EngineContext } from './context.js';
import { convertRows } from './convert-rows.js';
import { emptyCounts, type TableCounts } from './events.js';
import { decodeKey, encodeKey, keyOf } from './key-codec.js';
import type { TableMapping } from './mapping.js';
import { ownerIsDead } from './owner.js';
import {
  type Committed,
  copyJsonOf,
  type PackedBatch,
  packBatch,
  packCopyText,
  packsAhead,
  warmFromTarget,
  warmRows,
} from './warm-rows.js';

export const LEASE_MS = 60_000;

export interface TableResult {
  table: string;
  counts: TableCounts;
  seconds: number;
  complete: boolean;
}

export interface ChunkResult {
  /** False when another live run holds the chunk. */
  claimed: boolean;
  /** The chunk's state when claimed (rows done before this run, etc.). */
  before: ChunkState | null;
  counts: TableCounts;
  complete: boolean;
}

/** Called once the chunk is claimed, before any work: lets the run announce the table. */
export type OnClaim = (chunk: ChunkState) => void;

export async function runChunk(
  ctx: EngineContext,
  m: TableMapping,
  chunkId: number,
  onClaim: OnClaim,
  counts: TableCounts = emptyCounts(),
): Promise<ChunkResult> {
  const state = await ctx.target.state(ctx.stateTable);
  try {
    return await runClaimed(ctx, m, chunkId, onClaim, counts, state);
  } finally {
    await state.close?.();
  }
}

async function runClaimed(
  ctx: EngineContext,
  m: TableMapping,
  chunkId: number,
  onClaim: OnClaim,
  counts: TableCounts,
  state: StateStore,
): Promise<ChunkResult> {
  const claim = await state.claim(
    ctx.planName,
    m.label,
    chunkId,
    ctx.owner,
    LEASE_MS,
    m.mappingHash,
    ownerIsDead,
  );
  if (!claim) return { claimed: false, before: null, counts, complete: false };
  const renew = setInterval(() => {
    state.renew(ctx.planName, m.label, chunkId, ctx.owner, LEASE_MS).catch(() => undefined);
  }, LEASE_MS / 3);
  renew.unref();
  try {
    if (claim.mappingHash !== m.mappingHash && (claim.rowsRead > 0 || claim.status === 'done')) {
      throw new SchemaError(
        `table ${m.label}: the plan's table/key/column mapping changed, or its cache key (template, ` +
          'cache.prefix, cache.longKeys) did, since its checkpoints were written; entries already warmed ' +
          'stay under the keys they were written with',
        {
          hint:
            `run with --restart --tables ${m.label} to start this table over (entries under old keys stay ` +
            'until they expire or are deleted), or put the plan back as it was to resume',
        },
      );
    }
    onClaim(claim);
    const range = {
      start: claim.rangeStart ?? null,
      end: claim.rangeEnd ?? null,
    };
    // A crash between a batch's commit and its warming leaves keys unwarmed: warm them from the target.
    if (ctx.cache && m.cache && claim.lastKey !== null && claim.warmedKey !== claim.lastKey) {
      await rewarm(ctx, m, state, chunkId, claim.warmedKey ?? range.start, claim.lastKey, counts);
    }
    let complete = claim.status === 'done';
    if (!complete) {
      complete =
        m.key.length > 0
          ? await copyKeyed(ctx, m, chunkId, claim.lastKey ?? range.start, range.end, counts)
          : await copyWhole(ctx, m, state, counts);
    }
    return { claimed: true, before: claim, counts, complete };
  } finally {
    clearInterval(renew);
    await state.release(ctx.planName, m.label, chunkId, ctx.owner).catch(() => undefined);
  }
}

async function rewarm(
  ctx: EngineContext,
  m: TableMapping,
  state: StateStore,
  chunkId: number,
  from: string | null,
  until: string,
  counts: TableCounts,
): Promise<void> {
  const keyless = m.key.length === 0;
  await warmFromTarget(ctx, m, {
    after: keyless || from === null ? null : decodeKey(from),
    until: keyless ? null : decodeKey(until),
    counts,
  });
  await state.setWarmed(ctx.planName, m.label, chunkId, until);
}

function writeSpec(ctx: EngineContext, m: TableMapping): WriteSpec {
  return {
    ref: m.targetRef,
    columns: m.targetColumns,
    key: m.key,
    onConflict: m.options.onConflict,
    stateTable: ctx.stateTable,
    label: m.label,
  };
}

function readSpec(ctx: EngineContext, m: TableMapping, after: Row | null, until: Row | null): ReadSpec {
  return {
    from: m.from,
    columns: m.sourceColumns,
    key: m.key,
    batchSize: ctx.batchSize ?? m.options.batchSize,
    maxBatchBytes: m.options.maxBatchBytes,
    after,
    until,
  };
}

/** A batch read, converted and packed, waiting for its write. */
interface Prepared {
  /** Rows read (converted rows plus the ones rejected). */
  read: number;
  /**
   * What is written: the batch as read when nothing converts it (its rows decoded again only if the check
   * or the cache needs them after the write), else the converted rows.
   */
  batch: Batch;
  skipped: number;
  /** The batch's last key (the checkpoint). */
  last: string;
  packed: PackedBatch | null;
}

/** A keyed chunk: batch after batch from the checkpoint to the chunk's end. Returns whether it finished. */
async function copyKeyed(
  ctx: EngineContext,
  m: TableMapping,
  chunkId: number,
  lastKey: string | null,
  rangeEnd: string | null,
  counts: TableCounts,
): Promise<boolean> {
  const writer = await ctx.target.openWriter(writeSpec(ctx, m));
  const reader = readKeyed(
    ctx.source,
    readSpec(
      ctx,
      m,
      lastKey === null ? null : decodeKey(lastKey),
      rangeEnd === null ? null : decodeKey(rangeEnd),
    ),
  );
  const it = reader[Symbol.asyncIterator]();
  let warming: Promise<string> | null = null;
  let warmedThrough: string | undefined;
  let last = lastKey;
  let finished = false;
  const checkpoint = (written: number, mismatches: number, skipped: number, done: boolean) =>
    ({
      plan: ctx.planName,
      table: m.label,
      chunk: chunkId,
      owner: ctx.owner,
      lastKey: last,
      ...(warmedThrough !== undefined ? { warmedKey: warmedThrough } : {}),
      rowsRead: written + skipped,
      rowsWritten: written,
      mismatches,
      skipped,
      done,
      leaseMs: LEASE_MS,
    }) satisfies CheckpointUpdate;
  const timer = new StageTimer();
  const packAhead = packsAhead(ctx, m);
  const copyJson = packAhead ? copyJsonOf(ctx.source, m, 'source') : null;
  const encode = ctx.target.encodeBatch?.bind(ctx.target);
  const encodedJson = packAhead && encode ? copyJsonOf(ctx.target, m, 'target') : null;
  const transcoder = transcoderFor(ctx.source, ctx.target, m);
  const verify = m.options.verify === 'checksum';
  /**
   * Converts a batch read and packs its cache entries. The decoded rows are dropped here: they die young
   * instead of living through the write. What is written is the batch as read when nothing converts it and
   * it is in the target's form already (PostgreSQL to PostgreSQL), else the converted rows encoded by the
   * target (Dialect.encodeBatch) when it can, else the converted rows. A batch is decoded again only when
   * the check finds a difference.
   */
  const prepare = (read: Batch): Prepared => {
    counts.read += read.count;
    let skipped = 0;
    let batch = read;
    let packed: PackedBatch | null = null;
    if (copyJson && read.copyText) {
      packed = packCopyText(ctx, m, read, copyJson);
      timer.mark('pack');
    } else if (transcoder && read.wire) {
      // Straight from the source's wire form to the target's COPY text; only rows off the fast paths are
      // decoded and converted.
      batch = transcoder.transcode(read.wire, (row) => {
        const [converted] = convertRows(m, [row], (r) => {
          skipped++;
          ctx.recordReject(r);
        });
        return converted ?? null;
      });
      counts.skipped += skipped;
      timer.mark('transcode');
      if (packAhead) {
        packed =
          encodedJson && batch.copyText
            ? packCopyText(ctx, m, batch, encodedJson)
            : packBatch(ctx, m, batch.rows());
      }
      timer.mark('pack');
    } else if (!m.convertsNothing || packAhead || (encode && !read.copyText)) {
      const source = read.rows();
      const rows = convertRows(m, source, (r) => {
        skipped++;
        ctx.recordReject(r);
      });
      counts.skipped += skipped;
      timer.mark('convert');
      if (encode && (rows !== source || !read.copyText)) batch = encode(m.targetColumns, rows);
      else if (rows !== source) batch = rowsBatch(rows);
      timer.mark('encode');
      if (packAhead) {
        packed =
          encodedJson && batch.copyText && batch !== read
            ? packCopyText(ctx, m, batch, encodedJson)
            : packBatch(ctx, m, rows);
      }
      timer.mark('pack');
    }
    return { read: read.count, batch, skipped, last: encodeKey(keyOf(read.last!, m.key)), packed };
  };
  let next = it.next();
  next.catch(() => undefined);
  /**
   * The next batch read, converted and packed, with the one after it asked for (read meanwhile); null at
   * the end. Its own frame: no batch stays referenced from the loop's once it is done with.
   */
  const readNext = async (): Promise<Prepared | null> => {
    const step = await next;
    timer.mark('wait-read');
    if (step.done) {
      finished = true;
      return null;
    }
    next = it.next();
    next.catch(() => undefined);
    return prepare(step.value);
  };
  /** Waits for a batch's write, counts it and compares its read-back; what the warming needs of it. */
  const settle = async (batch: Batch, writing: Promise<BatchResult>): Promise<Committed | null> => {
    const result = await writing;
    timer.mark('write');
    counts.written += result.written;
    let committed: Committed | null = null;
    if (verify && result.identical) {
      counts.verified += batch.count;
      committed = { rows: [], differing: new Set() };
    } else if (verify && result.readBack) {
      const differing = new Set<number>();
      const rows = batch.rows();
      const bad = compareRows(m, rows, result.readBack, differing);
      // The target's rows are kept for the warming only when some differ (they are then what is cached).
      committed = { rows: differing.size > 0 ? result.readBack : [], differing };
      for (const mismatch of bad) ctx.recordMismatch(mismatch);
      counts.verified += rows.length - bad.length;
      counts.mismatches += bad.length;
    }
    timer.mark('compare');
    return committed;
  };
  try {
    let current = await readNext();
    // Batch n is written while batch n+1 is read, converted and packed, and batch n-1 warmed.
    while (current) {
      last = current.last;
      const writing = writer.writeBatch(
        current.batch,
        checkpoint(current.batch.count, 0, current.skipped, false),
        verify,
      );
      writing.catch(() => undefined);
      timer.mark('other');
      let upcoming: Prepared | null = null;
      let upcomingError: unknown = null;
      // Once a stop is asked for, nothing more is read: the batch being written is the last one.
      if (!ctx.shouldStop()) {
        try {
          upcoming = await readNext();
        } catch (error) {
          // Reported once the batch being written is committed.
          upcomingError = error;
        }
      }
      const committed = await settle(current.batch, writing);
      if (warming) warmedThrough = await warming;
      timer.mark('wait-warm');
      if (ctx.cache && m.cache) {
        const batchLast = last;
        warming = warmRows(ctx, m, current.batch, counts, { committed, packed: current.packed }).then(
          () => batchLast,
        );
        warming.catch(() => undefined);
      }
      ctx.sink.emit({
        event: 'batch',
        table: m.label,
        chunk: chunkId,
        rows: current.read,
        lastKey: last,
        counts,
      });
      if (upcomingError) throw upcomingError;
      current = upcoming;
    }
    if (warming) warmedThrough = await warming;
    timer.mark('wait-warm');
    timer.report(`${m.label} chunk ${chunkId}`);
    // Marks the table done, records how far the cache is warmed and this run's mismatches, in one last
    // small transaction.
    await writer.writeBatch([], checkpoint(0, counts.mismatches, 0, finished), false);
    return finished;
  } finally {
    await it.return?.(undefined).catch(() => undefined);
    await writer.close();
  }
}

/**
 * A table with no key cannot be resumed row-exactly, so it is copied in ONE transaction into an empty
 * target table: a crash leaves nothing, a re-run starts clean. Checked by a count and an order-free digest.
 */
async function copyWhole(
  ctx: EngineContext,
  m: TableMapping,
  state: StateStore,
  counts: TableCounts,
): Promise<boolean> {
  const writer = await ctx.target.openWriter(writeSpec(ctx, m));
  const verify = m.options.verify === 'checksum';
  const sourceDigest = new MultisetDigest();
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
      if (verify) for (const row of rows) sourceDigest.add(m.rowJson(row));
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
  if (verify || (ctx.cache && m.cache)) {
    const targetDigest = new MultisetDigest();
    await warmFromTarget(ctx, m, {
      after: null,
      until: null,
      counts,
      onRows: verify
        ? (rows) => {
            for (const r of rows) targetDigest.add(m.rowJson(r));
          }
        : undefined,
      warm: Boolean(ctx.cache && m.cache),
    });
    if (verify) {
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
    await state.setWarmed(ctx.planName, m.label, 0, '[]');
  }
  return true;
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
