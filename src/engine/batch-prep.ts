/**
 * How a chunk's batches are made ready for their write, chosen once per chunk (batchPreparer): sent on as
 * read, transcoded from the source's wire rows, or decoded, converted and encoded by the target where it
 * can; each batch's cache entries packed on the way, before the write.
 */

import { type Batch, type CopyJson, rowsBatch } from '../db/batch.js';
import { type Transcoder, transcoderFor } from '../db/bridge/mysql-to-postgres.js';
import type { CopyTextCodec } from '../db/dialect.js';
import type { StageTimer } from '../timing.js';
import type { EngineContext } from './context.js';
import { convertRows } from './convert-rows.js';
import type { TableCounts } from './events.js';
import { encodeKey, keyOf } from './key-codec.js';
import type { TableMapping } from './mapping.js';
import { copyJsonOf, type PackedBatch, packBatch, packCopyText, packsAhead } from './warm-rows.js';

/** A batch read, converted and packed, waiting for its write. */
export interface Prepared {
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

/** Makes a batch read ready for its write (counted in `counts.read` by the caller). */
export type PrepareBatch = (read: Batch) => Prepared;

/** What a chunk's strategies share, set once per chunk. */
interface Prep {
  ctx: EngineContext;
  m: TableMapping;
  counts: TableCounts;
  timer: StageTimer;
  packAhead: boolean;
  /** The target's COPY text codec, when it has one: converted rows are written as its encoded batch. */
  codec: CopyTextCodec | undefined;
  /** Row JSON from the target's encoded COPY text, when the cache values are packed from it. */
  encodedJson: CopyJson | null;
}

/**
 * The chunk's strategy. The decoded rows are dropped in it: they die young instead of living through the
 * write. A batch is sent as read when nothing converts it and it is in the target's form already
 * (PostgreSQL to PostgreSQL); MySQL's wire rows are transcoded for a PostgreSQL target; any other batch is
 * converted, and encoded by the target when it can (CopyTextCodec.encodeBatch). A batch is decoded again
 * only when the check finds a difference. Each strategy hands a batch not in the form it needs to the next,
 * so what is chosen here never rests on the form a source promises.
 */
export function batchPreparer(
  ctx: EngineContext,
  m: TableMapping,
  counts: TableCounts,
  timer: StageTimer,
): PrepareBatch {
  const packAhead = packsAhead(ctx, m);
  const codec = ctx.target.copyCodec;
  const p: Prep = {
    ctx,
    m,
    counts,
    timer,
    packAhead,
    codec,
    encodedJson: packAhead && codec ? copyJsonOf(ctx.target, m, 'target') : null,
  };
  const copyJson = packAhead ? copyJsonOf(ctx.source, m, 'source') : null;
  const transcoder = transcoderFor(ctx.source, ctx.target, m);
  const converted = convertedPreparer(p);
  const fromWire: PrepareBatch = transcoder
    ? (read) => (read.wire ? transcoded(p, transcoder, read) : converted(read))
    : converted;
  if (copyJson) return (read) => (read.copyText ? sentAsRead(p, read, copyJson) : fromWire(read));
  return fromWire;
}

/** Batches that are not transcoded: sent as read when nothing needs their rows, else converted. */
function convertedPreparer(p: Prep): PrepareBatch {
  const convert = (read: Batch) => convertedBatch(p, read);
  if (!p.m.convertsNothing || p.packAhead) return convert;
  const asRead = (read: Batch) => prepared(p, read, read, 0, null);
  // A target that encodes takes a batch in its own form as read, and any other batch encoded.
  return p.codec ? (read) => (read.copyText ? asRead(read) : convert(read)) : asRead;
}

function prepared(p: Prep, read: Batch, batch: Batch, skipped: number, packed: PackedBatch | null): Prepared {
  return { read: read.count, batch, skipped, last: encodeKey(keyOf(read.last!, p.m.key)), packed };
}

/** Nothing converts the batch and it is the target's form: sent as read, its entries packed from its text. */
function sentAsRead(p: Prep, read: Batch, copyJson: CopyJson): Prepared {
  const packed = packCopyText(p.ctx, p.m, read, copyJson);
  p.timer.mark('pack');
  return prepared(p, read, read, 0, packed);
}

/**
 * Straight from the source's wire form to the target's COPY text; only rows off the fast paths are decoded
 * and converted.
 */
function transcoded(p: Prep, transcoder: Transcoder, read: Batch): Prepared {
  const { ctx, m, counts, timer } = p;
  let skipped = 0;
  const batch = transcoder.transcode(read.wire!, (row) => {
    const [converted] = convertRows(m, [row], (r) => {
      skipped++;
      ctx.recordReject(r);
    });
    return converted ?? null;
  });
  counts.skipped += skipped;
  timer.mark('transcode');
  let packed: PackedBatch | null = null;
  if (p.packAhead) {
    packed =
      p.encodedJson && batch.copyText
        ? packCopyText(ctx, m, batch, p.encodedJson)
        : packBatch(ctx, m, batch.rows());
  }
  timer.mark('pack');
  return prepared(p, read, batch, skipped, packed);
}

/** The batch decoded and converted; encoded by the target when it can; its entries packed. */
function convertedBatch(p: Prep, read: Batch): Prepared {
  const { ctx, m, counts, timer, codec } = p;
  let skipped = 0;
  let batch = read;
  const source = read.rows();
  const rows = convertRows(m, source, (r) => {
    skipped++;
    ctx.recordReject(r);
  });
  counts.skipped += skipped;
  timer.mark('convert');
  if (codec && (rows !== source || !read.copyText)) batch = codec.encodeBatch(m.targetColumns, rows);
  else if (rows !== source) batch = rowsBatch(rows);
  timer.mark('encode');
  let packed: PackedBatch | null = null;
  if (p.packAhead) {
    packed =
      p.encodedJson && batch.copyText && batch !== read
        ? packCopyText(ctx, m, batch, p.encodedJson)
        : packBatch(ctx, m, rows);
  }
  timer.mark('pack');
  return prepared(p, read, batch, skipped, packed);
}
