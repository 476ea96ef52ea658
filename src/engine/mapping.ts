/**
 * One plan table resolved against the real source and target: which columns are read and written (in one
 * shared order), the key, the converters, the cache key and value encoders, and the mapping hash that guards
 * resume. Everything per table that can be precompiled is, here.
 */
import { createHash } from 'node:crypto';
import {
  compileKeyBytes,
  compileKeyTemplate,
  type KeyBytesRenderer,
  type KeyRenderer,
} from '../cache/key-template.js';
import { type Converter, converterFor, isIdentity } from '../convert/convert.js';
import { rowEquality } from '../convert/row-equal.js';
import { columnValueEncoder, rowJsonEncoder } from '../convert/row-json.js';
import type { Column, Row } from '../convert/value.js';
import type { Dialect } from '../db/dialect.js';
import type { RowSource, TableInfo, TableRef } from '../db/table.js';
import { formatTableRef, parseTableRef } from '../db/table.js';
import { mapColumns, TypeMapError } from '../db/type-map.js';
import { NotYetError, RuntimeError, renderPlanPath, SchemaError, type SchemaProblem } from '../errors.js';
import { templateColumns } from '../plan/key-template-syntax.js';
import { type Plan, type ResolvedTableOptions, resolveTableOptions, targetName } from '../plan/schema.js';
import { emptyCounts, type TableCounts } from './events.js';

export interface CacheMapping {
  render: KeyRenderer;
  /** `render` from a row's COPY text, where the template allows (packCopyEntries); null: `render` only. */
  renderBytes: KeyBytesRenderer | null;
  /** The cache value of a converted (target) row; null: this row is not cached (e.g. a NULL column value). */
  value: (row: Row) => Buffer | null;
  /** The same value as text (`json`: encoded as UTF-8 when packed, no Buffer per row) or bytes. */
  packValue: (row: Row) => string | Buffer | null;
  ttl: number;
  /** The value is the row's canonical JSON (`value: json`). */
  valueIsRowJson: boolean;
  /** Indexes of the columns the key template reads. */
  keyColumns: number[];
}

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

/** Collects every problem of a table before failing, so the user fixes them in one go. */
class Problems {
  readonly list: SchemaProblem[] = [];
  constructor(private readonly index: number) {}
  add(path: (string | number)[], message: string): void {
    this.list.push({ path: ['tables', this.index, ...path], message });
  }
}

/**
 * `planCreate`: a missing target table with `createTables: true` is planned for creation (`createSql`), for
 * `run`, `--dry-run` and `validate`; other commands (verify, warm) need the table to exist.
 */
