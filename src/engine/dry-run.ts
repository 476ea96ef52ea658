/**
 * `migrate run --dry-run`: the online checks, then per table a trial: read a sample batch, convert it,
 * render its cache keys and values, write it to the target inside a transaction that is rolled back and
 * compare what the target would hold. Touches no cache and creates no state table. Reports to the sink
 * as a run does: `run-start` (with `dryRun: true`), then one `dry-run-table` event per table.
 */
import { isSkip } from '../cache/key-template.js';
import type { Row } from '../convert/value.js';
import type { Dialect } from '../db/dialect.js';
import { DataError, MigrateError, NotYetError } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import { compareRows } from './compare.js';
import { convertRows } from './convert-rows.js';
import type { EventSink, TrialResult } from './events.js';
import { checkCacheKeys } from './key-sample.js';
import type { TableMapping } from './mapping.js';
import { preflight } from './preflight.js';

export async function dryRun(
  plan: Plan,
  opts: { tables?: string[] | undefined; batchSize?: number | undefined; sink: EventSink },
): Promise<TrialResult[]> {
  const pre = await preflight(plan, opts.tables);
  try {
    opts.sink.emit({
      event: 'run-start',
      plan: plan.name,
      source: pre.source.display,
      target: pre.target.display,
      tables: pre.mappings.map((m) => m.label),
      dryRun: true,
    });
    const results: TrialResult[] = [];
    for (const m of pre.mappings) {
      const result = await trial(plan, pre.source, pre.target, m, opts.batchSize);
      opts.sink.emit({ event: 'dry-run-table', ...result });
      results.push(result);
    }
    return results;
  } finally {
    await pre.close();
  }
}

async function trial(
  plan: Plan,
  source: import('../db/dialect.js').Dialect,
  target: import('../db/dialect.js').Dialect,
  m: TableMapping,
  batchSize: number | undefined,
): Promise<TrialResult> {
  let sample: Row[] = [];
  for await (const batch of source.readBatches({
    from: m.from,
    columns: m.sourceColumns,
    key: m.key,
    batchSize: batchSize ?? m.options.batchSize,
    maxBatchBytes: m.options.maxBatchBytes,
    after: null,
  })) {
    sample = batch;
    break;
  }
  const rejects: string[] = [];
  const rows = convertRows(m, sample, (r) => rejects.push(r.error));
  const result: TrialResult = {
    table: m.label,
    estimatedRows: m.estimatedRows,
    key: m.key.map((i) => m.targetColumns[i]!.name),
    sampled: sample.length,
    converted: rows.length,
    rejected: rejects.length,
    wouldWrite: 0,
    mismatches: [],
    cacheKeys: 0,
    cacheSkipped: {},
    sampleKey: null,
    maxKeyBytes: 0,
    maxValueBytes: 0,
    nulled: m.totals.nulled,
    createSql: m.createSql,
  };
  checkCacheKeys(m, rows);
  if (!m.createSql) await trialWrite(target, m, rows, result);
  if (m.cache && plan.cache) {
    for (const row of rows) {
      const key = m.cache.render(row);
      if (isSkip(key)) {
        result.cacheSkipped[key.skip] = (result.cacheSkipped[key.skip] ?? 0) + 1;
        continue;
      }
      const value = m.cache.value(row);
      if (value === null) {
        result.cacheSkipped['value-null'] = (result.cacheSkipped['value-null'] ?? 0) + 1;
        continue;
      }
      if (value.length > plan.cache.maxValueBytes) {
        result.cacheSkipped['value-too-large'] = (result.cacheSkipped['value-too-large'] ?? 0) + 1;
        continue;
      }
      result.cacheKeys++;
      result.sampleKey ??= key;
      result.maxKeyBytes = Math.max(result.maxKeyBytes, Buffer.byteLength(key));
      result.maxValueBytes = Math.max(result.maxValueBytes, value.length);
    }
  }
  return result;
}

/** Writes the sample in a transaction that is rolled back, and compares what the target would hold. */
async function trialWrite(target: Dialect, m: TableMapping, rows: Row[], result: TrialResult): Promise<void> {
  const writer = await target.openWriter({
    ref: m.targetRef,
    columns: m.targetColumns,
    key: m.key,
    onConflict: m.options.onConflict,
    stateTable: '',
    label: m.label,
  });
  try {
    if (!writer.trialBatch) throw new NotYetError(`--dry-run against a ${target.name} target`);
    const written = await writer.trialBatch(rows).catch((error: unknown) => {
      throw trialError(m, error);
    });
    result.wouldWrite = written.written;
    if (written.readBack && m.key.length > 0) {
      result.mismatches = compareRows(m, rows, written.readBack);
    }
  } finally {
    await writer.close();
  }
}

/**
 * A value the target refused in the trial write (SQLSTATE class 22: data exception, 23: constraint) as a
 * DataError naming the table and, where the database says, the column; anything else as it is.
 */
function trialError(m: TableMapping, error: unknown): unknown {
  if (error instanceof MigrateError) return error;
  const e = error as {
    code?: unknown;
    sqlState?: unknown;
    column?: unknown;
    where?: unknown;
    message?: unknown;
  };
  const state = typeof e.sqlState === 'string' ? e.sqlState : typeof e.code === 'string' ? e.code : '';
  if (!/^(22|23)/.test(state)) return error;
  const message = typeof e.message === 'string' ? e.message : String(error);
  const column =
    typeof e.column === 'string'
      ? e.column
      : (/, column (.+?): /.exec(String(e.where ?? ''))?.[1] ?? /column '(.+?)'/.exec(message)?.[1]);
  return new DataError(
    { table: m.label, ...(column ? { column } : {}) },
    `the target refused the trial batch: ${message} (SQLSTATE ${state})`,
    { cause: error, hint: 'fix the source value, or change the target column type so that it can hold it' },
  );
}
