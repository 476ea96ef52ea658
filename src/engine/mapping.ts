/**
 * One plan table resolved against the real source and target: which columns are read and written (in one
 * shared order), the key, the converters, the cache key and value encoders, and the mapping hash that guards
 * resume. Everything per table that can be precompiled is, here; each step is in mapping/.
 */
import { createHash } from 'node:crypto';
import { type Converter, isIdentity } from '../convert/convert.js';
import { rowEquality } from '../convert/row-equal.js';
import { rowJsonEncoder } from '../convert/row-json.js';
import type { Column, Row } from '../convert/value.js';
import type { Dialect } from '../db/dialect.js';
import { formatTableRef, parseTableRef, type RowSource, type TableRef } from '../db/table.js';
import { NotYetError, RuntimeError } from '../errors.js';
import {
  type Plan,
  type PlanTable,
  type ResolvedTableOptions,
  resolveTableOptions,
  targetName,
} from '../plan/schema.js';
import { emptyCounts, type TableCounts } from './events.js';
import { type CacheMapping, cacheMapping } from './mapping/cache.js';
import { keptColumns, pairColumns } from './mapping/columns.js';
import { Problems, type TableEntry } from './mapping/entry.js';
import { keyPositions } from './mapping/key.js';
import { resolveSource } from './mapping/source.js';
import { resolveTargetTable } from './mapping/target-table.js';

export interface TableMapping {
  label: string;
  index: number;
  from: RowSource;
  sourceColumns: Column[];
  targetRef: TableRef;
  /** Same length and order as sourceColumns. */
  targetColumns: Column[];
  converters: Converter[];
  /** Every converter is the identity: source rows are used as they are. */
  convertsNothing: boolean;
  /** Indexes of the key columns, valid in both column lists. Empty: the table has no key. */
  key: number[];
  estimatedRows: number;
  options: ResolvedTableOptions;
  cache: CacheMapping | null;
  /** Canonical JSON of a converted row: the row's canonical form (and the `json` cache value). */
  rowJson: (row: Row) => string;
  /** Canonical equality of two converted/target rows, and the columns where they differ. */
  rowEquality: ReturnType<typeof rowEquality>;
  mappingHash: string;
  /**
   * `createTables`: the target table does not exist yet; these statements create it (the target columns
   * above are its mapped columns). Null: the table exists.
   */
  createSql: string[] | null;
  /**
   * The table's counts in this process. The converters count the zero dates they write as NULL here
   * (`nulled`: they see rows, not chunks); a run adds its chunks' counts to the same object.
   */
  totals: TableCounts;
}

/**
 * Resolves `plan.tables[index]`: its source, the columns kept, the target table, the column pairs, the key
 * and the cache; every problem found is reported at once. `planCreate`: a missing target table with
 * `createTables: true` is planned for creation (`createSql`), for `run`, `--dry-run` and `validate`; other
 * commands (verify, warm) need the table to exist.
 */
export async function resolveTable(
  plan: Plan,
  index: number,
  source: Dialect,
  target: Dialect,
  opts: { planCreate?: boolean } = {},
): Promise<TableMapping> {
  const table = plan.tables[index]!;
  const label = targetName(table);
  const entry: TableEntry = {
    plan,
    table,
    index,
    label,
    options: resolveTableOptions(plan, table),
    problems: new Problems(index),
  };
  const sourceSide = await resolveSource(table, index, source);
  const kept = keptColumns(table.columns ?? {}, sourceSide.columns, entry.problems);
  const targetRef = parseTableRef(label);
  const targetTable = await resolveTargetTable(
    entry,
    targetRef,
    { source, target },
    kept,
    sourceSide.key,
    opts.planCreate ?? false,
  );
  const totals = emptyCounts();
  const onZeroDateNull = () => {
    totals.nulled++;
  };
  const pairs = pairColumns(entry, kept, targetTable.info, target, onZeroDateNull);
  const key = keyPositions(entry, sourceSide.key, pairs, targetTable.info);
  const rowJson = rowJsonEncoder(pairs.targetColumns);
  const cache = cacheMapping(entry, pairs, rowJson, sourceSide);
  entry.problems.throwIfAny(label);
  return {
    label,
    index,
    from: sourceSide.from,
    sourceColumns: pairs.sourceColumns,
    targetRef,
    targetColumns: pairs.targetColumns,
    converters: pairs.converters,
    convertsNothing: pairs.converters.every(isIdentity),
    key,
    estimatedRows: sourceSide.estimatedRows,
    options: entry.options,
    cache,
    rowJson,
    rowEquality: rowEquality(pairs.targetColumns),
    mappingHash: mappingHash(plan, table, targetRef, key, pairs.sourceColumns, pairs.targetColumns, cache),
    createSql: targetTable.createSql,
    totals,
  };
}

/**
 * What a checkpoint was made under: a run resumes only when the table is read, keyed and written as before
 * (and, with a cache, warmed under the same keys).
 */
function mappingHash(
  plan: Plan,
  table: PlanTable,
  targetRef: TableRef,
  key: number[],
  sourceColumns: Column[],
  targetColumns: Column[],
  cache: CacheMapping | null,
): string {
  const planCache = plan.cache;
  return createHash('sha256')
    .update(
      JSON.stringify({
        source: typeof table.source === 'string' ? table.source : table.source.query,
        where: table.where ?? null,
        target: formatTableRef(targetRef),
        key: key.map((i) => sourceColumns[i]!.name),
        columns: sourceColumns.map((c, i) => [c.name, targetColumns[i]!.name]),
        // Where the entries already warmed are: a changed key needs a restart (absent without a cache, so
        // the hash of a table without one is what it always was).
        cacheKey:
          cache && planCache && table.cache?.key
            ? { template: table.cache.key, prefix: planCache.prefix, longKeys: planCache.longKeys }
            : undefined,
      }),
    )
    .digest('hex')
    .slice(0, 16);
}

/**
 * Runs the mapping's CREATE TABLE (the statements `--dry-run` shows) and resolves the table again against
 * the table as created, so converters and checks work from what the target really reports.
 */
export async function createTargetTable(
  plan: Plan,
  m: TableMapping,
  source: Dialect,
  target: Dialect,
): Promise<TableMapping> {
  if (!m.createSql) return m;
  if (!target.tableCreator) throw new NotYetError(`\`createTables: true\` into a ${target.name} target`);
  try {
    await target.tableCreator.createTable(
      m.targetRef,
      m.targetColumns,
      m.key.map((i) => m.targetColumns[i]!.name),
    );
  } catch (error) {
    throw new RuntimeError(
      `table ${m.label}: creating it in the target failed: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
        hint: 'create the table yourself (`migrate run --dry-run` shows the statements) and run again',
      },
    );
  }
  return resolveTable(plan, m.index, source, target, { planCreate: true });
}
