/**
 * `migrate run`: resolve every table against the databases, take or reset checkpoints, run the tables
 * (`--workers` at once), then write the report files and the summary.
 */
import type { ChunkState, StateStore } from '../db/state-store.js';
import { ConnectionError } from '../errors.js';
import { type Plan, type PlanCache, stateTableName } from '../plan/schema.js';
import { planChunks } from './chunks.js';
import type { EngineContext, Reject } from './context.js';
import { addCounts, type EventSink, emptyCounts, type Mismatch, type TableCounts } from './events.js';
import { createTargetTable, type TableMapping } from './mapping.js';
import { newOwner, ownerIsDead, ownerLabel } from './owner.js';
import { ReportFiles } from './reports.js';
import { isTransient, RETRY_DELAYS_MS, withRetries } from './retry.js';
import { type Session, type SessionOptions, withSession } from './session.js';
import { runChunk, type TableResult } from './table-run.js';
import { pool } from './worker-pool.js';

/**
 * Chunks of one table worked on at once when `--workers` is not given. One chunk at a time leaves both
 * the database and this process waiting on each other for much of the time (a batch's round trips); a
 * second chunk fills those gaps for one more read and write connection and its batches in memory. Only a
 * table split into several chunks (chunks.ts) gets it.
 */
const DEFAULT_WORKERS = 2;

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

/** What every chunk of every table of one run shares. */
interface Run {
  plan: Plan;
  opts: RunOptions;
  ctx: EngineContext;
  state: StateStore;
  /** The checkpoints as they were once the chunks were planned, for each table's start event. */
  chunkStates: ChunkState[];
  /** Mismatches recorded so far (by `ctx.recordMismatch`). */
  tally: { mismatches: number };
}

