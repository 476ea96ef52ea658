/**
 * Reads a source and a target stream of batches side by side: both next batches are requested at once (each
 * database works while the other's batch is processed), and `onBatch` sees them as they come. Closes both
 * streams however it ends.
 */
import type { Row } from '../convert/value.js';
import type { ReadSpec } from '../db/batch.js';
import type { TableCheck } from './table-check.js';

export interface PairedHandlers {
  source(rows: Row[]): void | Promise<void>;
  target(rows: Row[]): void | Promise<void>;
}

/** Returns true when both streams were read to the end (false: stopped by `shouldStop`). */
export async function readPaired(
  check: TableCheck,
  source: ReadSpec,
  target: ReadSpec,
  on: PairedHandlers,
): Promise<boolean> {
  const s = check.ctx.source.readBatches(source)[Symbol.asyncIterator]();
  const t = check.ctx.target.readBatches(target)[Symbol.asyncIterator]();
  const ask = (it: AsyncIterator<Row[]>) => {
    const p = it.next();
    p.catch(() => undefined);
    return p;
  };
  let sNext: Promise<IteratorResult<Row[]>> | null = ask(s);
  let tNext: Promise<IteratorResult<Row[]>> | null = ask(t);
  const read = { source: 0, target: 0, sourceDone: false, targetDone: false };
  try {
    while (sNext || tNext) {
      const [sStep, tStep]: (IteratorResult<Row[]> | null)[] = await Promise.all([sNext, tNext]);
      if (sStep) {
        if (sStep.done) read.sourceDone = true;
        else read.source += sStep.value.length;
      }
      if (tStep) {
        if (tStep.done) read.targetDone = true;
        else read.target += tStep.value.length;
      }
      // Batches are cut by bytes, so the two sides' batches hold different numbers of rows: the side that
      // has read more waits, or the rows waiting for their partner would pile up batch after batch.
      sNext = !read.sourceDone && (read.targetDone || read.source <= read.target) ? ask(s) : null;
      tNext = !read.targetDone && (read.sourceDone || read.target <= read.source) ? ask(t) : null;
      if (sStep && !sStep.done) await on.source(sStep.value);
      if (tStep && !tStep.done) await on.target(tStep.value);
      if (check.ctx.shouldStop() && (sNext || tNext)) return false;
    }
    return true;
  } finally {
    await Promise.all([
      s.return?.(undefined).catch(() => undefined),
      t.return?.(undefined).catch(() => undefined),
    ]);
  }
}
