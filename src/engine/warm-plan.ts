/**
 * `migrate warm`: fill the cache from the target tables only (after a cache flush, or before cut-over). No
 * data moves and no checkpoint changes; entries are stored read-through style (`add` unless overwrite).
 */
import { openCache } from '../cache/open.js';
import { openDialect, pingAll } from '../db/open.js';
import { UsageError } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import type { EngineContext } from './context.js';
import { type EventSink, emptyCounts, type Mismatch } from './events.js';
import { newOwner } from './owner.js';
import { ReportFiles } from './reports.js';
import { resolveAll, selectTables } from './run.js';
import type { TableResult } from './table-run.js';
import { warmFromTarget } from './warm.js';

export interface WarmOptions {
  tables?: string[] | undefined;
  batchSize?: number | undefined;
  concurrency?: number | undefined;
  sink: EventSink;
  shouldStop: () => boolean;
  reportDir: string;
}

export async function warmPlan(
  plan: Plan,
  opts: WarmOptions,
): Promise<{ tables: TableResult[]; mismatches: number; reportFiles: string[]; interrupted: boolean }> {
  if (!plan.cache || plan.cache.warm === 'off') {
    throw new UsageError('the plan has no cache to warm (no `cache:` section, or `warm: off`)', {
      hint: 'add a cache section with servers and per-table `cache.key` templates',
    });
  }
  const indexes = selectTables(plan, opts.tables);
  const source = await openDialect(plan.source.url);
  const target = await openDialect(plan.target.url);
  const cache = await openCache(plan.cache, opts.concurrency, (message) =>
    opts.sink.emit({ event: 'warning', message }),
  );
  const reports = new ReportFiles(opts.reportDir, plan.name);
  let mismatches = 0;
  try {
    await pingAll([source, target]);
    const mappings = (await resolveAll(plan, indexes, source, target)).filter((m) => m.cache !== null);
    const ctx: EngineContext = {
      planName: plan.name,
      source,
      target,
      stateTable: '',
      cache,
      cacheConfig: plan.cache,
      sink: opts.sink,
      owner: newOwner(),
      batchSize: opts.batchSize,
      shouldStop: opts.shouldStop,
      recordMismatch: (m: Mismatch) => {
        mismatches++;
        reports.mismatch(m);
        opts.sink.emit({ event: 'mismatch', ...m });
      },
      recordReject: () => undefined,
      recordUnwarmed: (table, keys) => reports.unwarmed(table, keys),
    };
    opts.sink.emit({
      event: 'run-start',
      plan: plan.name,
      source: target.display,
      target: cache.description,
      tables: mappings.map((m) => m.label),
      dryRun: false,
    });
    const results: TableResult[] = [];
    for (const m of mappings) {
      const started = Date.now();
      const counts = emptyCounts();
      const info = await target.describeTable(m.targetRef);
      ctx.sink.emit({
        event: 'table-start',
        table: m.label,
        estimatedRows: info?.estimatedRows ?? 0,
        resumedFrom: null,
        rowsDone: 0,
        alreadyDone: false,
      });
      await warmFromTarget(ctx, m, {
        after: null,
        until: null,
        counts,
        onRows: (rows) => {
          counts.read += rows.length;
        },
        onBatch: (rows, lastKey) =>
          ctx.sink.emit({ event: 'batch', table: m.label, chunk: 0, rows, lastKey, counts }),
      });
      const seconds = (Date.now() - started) / 1000;
      const complete = !opts.shouldStop();
      ctx.sink.emit({ event: 'table-done', table: m.label, counts, seconds, complete });
      results.push({ table: m.label, counts, seconds, complete });
      if (!complete) break;
    }
    return {
      tables: results,
      mismatches,
      reportFiles: await reports.close(),
      interrupted: opts.shouldStop(),
    };
  } finally {
    await Promise.all([source.close(), target.close(), cache.close()]);
    // On success the files are in place already; after a failure, its error is the one to report.
    await reports.close().catch(() => undefined);
  }
}
