/**
 * `migrate run`: resolve every table against the databases, take or reset checkpoints, run the tables
 * (`--workers` at once), then write the report files and the summary.
 */
import type { Cache } from '../cache/cache.js';
import { openCache } from '../cache/open.js';
import type { Dialect } from '../db/dialect.js';
import { openDialect, pingAll } from '../db/open.js';
import type { ChunkState, StateStore } from '../db/state-store.js';
import { ConnectionError, SchemaError, type SchemaProblem, UsageError } from '../errors.js';
import { type Plan, stateTableName, targetName } from '../plan/schema.js';
import { planChunks } from './chunks.js';
import type { EngineContext, Reject } from './context.js';
import { addCounts, type EventSink, emptyCounts, type Mismatch, type TableCounts } from './events.js';
import { createTargetTable, resolveTable, type TableMapping } from './mapping.js';
import { newOwner, ownerIsDead, ownerLabel } from './owner.js';
import { ReportFiles } from './reports.js';
import { isTransient, RETRY_DELAYS_MS, withRetries } from './retry.js';
import { runChunk, type TableResult } from './table-run.js';

/**
 * Chunks of one table worked on at once when `--workers` is not given. One chunk at a time leaves both
 * the database and this process waiting on each other for much of the time (a batch's round trips); a
 * second chunk fills those gaps (about +10% rows/s on a pg→pg copy) for one more read and write
 * connection and its batches in memory. Only a table split into several chunks (over 250,000 rows) gets it.
 */
export const DEFAULT_WORKERS = 2;

export interface RunOptions {
  tables?: string[] | undefined;
  restart?: boolean | undefined;
  batchSize?: number | undefined;
  workers?: number | undefined;
  concurrency?: number | undefined;
  sink: EventSink;
  shouldStop: () => boolean;
  /** Folder for report files (mismatches, rejects, unwarmed keys). */
  reportDir: string;
}

export interface RunResult {
  tables: TableResult[];
  mismatches: number;
  interrupted: boolean;
  reportFiles: string[];
}

/** Selected plan table indexes; unknown `--tables` names are a usage error. */
export function selectTables(plan: Plan, names: string[] | undefined): number[] {
  const all = plan.tables.map((t, i) => [targetName(t), i] as const);
  if (!names || names.length === 0) return all.map(([, i]) => i);
  const unknown = names.filter((n) => !all.some(([t]) => t === n));
  if (unknown.length > 0) {
    throw new UsageError(`--tables: no table named ${unknown.join(', ')} in the plan`, {
      hint: `the plan's tables (target names): ${all.map(([t]) => t).join(', ')}`,
    });
  }
  return all.filter(([t]) => names.includes(t)).map(([, i]) => i);
}

export async function resolveAll(
  plan: Plan,
  indexes: number[],
  source: Dialect,
  target: Dialect,
  opts: { planCreate?: boolean } = {},
) {
  const mappings: TableMapping[] = [];
  const messages: string[] = [];
  const problems: SchemaProblem[] = [];
  for (const i of indexes) {
    try {
      mappings.push(await resolveTable(plan, i, source, target, opts));
    } catch (error) {
      if (!(error instanceof SchemaError)) throw error;
      messages.push(error.message);
      problems.push(...error.problems);
    }
  }
  if (messages.length > 0) {
    throw new SchemaError(messages.join('\n'), {
      hint: 'fix the plan (or the target schema) and run `migrate validate` again',
      problems,
    });
  }
  return mappings;
}