export async function resolveTable(
  plan: Plan,
  index: number,
  source: Dialect,
  target: Dialect,
  opts: { planCreate?: boolean } = {},
): Promise<TableMapping> {
  const table = plan.tables[index]!;
  const path = `tables[${index}]`;
  const problems = new Problems(index);
  const options = resolveTableOptions(plan, table);
  const label = targetName(table);

  // Source: a table or a query.
  let from: RowSource;
  let sourceCols: Column[];
  let sourceKey: string[] = [];
  /** Column sets the source says are unique: its primary key and NOT NULL unique keys. */
  let sourceUniques: string[][] = [];
  let estimatedRows = 0;
  if (typeof table.source === 'string') {
    const ref = parseTableRef(table.source);
    const info = await source.describeTable(ref);
    if (!info) {
      throw new SchemaError(
        `${path}.source: table ${table.source} does not exist in the source (${source.display})`,
        {
          hint: 'check the table name (schema.table is allowed) and the source URL',
        },
      );
    }
    from = table.where ? { kind: 'table', ref, where: table.where } : { kind: 'table', ref };
    if (table.where) await checkSourceSql(source, from, index, ['where']);
    sourceCols = info.columns;
    sourceKey = table.key ?? info.primaryKey ?? info.uniqueKeys[0] ?? [];
    sourceUniques = [...(info.primaryKey ? [info.primaryKey] : []), ...info.uniqueKeys];
    estimatedRows = info.estimatedRows;
  } else {
    from = { kind: 'query', sql: table.source.query };
    await checkSourceSql(source, from, index, ['source', 'query']);
    sourceCols = await source.describeQuery(table.source.query);
    sourceKey = table.key ?? [];
  }

  // Column mapping: drop, rename, or same name.
  const rename = table.columns ?? {};
  for (const name of Object.keys(rename)) {
    if (!sourceCols.some((c) => c.name === name)) {
      problems.add(['columns', name], `the source has no column ${name} (it has: ${names(sourceCols)})`);
    }
  }
  const kept = sourceCols.filter((c) => rename[c.name] !== false);
  const targetRef = parseTableRef(label);
  let targetInfo = await target.describeTable(targetRef);
  let createSql: string[] | null = null;
  if (!targetInfo) {
    const at = ['tables', index, table.target ? 'target' : 'source'];
    if (!options.createTables || !opts.planCreate) {
      const later = options.createTables ? ' yet (createTables: `migrate run` creates it)' : '';
      const message = `table ${label} does not exist in the target${later} (${target.display})`;
      throw new SchemaError(`${path}.target: ${message}`, {
        hint: options.createTables
          ? 'run `migrate run` first: it creates the table'
          : 'create it first, or set `createTables: true` to create it from the source schema',
        problems: [{ path: at, message }],
      });
    }
    const targetKey = sourceKey
      .filter((k) => kept.some((c) => c.name === k))
      .map((k) => renamedTo(rename, k));
    const planned = await plannedTable(target, source, targetRef, kept, rename, targetKey, at);
    targetInfo = planned.info;
    createSql = planned.sql;
  }
  const totals = emptyCounts();
  const onZeroDateNull = () => {
    totals.nulled++;
  };
  const targetCols: Column[] = [];
  const converters: Converter[] = [];
  for (const col of kept) {
    const mapped = rename[col.name];
    const targetColName = typeof mapped === 'string' ? mapped : col.name;
    const tcol = targetInfo.columns.find((c) => c.name === targetColName);
    if (!tcol) {
      problems.add(
        ['columns'],
        `target table ${label} has no column ${targetColName} for source column ${col.name}; ` +
          `drop it with \`${col.name}: false\` or rename it with \`${col.name}: <target column>\``,
      );
      continue;
    }
    const convert = converterFor(col, tcol, {
      zeroDates: options.zeroDates,
      target: target.name,
      onZeroDateNull,
    });
    if (!convert) {
      problems.add(
        ['columns'],
        `source column ${col.name} (${col.dbType}) cannot be stored in target column ${tcol.name} (${tcol.dbType})`,
      );
      continue;
    }
    targetCols.push(tcol);
    converters.push(convert);
  }
  unwrittenRequired(targetInfo, targetCols, label, problems, columnsPath(table));
  const sourceColumns = kept.filter((c) => {
    const mapped = rename[c.name];
    const n = typeof mapped === 'string' ? mapped : c.name;
    return targetCols.some((t) => t.name === n);
  });

  // Key: positions in the shared column order.
  const key: number[] = [];
  for (const k of sourceKey) {
    const i = sourceColumns.findIndex((c) => c.name === k);
    if (i < 0)
      problems.add(['key'], `key column ${k} is not among the migrated columns (${names(sourceColumns)})`);
    else key.push(i);
  }
  if (key.length > 0 && options.onConflict !== 'error') {
    const targetKey = key.map((i) => targetCols[i]!.name).sort();
    const uniques = [targetInfo.primaryKey, ...targetInfo.uniqueKeys].filter(
      (u): u is string[] => u !== null,
    );
    if (!uniques.some((u) => sameSet(u, targetKey))) {
      problems.add(
        ['key'],
        `target table ${label} has no primary or unique key on (${targetKey.join(', ')}), needed for onConflict: ${options.onConflict}`,
      );
    }
  }

  // Cache.
  const rowJson = rowJsonEncoder(targetCols);
  let cache: CacheMapping | null = null;
  const planCache = plan.cache;
  const templateCols = targetCols.map((c, i) => ({ ...c, name: sourceColumns[i]!.name }));
  if (planCache && planCache.warm !== 'off' && table.cache?.key) {
    for (const name of templateCols.length ? templateColumns(table.cache.key) : []) {
      if (!templateCols.some((c) => c.name === name)) {
        problems.add(
          ['cache', 'key'],
          `{${name}} is not a migrated source column of table ${label} (${names(templateCols)})`,
        );
      }
    }
    const valueSpec = table.cache.value ?? 'json';
    const uniques = [sourceKey, ...sourceUniques].filter((u) => u.length > 0);
    const valueColumns =
      valueSpec === 'json' ? templateCols.map((c) => c.name) : [valueSpec.slice('column:'.length)];
    const uncovered = templateCoverage(table.cache.key, uniques, valueColumns, label);
    if (uncovered) problems.add(['cache', 'key'], uncovered);
    let value: CacheMapping['value'] | null = null;
    let packValue: CacheMapping['packValue'] | null = null;
    if (valueSpec === 'json') {
      value = (row) => Buffer.from(rowJson(row));
      packValue = rowJson;
    } else {
      const colName = valueSpec.slice('column:'.length);
      const i = templateCols.findIndex((c) => c.name === colName);
      if (i < 0) {
        problems.add(
          ['cache', 'value'],
          `column ${colName} is not a migrated source column of table ${label}`,
        );
      } else {
        const encode = columnValueEncoder(targetCols[i]!);
        value = (row) => encode(row[i] ?? null);
        packValue = value;
      }
    }
    if (problems.list.length === 0 && value && packValue) {
      cache = {
        render: compileKeyTemplate(table.cache.key, planCache.prefix, templateCols, planCache.longKeys),
        renderBytes: compileKeyBytes(table.cache.key, planCache.prefix, templateCols),
        value,
        packValue,
        ttl: table.cache.ttl ?? planCache.ttl,
        valueIsRowJson: valueSpec === 'json',
        keyColumns: [
          ...new Set(
            templateColumns(table.cache.key).map((n) => templateCols.findIndex((c) => c.name === n)),
          ),
        ],
      };
    }
  }

  if (problems.list.length > 0) {
    const lines = problems.list.map((p) => `${renderPlanPath(p.path)}: ${p.message}`);
    throw new SchemaError(`table ${label} cannot be migrated as planned:\n  ${lines.join('\n  ')}`, {
      hint: 'fix the plan (or the target schema) and run `migrate validate` again',
      problems: problems.list,
    });
  }

  const mappingHash = createHash('sha256')
    .update(
      JSON.stringify({
        source: typeof table.source === 'string' ? table.source : table.source.query,
        where: table.where ?? null,
        target: formatTableRef(targetRef),
        key: key.map((i) => sourceColumns[i]!.name),
        columns: sourceColumns.map((c, i) => [c.name, targetCols[i]!.name]),
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

  return {
    label,
    index,
    from,
    sourceColumns,
    targetRef,
    targetColumns: targetCols,
    converters,
    convertsNothing: converters.every(isIdentity),
    key,
    estimatedRows,
    options,
    cache,
    rowJson,
    rowEquality: rowEquality(targetCols),
    mappingHash,
    createSql,
    totals,
  };
}

/**
 * The plan's own SQL for a table (its `where`, its query), run by the source without reading a row: a
 * statement the server refuses is a plan problem at that line, not a failure half-way through a run.
 */
async function checkSourceSql(
  source: Dialect,
  from: RowSource,
  index: number,
  at: (string | number)[],
): Promise<void> {
  const refused = await source.checkRead(from);
  if (refused === null) return;
  const what = from.kind === 'query' ? 'query' : '`where`';
  const message = `the source refused the table's ${what}: ${refused}`;
  throw new SchemaError(`tables[${index}].${at.join('.')}: ${message}`, {
    hint: `fix the ${what} (\`migrate validate\` runs it on the source without reading a row)`,
    problems: [{ path: ['tables', index, ...at], message }],
  });
}

function renamedTo(rename: NonNullable<Plan['tables'][number]['columns']>, name: string): string {
  const mapped = rename[name];
  return typeof mapped === 'string' ? mapped : name;
}

/**
 * `createTables` for a missing target table: the table as it will be created (the kept source columns,
 * renamed, with types mapped by `db/type-map.ts`) and its DDL. A column with no exact target type is a
 * plan problem.
 */
async function plannedTable(
  target: Dialect,
  source: Dialect,
  ref: TableRef,
  kept: Column[],
  rename: NonNullable<Plan['tables'][number]['columns']>,
  key: string[],
  at: (string | number)[],
): Promise<{ info: TableInfo; sql: string[] }> {
  if (!target.tableCreator) throw new NotYetError(`\`createTables: true\` into a ${target.name} target`);
  const label = formatTableRef(ref);
  let columns: Column[];
  try {
    columns = mapColumns(
      kept.map((c) => ({ ...c, name: renamedTo(rename, c.name) })),
      key,
      source.name,
      target.name,
    );
  } catch (error) {
    if (!(error instanceof TypeMapError)) throw error;
    const message = `table ${label} cannot be created in the target: ${error.message}`;
    throw new SchemaError(message, {
      hint: 'create the table yourself, or drop the column with `<column>: false`',
      problems: [{ path: at, message }],
    });
  }
  return {
    info: {
      ref,
      columns,
      primaryKey: key.length > 0 ? key : null,
      uniqueKeys: [],
      requiredColumns: [],
      estimatedRows: 0,
    },
    sql: await target.tableCreator.createTableSql(ref, columns, key),
  };
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

/** Where a problem with the table's columns is written: `columns`, else `target`, else `source`. */
function columnsPath(table: Plan['tables'][number]): (string | number)[] {
  return [table.columns ? 'columns' : table.target ? 'target' : 'source'];
}

/**
 * Target columns that every INSERT must fill (NOT NULL, no default) but no source column is mapped to: every
 * row would be refused, so it is a plan problem before any row is read.
 */
function unwrittenRequired(
  info: TableInfo,
  written: Column[],
  label: string,
  problems: Problems,
  at: (string | number)[],
): void {
  for (const name of info.requiredColumns) {
    if (written.some((c) => c.name === name)) continue;
    problems.add(
      at,
      `target column ${name} of table ${label} is NOT NULL with no default, and no source column is written ` +
        `to it, so every row would be refused: map a source column to it (\`columns: { <source column>: ${name} }\`), ` +
        'give it a default in the target, or make it nullable',
    );
  }
}

/**
 * Two rows may share a cache key only if they share its value. So the key template must reference every
 * column of the table's key or of another unique key of the source (one row per key), or every column the
 * value is made of (`column:<name>`: that column; `json`: all of them). Undefined: it does.
 */
function templateCoverage(
  template: string,
  uniques: string[][],
  valueColumns: string[],
  label: string,
): string | undefined {
  const referenced = new Set(templateColumns(template));
  const covers = (columns: string[]) => columns.every((c) => referenced.has(c));
  if (uniques.some(covers) || covers(valueColumns)) return undefined;
  const first = uniques[0];
  if (!first) {
    return (
      `table ${label} has no key (nor a NOT NULL unique key), so rows can differ in any column the template ` +
      "leaves out and still share a cache key: set the table's `key:` to columns that identify a row and " +
      'reference them all, or reference every column the cached value is made of'
    );
  }
  const missing = first.filter((c) => !referenced.has(c));
  return (
    `the template does not reference the key column${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ` +
    `(key: ${first.join(', ')}${uniques.length > 1 ? ', or another unique key' : ''}), so two rows can render ` +
    `the same cache key: add ${missing.map((c) => `{${c}}`).join(' and ')} to it`
  );
}

function names(cols: Column[]): string {
  return cols.map((c) => c.name).join(', ') || '(none)';
}

function sameSet(a: string[], sortedB: string[]): boolean {
  if (a.length !== sortedB.length) return false;
  const sa = [...a].sort();
  return sa.every((v, i) => v === sortedB[i]);
}
