/**
 * The pipeline of one chunk (a key range of a table; a small or key-less table is one chunk): read a batch
 * (the next one is read meanwhile), convert it, write it with its checkpoint in one transaction and read it
 * back for the checksum, then warm the cache and check the entries while the next batch is written.
 * Resumes from the chunk's checkpoint; re-warms what a crash left unwarmed.
 */
import type { Batch } from '../db/batch.js';
import { readKeyed } from '../db/dialect.js';
import type { ChunkState, StateStore } from '../db/state-store.js';
import type { BatchResult, CheckpointUpdate, Writer } from '../db/writer.js';
import { SchemaError } from '../errors.js';
import { StageTimer } from '../timing.js';
import { batchPreparer, type PrepareBatch, type Prepared } from './batch-prep.js';
import { compareRows } from './compare.js';
import type { EngineContext } from './context.js';
import { LEASE_MS, readSpec, writeSpec } from './copy-specs.js';
import { copyWhole } from './copy-whole.js';
import { emptyCounts, type TableCounts } from './events.js';
import { decodeKey } from './key-codec.js';
import type { TableMapping } from './mapping.js';
import { ownerIsDead } from './owner.js';
import { type Committed, warmFromTarget, warmRows } from './warm-rows.js';

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
    checkSameMapping(m, claim);
    onClaim(claim);
    const range = { start: claim.rangeStart ?? null, end: claim.rangeEnd ?? null };
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

/** A chunk with checkpoints may only be resumed under the mapping (and cache key) they were written with. */
function checkSameMapping(m: TableMapping, claim: ChunkState): void {
  if (claim.mappingHash === m.mappingHash || !(claim.rowsRead > 0 || claim.status === 'done')) return;
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
  const after = lastKey === null ? null : decodeKey(lastKey);
  const until = rangeEnd === null ? null : decodeKey(rangeEnd);
  const it = readKeyed(ctx.source, readSpec(ctx, m, after, until))[Symbol.asyncIterator]();
  try {
    return await new KeyedCopy(ctx, m, chunkId, counts, writer, it, lastKey).run();
  } finally {
    await it.return?.(undefined).catch(() => undefined);
    await writer.close();
  }
}

/**
 * The pipelined loop of a keyed chunk and what it carries from batch to batch. Batch n is written while
 * batch n+1 is read, converted and packed, and batch n-1 warmed.
 */
class KeyedCopy {
  private readonly timer = new StageTimer();
  private readonly verify: boolean;
  /** Chosen once for the chunk: how each batch read is made ready for its write. */
  private readonly prepare: PrepareBatch;
  /** The read of the next batch, asked for ahead of its turn. */
  private next: Promise<IteratorResult<Batch>>;
  private warming: Promise<string> | null = null;
  private warmedThrough: string | undefined;
  private finished = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly m: TableMapping,
    private readonly chunkId: number,
    private readonly counts: TableCounts,
    private readonly writer: Writer,
    private readonly it: AsyncIterator<Batch>,
    /** The last key written (the checkpoint). */
    private last: string | null,
  ) {
    this.verify = m.options.verify === 'checksum';
    this.prepare = batchPreparer(ctx, m, counts, this.timer);
    this.next = it.next();
    this.next.catch(() => undefined);
  }

  async run(): Promise<boolean> {
    const { ctx, m, counts, timer } = this;
    let current = await this.readNext();
    while (current) {
      this.last = current.last;
      const checkpoint = this.checkpoint(current.batch.count, 0, current.skipped, false);
      const writing = this.writer.writeBatch(current.batch, checkpoint, this.verify);
      writing.catch(() => undefined);
      timer.mark('other');
      let upcoming: Prepared | null = null;
      let upcomingError: unknown = null;
      // Once a stop is asked for, nothing more is read: the batch being written is the last one.
      if (!ctx.shouldStop()) {
        try {
          upcoming = await this.readNext();
        } catch (error) {
          // Reported once the batch being written is committed.
          upcomingError = error;
        }
      }
      const committed = await this.settle(current.batch, writing);
      if (this.warming) this.warmedThrough = await this.warming;
      timer.mark('wait-warm');
      this.startWarming(current, committed);
      ctx.sink.emit({
        event: 'batch',
        table: m.label,
        chunk: this.chunkId,
        rows: current.read,
        lastKey: this.last,
        counts,
      });
      if (upcomingError) throw upcomingError;
      current = upcoming;
    }
    return this.finish();
  }

  /**
   * The next batch read, converted and packed, with the one after it asked for (read meanwhile); null at
   * the end. Its own frame: no batch stays referenced from the loop's once it is done with.
   */
  private async readNext(): Promise<Prepared | null> {
    const step = await this.next;
    this.timer.mark('wait-read');
    if (step.done) {
      this.finished = true;
      return null;
    }
    this.next = this.it.next();
    this.next.catch(() => undefined);
    this.counts.read += step.value.count;
    return this.prepare(step.value);
  }

  /** Waits for a batch's write, counts it and compares its read-back; what the warming needs of it. */
  private async settle(batch: Batch, writing: Promise<BatchResult>): Promise<Committed | null> {
    const { ctx, m, counts } = this;
    const result = await writing;
    this.timer.mark('write');
    counts.written += result.written;
    let committed: Committed | null = null;
    if (this.verify && result.identical) {
      counts.verified += batch.count;
      committed = { rows: [], differing: new Set() };
    } else if (this.verify && result.readBack) {
      const differing = new Set<number>();
      const rows = batch.rows();
      const bad = compareRows(m, rows, result.readBack, differing);
      // The target's rows are kept for the warming only when some differ (they are then what is cached).
      committed = { rows: differing.size > 0 ? result.readBack : [], differing };
      for (const mismatch of bad) ctx.recordMismatch(mismatch);
      counts.verified += rows.length - bad.length;
      counts.mismatches += bad.length;
    }
    this.timer.mark('compare');
    return committed;
  }

  /** Warms the batch just committed while the next one is written; the checkpoints then record it. */
  private startWarming(current: Prepared, committed: Committed | null): void {
    const { ctx, m } = this;
    if (!ctx.cache || !m.cache) return;
    const batchLast = current.last;
    this.warming = warmRows(ctx, m, current.batch, this.counts, { committed, packed: current.packed }).then(
      () => batchLast,
    );
    this.warming.catch(() => undefined);
  }

  /**
   * Marks the chunk done, records how far the cache is warmed and this run's mismatches, in one last small
   * transaction.
   */
  private async finish(): Promise<boolean> {
    if (this.warming) this.warmedThrough = await this.warming;
    this.timer.mark('wait-warm');
    this.timer.report(`${this.m.label} chunk ${this.chunkId}`);
    await this.writer.writeBatch([], this.checkpoint(0, this.counts.mismatches, 0, this.finished), false);
    return this.finished;
  }

  private checkpoint(written: number, mismatches: number, skipped: number, done: boolean): CheckpointUpdate {
    const { ctx, m } = this;
    return {
      plan: ctx.planName,
      table: m.label,
      chunk: this.chunkId,
      owner: ctx.owner,
      lastKey: this.last,
      ...(this.warmedThrough !== undefined ? { warmedKey: this.warmedThrough } : {}),
      rowsRead: written + skipped,
      rowsWritten: written,
      mismatches,
      skipped,
      done,
      leaseMs: LEASE_MS,
    };
  }
}
