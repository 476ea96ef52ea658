/**
 * `migrate verify`: resolve the plan's tables against the databases (as `run` does), then check each table
 * whole (`table-verify.ts`); mismatches go to the sink and to `<plan>.mismatches.ndjson` next to the plan.
 * Reads only: no row, checkpoint or cache entry is written. A `driver: memory` cache is not checked (with a
 * warning): it existed only inside the process that ran `migrate run`.
 */
import type { EventSink, Mismatch } from '../engine/events.js';
import { ReportFiles } from '../engine/reports.js';
import { withSession } from '../engine/session.js';
import type { TableResult } from '../engine/table-run.js';
import type { Plan } from '../plan/schema.js';
import type { VerifyContext } from './table-check.js';
import { verifyTable } from './table-verify.js';

export interface VerifyOptions {
  tables?: string[] | undefined;
  /** false: `--no-cache`, the cache entries are not checked. */
  cache: boolean;
  concurrency?: number | undefined;
  sink: EventSink;
  shouldStop: () => boolean;
  /** Folder for the report file. */
  reportDir: string;
}

export interface VerifyResult {
  tables: TableResult[];
  mismatches: number;
  interrupted: boolean;
  reportFiles: string[];
}

export async function verifyPlan(plan: Plan, opts: VerifyOptions): Promise<VerifyResult> {
  const wanted = opts.cache && plan.cache && plan.cache.warm !== 'off' ? plan.cache : null;
  // The memory cache lives and dies with the process that filled it: a new process finds it empty.
  const cacheConfig = wanted?.driver === 'memory' ? null : wanted;
  const reports = new ReportFiles(opts.reportDir, plan.name);
  try {
    return await withSession(
      plan,
      { tables: opts.tables, cache: cacheConfig, concurrency: opts.concurrency },
      async ({ source, target, mappings, cache }) => {
        let mismatches = 0;
        const ctx: VerifyContext = {
          source,
          target,
          cache,
          cacheConfig,
          sink: opts.sink,
          shouldStop: opts.shouldStop,
          recordMismatch: (m: Mismatch) => {
            mismatches++;
            reports.mismatch(m);
            opts.sink.emit({ event: 'mismatch', ...m });
          },
        };
        opts.sink.emit({
          event: 'run-start',
          plan: plan.name,
          source: source.display,
          target: cache ? `${target.display} + ${cache.description}` : target.display,
          tables: mappings.map((m) => m.label),
          dryRun: false,
        });
        if (wanted && !cacheConfig) opts.sink.emit({ event: 'warning', message: MEMORY_CACHE_NOT_CHECKED });
        const results: TableResult[] = [];
        for (const m of mappings) {
          results.push(await verifyTable(ctx, m));
          if (opts.shouldStop()) break;
        }
        return {
          tables: results,
          mismatches,
          interrupted: opts.shouldStop(),
          reportFiles: await reports.close(),
        };
      },
    );
  } finally {
    // On success the files are in place already; after a failure, its error is the one to report.
    await reports.close().catch(() => undefined);
  }
}

const MEMORY_CACHE_NOT_CHECKED =
  'cache not checked: `cache.driver: memory` keeps entries only inside the process that ran ' +
  '`migrate run`, so `verify` (another process) has nothing to compare; the target is verified';
