/**
 * pgoutput messages → the engine's ChangeEvents for a FollowSpec: rows in the spec's column order with the
 * copy path's values (codec.ts decoders of the same text), keys by the spec's key columns, transactions at
 * or before the start position skipped, and a `schema` event for a table whose columns no longer match.
 */
import type { Column, Row, Value } from '../../../convert/value.js';
import type { ChangeEvent } from '../../changes.js';
import { UNCHANGED } from '../../changes.js';
import { type Decoder, decoderFor } from '../codec.js';
import { formatLsn } from './lsn.js';
import { type PgoutputMessage, type Relation, TOAST_UNCHANGED, type Tuple } from './pgoutput.js';

/** A followed table as the catalog showed it when the stream opened. */
export interface FollowedTable {
  /** Index into FollowSpec.tables. */
  index: number;
  oid: number;
  schema: string;
  name: string;
  columns: Column[];
  key: number[];
}

/** A type as format_type(oid, modifier) prints it (as Column.dbType holds it), by `typeKey`. */
export type TypeNames = ReadonlyMap<string, string>;

export const typeKey = (oid: number, mod: number): string => `${oid}:${mod}`;

/** How one Relation's tuples map onto its table's spec columns. */
interface Shape {
  table: FollowedTable;
  /** Per spec column: its position in the Relation's tuples. */
  positions: number[];
  decoders: Decoder[];
  /** Why the Relation does not fit the spec; null when it does. */
  mismatch: string | null;
}

export class ChangeTranslator {
  private readonly tables = new Map<number, FollowedTable>();
  private readonly shapes = new Map<number, Shape>();
  /** In a transaction (between begin and commit), and whether it is skipped. */
  private open = false;
  private skipping = false;
  /** The last position handed out (or the start): ticks only move forward. */
  private position: bigint;

  constructor(
    tables: FollowedTable[],
    private readonly from: bigint,
    /** Holds the types of every Relation before it is translated (capture.ts looks them up). */
    private readonly typeNames: TypeNames,
  ) {
    for (const t of tables) this.tables.set(t.oid, t);
    this.position = from;
  }

  /** The event for one message (null: nothing to tell); after a `schema` event nothing more is read. */
  translate(m: PgoutputMessage): ChangeEvent | null {
    switch (m.tag) {
      case 'begin':
        this.open = true;
        // The commit record starts before `from` exactly when the commit ends at or before it (positions
        // handed out are ends of commits or of other records, never inside one).
        this.skipping = m.finalLsn < this.from;
        return this.skipping ? null : { kind: 'begin' };
      case 'commit':
        this.open = false;
        if (this.skipping) return null;
        if (m.endLsn > this.position) this.position = m.endLsn;
        return { kind: 'commit', position: formatLsn(m.endLsn) };
      case 'relation':
        this.relation(m.relation);
        return null;
      case 'insert':
      case 'update':
      case 'delete':
        return this.skipping ? null : this.row(m);
      case 'truncate':
        return this.skipping ? null : this.truncate(m.relations);
      default:
        return null;
    }
  }

  /** A keepalive at `walEnd`: a tick when no transaction is open and the position moved on. */
  keepalive(walEnd: bigint): ChangeEvent | null {
    if (this.open || walEnd <= this.position) return null;
    this.position = walEnd;
    return { kind: 'tick', position: formatLsn(walEnd) };
  }

  private relation(r: Relation): void {
    const table = this.tables.get(r.oid);
    if (!table) return; // not followed (someone added it to the publication)
    const byName = new Map(r.columns.map((c, i) => [c.name, i]));
    const positions = table.columns.map((c) => byName.get(c.name) ?? -1);
    this.shapes.set(r.oid, {
      table,
      positions,
      decoders: table.columns.map((c) => decoderFor(c)),
      mismatch: mismatchOf(table, r, positions, this.typeNames),
    });
  }

  private shape(r: Relation): Shape | null {
    return this.shapes.get(r.oid) ?? null;
  }

  private row(m: Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' }>): ChangeEvent | null {
    const shape = this.shape(m.relation);
    if (!shape) return null;
    if (shape.mismatch) return { kind: 'schema', table: shape.table.index, message: shape.mismatch };
    const table = shape.table.index;
    if (m.tag === 'insert') {
      const row = values(shape, m.new, null);
      return { kind: 'row', table, op: 'insert', key: keyOf(shape, row), row };
    }
    const old = m.key ?? m.old;
    if (m.tag === 'delete')
      return { kind: 'row', table, op: 'delete', key: keyOf(shape, values(shape, old!, null)) };
    const row = values(shape, m.new, m.old);
    const key = old ? keyOf(shape, values(shape, old, null)) : keyOf(shape, row);
    return { kind: 'row', table, op: 'update', key, row };
  }

  private truncate(relations: Relation[]): ChangeEvent | null {
    const tables: number[] = [];
    for (const r of relations) {
      const shape = this.shape(r);
      if (!shape) continue;
      if (shape.mismatch) return { kind: 'schema', table: shape.table.index, message: shape.mismatch };
      tables.push(shape.table.index);
    }
    return tables.length ? { kind: 'truncate', tables } : null;
  }
}

/** What differs between the spec's columns and a Relation (a column gone, or of another type), or null. */
function mismatchOf(table: FollowedTable, r: Relation, positions: number[], types: TypeNames): string | null {
  const where = `table ${table.schema}.${table.name}`;
  if (r.schema !== table.schema || r.name !== table.name)
    return `${where} was renamed to ${r.schema}.${r.name} while it was followed`;
  for (const [i, column] of table.columns.entries()) {
    const at = positions[i]!;
    if (at < 0) return `${where}: column ${column.name} was dropped or renamed while the table was followed`;
    const got = r.columns[at]!;
    const type = types.get(typeKey(got.typeOid, got.typeMod)) ?? `type OID ${got.typeOid}`;
    if (type !== column.dbType)
      return `${where}: column ${column.name} changed type from ${column.dbType} to ${type} while the table was followed`;
  }
  return null;
}

/**
 * A tuple's values in the spec's column order, decoded as the copy path decodes the same text. A TOASTed
 * value the update left unchanged is taken from the old row when the server sent it (REPLICA IDENTITY
 * FULL), else UNCHANGED.
 */
function values(shape: Shape, tuple: Tuple, old: Tuple | null): (Value | typeof UNCHANGED)[] {
  const { positions, decoders } = shape;
  const out: (Value | typeof UNCHANGED)[] = new Array(positions.length);
  for (let i = 0; i < positions.length; i++) {
    const at = positions[i]!;
    let v = tuple[at];
    if (v === TOAST_UNCHANGED && old) v = old[at];
    out[i] = v === TOAST_UNCHANGED || v === undefined ? UNCHANGED : decoders[i]!(v);
  }
  return out;
}

function keyOf(shape: Shape, row: (Value | typeof UNCHANGED)[]): Row {
  return shape.table.key.map((i) => {
    const v = row[i];
    if (v === UNCHANGED || v === undefined)
      throw new Error(
        `pgoutput: no value for key column ${shape.table.columns[i]!.name} of ${shape.table.schema}.${shape.table.name}; this is a bug`,
      );
    return v;
  });
}
