/**
 * The followed tables as the binlog names them, compiled once per stream: which schema and table an event
 * is for, the spec's columns picked by name out of the event's rows (columns beyond the spec dropped), the key,
 * and the checks that stop the follow rather than read rows under the wrong columns: a TableMap whose
 * columns no longer match the spec, a DDL statement naming a followed table.
 */
import type { Row, Value } from '../../../convert/value.js';
import type { FollowSpec } from '../../changes.js';
import { columnShape, type ValueMapper, valueMapper } from './values.js';

export interface FollowedTable {
  /** Index into FollowSpec.tables. */
  index: number;
  schema: string;
  name: string;
  display: string;
  names: string[];
  mappers: ValueMapper[];
  key: number[];
  shapes: string[];
}

export function compileTables(spec: FollowSpec, database: string): FollowedTable[] {
  return spec.tables.map((t, index) => {
    const schema = t.ref.schema ?? database;
    return {
      index,
      schema,
      name: t.ref.name,
      display: `${schema}.${t.ref.name}`,
      names: t.columns.map((c) => c.name),
      mappers: t.columns.map(valueMapper),
      key: t.key,
      shapes: t.columns.map((c) => columnShape(c.dbType)),
    };
  });
}

export const tableKey = (schema: string, name: string): string => `${schema}\0${name}`;

/** zongji's `includeSchema` filter: the followed tables only. */
export function includeSchema(tables: FollowedTable[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of tables) out[t.schema] = [...(out[t.schema] ?? []), t.name];
  return out;
}

/** A column of a TableMap as zongji builds it from the event's own metadata. */
export interface MappedColumn {
  COLUMN_NAME: string;
  COLUMN_TYPE: string;
  UNSIGNED?: boolean;
}

/** Why the event's columns do not match the table's spec, or null. */
export function shapeMismatch(table: FollowedTable, columns: MappedColumn[]): string | null {
  const byName = new Map(columns.map((c) => [c.COLUMN_NAME, c]));
  for (let i = 0; i < table.names.length; i++) {
    const name = table.names[i]!;
    const column = byName.get(name);
    if (!column) return `column "${name}" is no longer in ${table.display}`;
    const sign = column.UNSIGNED !== undefined;
    const now = columnShape(column.COLUMN_TYPE, sign);
    const expected = sign ? table.shapes[i]! : table.shapes[i]!.replace(/ unsigned$/, '');
    if (now !== expected) return `column "${name}" of ${table.display} is now ${now}, was ${expected}`;
  }
  return null;
}

export function mapRow(table: FollowedTable, raw: Record<string, unknown>): Row {
  const { names, mappers } = table;
  const row: Value[] = new Array(names.length);
  for (let i = 0; i < names.length; i++) row[i] = mappers[i]!(raw[names[i]!]);
  return row;
}

export function keyOf(table: FollowedTable, row: Row): Row {
  return table.key.map((k) => row[k] ?? null);
}

/** The key of a raw row image, mapping only the key columns. */
export function mapKey(table: FollowedTable, raw: Record<string, unknown>): Row {
  return table.key.map((k) => table.mappers[k]!(raw[table.names[k]!]));
}

const DDL = /^(?:\s|\/\*.*?\*\/)*(alter|rename|drop|truncate|create)\b/is;
const IDENT = /`((?:[^`]|``)*)`|([A-Za-z0-9_$\u0080-\uffff]+)/g;
const TRUNCATE =
  /^\s*truncate\s+(?:table\s+)?(`(?:[^`]|``)*`|[A-Za-z0-9_$\u0080-\uffff]+)(?:\s*\.\s*(`(?:[^`]|``)*`|[A-Za-z0-9_$\u0080-\uffff]+))?\s*;?\s*$/i;

const unquote = (ident: string): string =>
  ident.startsWith('`') ? ident.slice(1, -1).replaceAll('``', '`') : ident;

export type DdlEffect =
  | { kind: 'truncate'; table: FollowedTable }
  | { kind: 'schema'; tables: FollowedTable[] };

/**
 * What a statement of a Query event does to the followed tables: a plain TRUNCATE of one empties it (and of
 * another table, exactly named, does nothing to them); any other DDL naming a followed table (or dropping its database) changes it. Deliberately broad (a name
 * anywhere in the statement counts): a false alarm stops the follow, a missed one would corrupt it.
 */
export function ddlEffect(tables: FollowedTable[], query: string, schema: string): DdlEffect | null {
  const verb = DDL.exec(query)?.[1]?.toLowerCase();
  if (!verb) return null;
  const truncate = verb === 'truncate' ? TRUNCATE.exec(query) : null;
  if (truncate) {
    const [db, name] = truncate[2]
      ? [unquote(truncate[1]!), unquote(truncate[2])]
      : [schema, unquote(truncate[1]!)];
    const table = tables.find((t) => t.schema === db && t.name === name);
    return table ? { kind: 'truncate', table } : null;
  }
  const words = new Set<string>();
  for (const m of query.matchAll(IDENT))
    words.add((m[1] !== undefined ? m[1].replaceAll('``', '`') : m[2]!).toLowerCase());
  const dropsDatabase = /^\s*drop\s+(database|schema)\b/i.test(query);
  const hit = tables.filter((t) =>
    dropsDatabase ? words.has(t.schema.toLowerCase()) : words.has(t.name.toLowerCase()),
  );
  return hit.length > 0 ? { kind: 'schema', tables: hit } : null;
}