interface TableRun {
  m: TableMapping;
  /** This table's chunk ids, as planChunks gave them. */
  chunks: number[];
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

export async function runPlan(plan: Plan, opts: RunOptions): Promise<RunResult> {
  const cacheConfig = plan.cache && plan.cache.warm !== 'off' ? plan.cache : null;
  const reports = new ReportFiles(opts.reportDir, plan.name);
  const session: SessionOptions = {
    tables: opts.tables,
    planCreate: true,
    cache: cacheConfig,
    concurrency: opts.concurrency,
    onCacheLog: (message) => opts.sink.emit({ event: 'warning', message }),
  };
  try {
    return await withSession(plan, session, async (s) => {
      const run = await prepare(plan, s, cacheConfig, opts, reports);
      opts.sink.emit({
        event: 'run-start',
        plan: plan.name,
        source: s.source.display,
        target: s.target.display,
        tables: s.mappings.map((m) => m.label),
        dryRun: false,
      });
      const mappings = await createMissingTables(plan, s, opts.sink);
      const tables = await planTables(run, mappings);
      await runTables(run, tables);
      return {
        tables: tables.map((t) => tableResult(opts.sink, t)),
        mismatches: run.tally.mismatches,
        interrupted: opts.shouldStop(),
        reportFiles: await reports.close(),
      };
    });
  } finally {
    // On success the files are in place already; after a failure, its error is the one to report.
    await reports.close().catch(() => undefined);
  }
}

/** Takes the state table (`--restart`: drops this plan's checkpoints, or the named tables' ones first). */
async function prepare(
  plan: Plan,
  s: Session,
  cacheConfig: PlanCache | null,
  opts: RunOptions,
  reports: ReportFiles,
): Promise<Run> {
  const owner = newOwner();
  const stateTable = stateTableName(plan);
  const state = await s.target.state(stateTable);
  await state.ensure();
  if (opts.restart) {
    const only = opts.tables?.length ? s.mappings.map((m) => m.label) : null;
    await state.reset(plan.name, only, owner, ownerIsDead);
  }
  const tally = { mismatches: 0 };
  const ctx: EngineContext = {
    planName: plan.name,
    source: s.source,
    target: s.target,
    stateTable,
    cache: s.cache,
    cacheConfig,
    sink: opts.sink,
    owner,
    batchSize: opts.batchSize,
    shouldStop: opts.shouldStop,
    recordMismatch: (m: Mismatch) => {
      tally.mismatches++;
      reports.mismatch(m);
      opts.sink.emit({ event: 'mismatch', ...m });
    },
    recordReject: (r: Reject) => reports.reject(r),
    recordUnwarmed: (table, keys) => reports.unwarmed(table, keys),
  };
  return { plan, opts, ctx, state, chunkStates: [], tally };
}

/** `createTables`: missing target tables are created (as `--dry-run` showed) before any chunk is planned. */
async function createMissingTables(plan: Plan, s: Session, sink: EventSink): Promise<TableMapping[]> {
  const mappings: TableMapping[] = [];
  for (const m of s.mappings) {
    if (!m.createSql) {
      mappings.push(m);
      continue;
    }
    mappings.push(await createTargetTable(plan, m, s.source, s.target));
    sink.emit({ event: 'table-created', table: m.label, sql: m.createSql });
  }
  return mappings;
}

/** Each table's chunks, sized for the workers asked for, else for DEFAULT_WORKERS lanes (chunks.ts). */
async function planTables(run: Run, mappings: TableMapping[]): Promise<TableRun[]> {
  const tables: TableRun[] = [];
  for (const m of mappings) {
    const chunks = await planChunks(run.ctx, run.state, m, run.opts.workers, DEFAULT_WORKERS);
    tables.push({
      m,
      chunks,
      counts: m.totals,
      pending: chunks.length,
      started: 0,
      announced: false,
      complete: true,
      held: 0,
      holders: [],
    });
  }
  run.chunkStates = await run.state.list(run.plan.name);
  return tables;
}

/**
 * With `--workers N`: every table's chunks share N workers. Without: tables one after another, each one's
 * chunks DEFAULT_WORKERS at a time.
 */
async function runTables(run: Run, tables: TableRun[]): Promise<void> {
  const { workers, shouldStop } = run.opts;
  const itemsOf = (t: TableRun) => t.chunks.map((chunk) => ({ t, chunk }));
  const work = ({ t, chunk }: { t: TableRun; chunk: number }) => runTableChunk(run, t, chunk);
  if (workers !== undefined) {
    await pool(workers, tables.flatMap(itemsOf), shouldStop, work);
    return;
  }
  for (const t of tables) {
    if (shouldStop()) break;
    await pool(DEFAULT_WORKERS, itemsOf(t), shouldStop, work);
  }
}

/** One chunk, retried from its checkpoint while the connection comes back; the table's last one ends it. */
async function runTableChunk(run: Run, t: TableRun, chunk: number): Promise<void> {
  const { sink, shouldStop } = run.opts;
  const counts = emptyCounts();
  const onClaim = (claimed: ChunkState) => announceTable(run, t, claimed);
  const r = await withRetries(
    () => runChunk(run.ctx, t.m, chunk, onClaim, counts),
    shouldStop,
    (error, waitMs, attempt) =>
      sink.emit({
        event: 'warning',
        table: t.m.label,
        message: `connection lost (${error instanceof Error ? error.message : String(error)}); the batch in flight rolled back; retrying chunk ${chunk} from its checkpoint in ${waitMs / 1000}s (attempt ${attempt} of ${RETRY_DELAYS_MS.length + 1})`,
      }),
  ).catch((error: unknown) => {
    throw connectionGone(run.ctx, error);
  });
  addCounts(t.counts, r.counts);
  if (!r.claimed) t.held++;
  if (!r.complete) t.complete = false;
  if (--t.pending > 0) return;
  if (t.held > 0) t.holders = await holdersOf(run.state, run.plan.name, t.m.label, run.ctx.owner);
  finishTable(sink, t);
}

/** A transient failure that outlasted every retry, as the ConnectionError that names both servers. */
function connectionGone(ctx: EngineContext, error: unknown): unknown {
  if (!isTransient(error) || error instanceof ConnectionError) return error;
  return new ConnectionError(
    `${ctx.source.display} / ${ctx.target.display}`,
    `lost the connection and could not get it back after ${RETRY_DELAYS_MS.length + 1} attempts: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error, hint: `check the servers; run again to resume from the last committed batch` },
  );
}

/** The table's start event, once: when this run first claims one of its chunks. */
function announceTable(run: Run, t: TableRun, claimed: ChunkState): void {
  if (t.announced) return;
  t.announced = true;
  t.started = Date.now();
  const mine = run.chunkStates.filter((c) => c.table === t.m.label);
  run.opts.sink.emit({
    event: 'table-start',
    table: t.m.label,
    estimatedRows: t.m.estimatedRows,
    resumedFrom: claimed.lastKey,
    rowsDone: mine.reduce((a, c) => a + c.rowsRead, 0),
    alreadyDone: mine.length > 0 && mine.every((c) => c.status === 'done'),
  });
}

/** The table's result; a table whose chunks did not all run (stopped, or a failure) ends incomplete here. */
function tableResult(sink: EventSink, t: TableRun): TableResult {
  if (t.pending > 0) {
    t.complete = false;
    finishTable(sink, t);
  }
  return {
    table: t.m.label,
    counts: t.counts,
    seconds: t.started ? (Date.now() - t.started) / 1000 : 0,
    complete: t.complete,
  };
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
