/**
 * The cache side of a plan table: its key template compiled over the migrated columns, its value encoder
 * and TTL, and the checks that two rows never share a key with different values.
 */
import {
  compileKeyBytes,
  compileKeyTemplate,
  type KeyBytesRenderer,
  type KeyRenderer,
} from '../../cache/key-template.js';
import { columnValueEncoder } from '../../convert/row-json.js';
import type { Column, Row } from '../../convert/value.js';
import { templateColumns } from '../../plan/key-template-syntax.js';
import type { ColumnPairs } from './columns.js';
import { names, type TableEntry } from './entry.js';
import type { SourceSide } from './source.js';

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

/**
 * The table's cache mapping; null when the plan warms no cache, or when the table has problems (which are
 * added to the entry's problems).
 */
export function cacheMapping(
  entry: TableEntry,
  pairs: ColumnPairs,
  rowJson: (row: Row) => string,
  sourceSide: Pick<SourceSide, 'key' | 'uniques'>,
): CacheMapping | null {
  const { plan, table, problems } = entry;
  const planCache = plan.cache;
  const tableCache = table.cache;
  if (!planCache || planCache.warm === 'off' || !tableCache?.key) return null;
  const template = tableCache.key;
  // The template names source columns; their values are the converted ones.
  const templateCols = pairs.targetColumns.map((c, i) => ({ ...c, name: pairs.sourceColumns[i]!.name }));
  const valueSpec = tableCache.value ?? 'json';
  checkTemplate(entry, template, templateCols, valueSpec, sourceSide);
  const encoders = valueEncoders(entry, valueSpec, templateCols, pairs.targetColumns, rowJson);
  if (problems.list.length > 0 || !encoders) return null;
  return {
    render: compileKeyTemplate(template, planCache.prefix, templateCols, planCache.longKeys),
    renderBytes: compileKeyBytes(template, planCache.prefix, templateCols),
    value: encoders.value,
    packValue: encoders.packValue,
    ttl: tableCache.ttl ?? planCache.ttl,
    valueIsRowJson: valueSpec === 'json',
    keyColumns: [
      ...new Set(templateColumns(template).map((n) => templateCols.findIndex((c) => c.name === n))),
    ],
  };
}

/** Every column the template names is migrated, and the template tells rows with different values apart. */
function checkTemplate(
  entry: TableEntry,
  template: string,
  templateCols: Column[],
  valueSpec: string,
  sourceSide: Pick<SourceSide, 'key' | 'uniques'>,
): void {
  const { label, problems } = entry;
  for (const name of templateCols.length ? templateColumns(template) : []) {
    if (!templateCols.some((c) => c.name === name)) {
      problems.add(
        ['cache', 'key'],
        `{${name}} is not a migrated source column of table ${label} (${names(templateCols)})`,
      );
    }
  }
  const uniques = [sourceSide.key, ...sourceSide.uniques].filter((u) => u.length > 0);
  const valueColumns =
    valueSpec === 'json' ? templateCols.map((c) => c.name) : [valueSpec.slice('column:'.length)];
  const uncovered = templateCoverage(template, uniques, valueColumns, label);
  if (uncovered) problems.add(['cache', 'key'], uncovered);
}

/** The cache value of a row (`json`: its canonical JSON; `column:<name>`: that column); null: a problem. */
function valueEncoders(
  entry: TableEntry,
  valueSpec: string,
  templateCols: Column[],
  targetColumns: Column[],
  rowJson: (row: Row) => string,
): Pick<CacheMapping, 'value' | 'packValue'> | null {
  if (valueSpec === 'json') return { value: (row) => Buffer.from(rowJson(row)), packValue: rowJson };
  const colName = valueSpec.slice('column:'.length);
  const i = templateCols.findIndex((c) => c.name === colName);
  if (i < 0) {
    entry.problems.add(
      ['cache', 'value'],
      `column ${colName} is not a migrated source column of table ${entry.label}`,
    );
    return null;
  }
  const encode = columnValueEncoder(targetColumns[i]!);
  const value = (row: Row) => encode(row[i] ?? null);
  return { value, packValue: value };
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
