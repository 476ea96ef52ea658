/**
 * Reads a source and a target stream of batches side by side: both next batches are requested at once (each
 * database works while the other's batch is processed), and `onBatch` sees them as they come. Closes both
 * streams however it ends.
 */
import type { Row } from '../convert/value.js';
import type { ReadSpec } from '../db/dialect.js';
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
  try {
    while (sNext || tNext) {
      const [sStep, tStep]: (IteratorResult<Row[]> | null)[] = await Promise.all([sNext, tNext]);
      sNext = sStep && !sStep.done ? ask(s) : null;
      tNext = tStep && !tStep.done ? ask(t) : null;
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