export async function runPlan(plan: Plan, opts: RunOptions): Promise<RunResult> {
  const indexes = selectTables(plan, opts.tables);
  const source = await openDialect(plan.source.url);
  const target = await openDialect(plan.target.url);
  let cache: Cache | null = null;
  const reports = new ReportFiles(opts.reportDir, plan.name);
  try {
    await pingAll([source, target]);
    const mappings = await resolveAll(plan, indexes, source, target, { planCreate: true });
    const warm = plan.cache && plan.cache.warm !== 'off' ? plan.cache : null;
    if (warm)
      cache = await openCache(warm, opts.concurrency, (message) =>
        opts.sink.emit({ event: 'warning', message }),
      );
    const owner = newOwner();
    const stateTable = stateTableName(plan);
    const state = await target.state(stateTable);
    await state.ensure();
    if (opts.restart)
      await state.reset(
        plan.name,
        opts.tables?.length ? mappings.map((m) => m.label) : null,
        owner,
        ownerIsDead,
      );

    let mismatches = 0;
    const ctx: EngineContext = {
      planName: plan.name,
      source,
      target,
      stateTable,
      cache,
      cacheConfig: warm,
      sink: opts.sink,
      owner,
      batchSize: opts.batchSize,
      shouldStop: opts.shouldStop,
      recordMismatch: (m: Mismatch) => {
        mismatches++;
        reports.mismatch(m);
        opts.sink.emit({ event: 'mismatch', ...m });
      },
      recordReject: (r: Reject) => reports.reject(r),
      recordUnwarmed: (table, keys) => reports.unwarmed(table, keys),
    };
    opts.sink.emit({
      event: 'run-start',
      plan: plan.name,
      source: source.display,
      target: target.display,
      tables: mappings.map((m) => m.label),
      dryRun: false,
    });
    // createTables: missing target tables are created (as `--dry-run` showed) before any chunk is planned.
    for (const [i, m] of mappings.entries()) {
      if (!m.createSql) continue;
      mappings[i] = await createTargetTable(plan, m, source, target);
      opts.sink.emit({ event: 'table-created', table: m.label, sql: m.createSql });
    }
    const tables: TableRun[] = [];
    const work: { t: TableRun; chunk: number }[] = [];
    for (const m of mappings) {
      // Chunks are sized for the workers asked for, else for DEFAULT_WORKERS lanes (see chunks.ts).
      const chunks = await planChunks(ctx, state, m, opts.workers, DEFAULT_WORKERS);
      const t: TableRun = {
        m,
        counts: m.totals,
        pending: chunks.length,
        started: 0,
        announced: false,
        complete: true,
        held: 0,
        holders: [],
      };
      tables.push(t);
      for (const chunk of chunks) work.push({ t, chunk });
    }
    const chunkStates = await state.list(plan.name);
    const runItem = async ({ t, chunk }: { t: TableRun; chunk: number }) => {
      const counts = emptyCounts();
      const onClaim = (claimed: ChunkState) => {
        if (t.announced) return;
        t.announced = true;
        t.started = Date.now();
        const mine = chunkStates.filter((c) => c.table === t.m.label);
        opts.sink.emit({
          event: 'table-start',
          table: t.m.label,
          estimatedRows: t.m.estimatedRows,
          resumedFrom: claimed.lastKey,
          rowsDone: mine.reduce((a, c) => a + c.rowsRead, 0),
          alreadyDone: mine.length > 0 && mine.every((c) => c.status === 'done'),
        });
      };
      const r = await withRetries(
        () => runChunk(ctx, t.m, chunk, onClaim, counts),
        opts.shouldStop,
        (error, waitMs, attempt) =>
          opts.sink.emit({
            event: 'warning',
            table: t.m.label,
            message: `connection lost (${error instanceof Error ? error.message : String(error)}); the batch in flight rolled back; retrying chunk ${chunk} from its checkpoint in ${waitMs / 1000}s (attempt ${attempt} of ${RETRY_DELAYS_MS.length + 1})`,
          }),
      ).catch((error: unknown) => {
        if (!isTransient(error) || error instanceof ConnectionError) throw error;
        throw new ConnectionError(
          `${source.display} / ${target.display}`,
          `lost the connection and could not get it back after ${RETRY_DELAYS_MS.length + 1} attempts: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error, hint: `check the servers; run again to resume from the last committed batch` },
        );
      });
      addCounts(t.counts, r.counts);
      if (!r.claimed) t.held++;
      if (!r.complete) t.complete = false;
      if (--t.pending > 0) return;
      if (t.held > 0) t.holders = await holdersOf(state, plan.name, t.m.label, owner);
      finishTable(opts.sink, t);
    };
    if (opts.workers !== undefined) await pool(opts.workers, work, opts.shouldStop, runItem);
    else {
      // No --workers: tables one after another, each one's chunks DEFAULT_WORKERS at a time.
      for (const t of tables) {
        if (opts.shouldStop()) break;
        const mine = work.filter((w) => w.t === t);
        await pool(DEFAULT_WORKERS, mine, opts.shouldStop, runItem);
      }
    }
    const results = tables.map((t) => {
      if (t.pending > 0) {
        t.complete = false;
        finishTable(opts.sink, t);
      }
      return {
        table: t.m.label,
        counts: t.counts,
        seconds: t.started ? (Date.now() - t.started) / 1000 : 0,
        complete: t.complete,
      };
    });
    return {
      tables: results,
      mismatches,
      interrupted: opts.shouldStop(),
      reportFiles: await reports.close(),
    };
  } finally {
    await Promise.all([source.close(), target.close(), cache?.close()]);
    // On success the files are in place already; after a failure, its error is the one to report.
    await reports.close().catch(() => undefined);
  }
}

interface TableRun {
  m: TableMapping;
  counts: TableCounts;
  /** Chunks not finished by this run's workers. */
  pending: number;
  started: number;
  announced: boolean;
  complete: boolean;
  /** Chunks another live run holds. */
  held: number;
  /** Those runs' owner labels (pid@host/random), as the state table names them once this run is done. */
  holders: string[];
}

/** The other live owners of a table's chunks, for people: `pid@host/random`. */
async function holdersOf(state: StateStore, plan: string, table: string, self: string): Promise<string[]> {
  const chunks = await state.list(plan).catch(() => []);
  const owners = chunks
    .filter((c) => c.table === table && c.leaseLive && c.leaseOwner && c.leaseOwner !== self)
    .map((c) => ownerLabel(c.leaseOwner ?? ''));
  return [...new Set(owners)];
}

function finishTable(sink: EventSink, t: TableRun): void {
  if (t.announced) {
    const seconds = (Date.now() - t.started) / 1000;
    sink.emit({
      event: 'table-done',
      table: t.m.label,
      counts: t.counts,
      seconds,
      complete: t.complete && t.held === 0,
    });
  }
  if (t.held > 0) {
    const who =
      t.holders.length > 0
        ? `another live run of this plan (${t.holders.join(', ')})`
        : 'another live run of this plan';
    sink.emit({
      event: 'table-skip',
      table: t.m.label,
      reason: `${t.held} of its chunks are held by ${who}, which finishes them`,
      heldBy: t.holders,
    });
    t.complete = false;
  }
}

/**
 * Runs `work` over `items`, at most `n` at once; no new item starts once `stop()` is true; the first
 * failure stops new work and is rethrown.
 */
async function pool<T>(
  n: number,
  items: T[],
  stop: () => boolean,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  const runner = async () => {
    while (failed === null && next < items.length && !stop()) {
      const i = next++;
      try {
        await work(items[i]!);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, runner));
  if (failed !== null) throw failed;
}
