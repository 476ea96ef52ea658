/**
 * `migrate warm`: fill the cache from the target tables only (after a cache flush, or before cut-over). No
 * data moves and no checkpoint changes; entries are stored read-through style (`add` unless overwrite).
 */
import { UsageError } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import type { EngineContext } from './context.js';
import { type EventSink, emptyCounts, type Mismatch } from './events.js';
import type { TableMapping } from './mapping.js';
import { newOwner } from './owner.js';
import { ReportFiles } from './reports.js';
import { type SessionOptions, withSession } from './session.js';
import type { TableResult } from './table-run.js';
import { warmFromTarget } from './warm-rows.js';

export interface WarmOptions {
  tables?: string[] | undefined;
  batchSize?: number | undefined;
  concurrency?: number | undefined;
  sink: EventSink;
  shouldStop: () => boolean;
  reportDir: string;
}

export interface WarmResult {
  tables: TableResult[];
  mismatches: number;
  reportFiles: string[];
  interrupted: boolean;
}

export async function warmPlan(plan: Plan, opts: WarmOptions): Promise<WarmResult> {
  const cacheConfig = plan.cache;
  if (!cacheConfig || cacheConfig.warm === 'off') {
    throw new UsageError('the plan has no cache to warm (no `cache:` section, or `warm: off`)', {
      hint: 'add a cache section with servers and per-table `cache.key` templates',
    });
  }
  const reports = new ReportFiles(opts.reportDir, plan.name);
  const session: SessionOptions = {
    tables: opts.tables,
    cache: cacheConfig,
    concurrency: opts.concurrency,
    onCacheLog: (message) => opts.sink.emit({ event: 'warning', message }),
  };
  try {
    return await withSession(plan, session, async ({ source, target, mappings, cache }) => {
      let mismatches = 0;
      const ctx: EngineContext = {
        planName: plan.name,
        source,
        target,
        stateTable: '',
        cache,
        cacheConfig,
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
      const cached = mappings.filter((m) => m.cache !== null);
      opts.sink.emit({
        event: 'run-start',
        plan: plan.name,
        source: target.display,
        // Opened by the session: the plan has a cache (checked above).
        target: cache!.description,
        tables: cached.map((m) => m.label),
        dryRun: false,
      });
      const tables = await warmTables(ctx, cached);
      return { tables, mismatches, reportFiles: await reports.close(), interrupted: opts.shouldStop() };
    });
  } finally {
    // On success the files are in place already; after a failure, its error is the one to report.
    await reports.close().catch(() => undefined);
  }
}

/** Warms each table whole from the target, one after another, until done or stopped. */
async function warmTables(ctx: EngineContext, mappings: TableMapping[]): Promise<TableResult[]> {
  const results: TableResult[] = [];
  for (const m of mappings) {
    const started = Date.now();
    const counts = emptyCounts();
    const info = await ctx.target.describeTable(m.targetRef);
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
    const complete = !ctx.shouldStop();
    ctx.sink.emit({ event: 'table-done', table: m.label, counts, seconds, complete });
    results.push({ table: m.label, counts, seconds, complete });
    if (!complete) break;
  }
  return results;
}
