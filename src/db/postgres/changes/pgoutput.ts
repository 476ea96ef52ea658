/**
 * A decoder of pgoutput's messages (logical replication protocol version 1, text values), following
 * PostgreSQL's "Logical Replication Message Formats". Hand-written because the library that decodes it
 * (pg-logical-replication) parses values with pg's global type parsers (timestamps lose microseconds, big
 * JSON numbers their digits); here every value stays the text the type's output function printed.
 */

/** One column of a Relation message. */
export interface RelationColumn {
  /** Part of the replica identity (under REPLICA IDENTITY FULL: every column). */
  identity: boolean;
  name: string;
  typeOid: number;
  typeMod: number;
}

export interface Relation {
  oid: number;
  schema: string;
  name: string;
  /** relreplident: `d` default (primary key), `n` nothing, `f` full, `i` an index. */
  replicaIdentity: string;
  columns: RelationColumn[];
}

/** A value not sent: the update left this TOASTed column unchanged. */
export const TOAST_UNCHANGED: unique symbol = Symbol('toast-unchanged');

/** A tuple's values in the Relation's column order: text, null for SQL NULL, or TOAST_UNCHANGED. */
export type Tuple = (string | null | typeof TOAST_UNCHANGED)[];

export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: bigint }
  | { tag: 'commit'; commitLsn: bigint; endLsn: bigint }
  | { tag: 'relation'; relation: Relation }
  | { tag: 'insert'; relation: Relation; new: Tuple }
  /** `key`: the old replica identity (only when it changed); `old`: the whole old row (FULL). */
  | { tag: 'update'; relation: Relation; key: Tuple | null; old: Tuple | null; new: Tuple }
  | { tag: 'delete'; relation: Relation; key: Tuple | null; old: Tuple | null }
  | { tag: 'truncate'; relations: Relation[] }
  /** Origin, Type and logical decoding Message: nothing a follower of tables acts on. */
  | { tag: 'other' };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads one message; `relations` holds the Relation messages seen on this stream, by table OID. */
class Reader {
  private at = 1;

  constructor(
    private readonly buf: Buffer,
    private readonly relations: Map<number, Relation>,
  ) {}

  byte(): number {
    const v = this.buf[this.at];
    if (v === undefined) throw truncated(this.buf);
    this.at++;
    return v;
  }

  int16(): number {
    const v = this.buf.readInt16BE(this.at);
    this.at += 2;
    return v;
  }

  int32(): number {
    const v = this.buf.readInt32BE(this.at);
    this.at += 4;
    return v;
  }

  uint32(): number {
    return this.int32() >>> 0;
  }

  int64(): bigint {
    const v = this.buf.readBigUInt64BE(this.at);
    this.at += 8;
    return v;
  }

  string(): string {
    const end = this.buf.indexOf(0, this.at);
    if (end < 0) throw truncated(this.buf);
    const s = utf8.decode(this.buf.subarray(this.at, end));
    this.at = end + 1;
    return s;
  }

  relation(): Relation {
    const oid = this.uint32();
    const r = this.relations.get(oid);
    if (!r)
      throw new Error(`pgoutput: a change of table OID ${oid} before its Relation message; this is a bug`);
    return r;
  }

  tuple(r: Relation): Tuple {
    const n = this.int16();
    if (n !== r.columns.length)
      throw new Error(`pgoutput: a row of ${n} columns for ${r.schema}.${r.name} of ${r.columns.length}`);
    const values: Tuple = new Array(n);
    for (let i = 0; i < n; i++) values[i] = this.value();
    return values;
  }

  private value(): string | null | typeof TOAST_UNCHANGED {
    const kind = this.byte();
    if (kind === 0x6e) return null; // n
    if (kind === 0x75) return TOAST_UNCHANGED; // u
    if (kind !== 0x74) throw new Error(`pgoutput: value kind ${kind} (binary values are not asked for)`); // t
    const len = this.int32();
    const s = utf8.decode(this.buf.subarray(this.at, this.at + len));
    this.at += len;
    return s;
  }
}

function truncated(buf: Buffer): Error {
  return new Error(`pgoutput: a truncated '${String.fromCharCode(buf[0] ?? 0)}' message`);
}

export class PgoutputDecoder {
  private readonly relations = new Map<number, Relation>();

  decode(buf: Buffer): PgoutputMessage {
    const r = new Reader(buf, this.relations);
    switch (buf[0]) {
      case 0x42: // B
        return { tag: 'begin', finalLsn: r.int64() };
      case 0x43: // C: flags, commit LSN, end LSN, timestamp
        r.byte();
        return { tag: 'commit', commitLsn: r.int64(), endLsn: r.int64() };
      case 0x52: // R
        return { tag: 'relation', relation: this.relation(r) };
      case 0x49: // I
        return this.insert(r);
      case 0x55: // U
        return this.update(r);
      case 0x44: // D
        return this.delete(r);
      case 0x54: // T
        return this.truncate(r);
      case 0x4f: // O
      case 0x59: // Y
      case 0x4d: // M
        return { tag: 'other' };
      default:
        throw new Error(`pgoutput: unknown message type '${String.fromCharCode(buf[0] ?? 0)}'`);
    }
  }

  /** A Relation replaces the one of the same OID: sent again after DDL and on every new stream. */
  private relation(r: Reader): Relation {
    const oid = r.uint32();
    const schema = r.string();
    const name = r.string();
    const replicaIdentity = String.fromCharCode(r.byte());
    const n = r.int16();
    const columns: RelationColumn[] = [];
    for (let i = 0; i < n; i++) {
      const identity = (r.byte() & 1) === 1;
      columns.push({ identity, name: r.string(), typeOid: r.uint32(), typeMod: r.int32() });
    }
    const relation = { oid, schema, name, replicaIdentity, columns };
    this.relations.set(oid, relation);
    return relation;
  }

  private insert(r: Reader): PgoutputMessage {
    const relation = r.relation();
    r.byte(); // N
    return { tag: 'insert', relation, new: r.tuple(relation) };
  }

  private update(r: Reader): PgoutputMessage {
    const relation = r.relation();
    // K (the old key) or O (the old row), then N (the new row); N alone when neither is sent.
    const kind = r.byte();
    const key = kind === 0x4b ? r.tuple(relation) : null;
    const old = kind === 0x4f ? r.tuple(relation) : null;
    if (kind !== 0x4e) r.byte();
    return { tag: 'update', relation, key, old, new: r.tuple(relation) };
  }

  private delete(r: Reader): PgoutputMessage {
    const relation = r.relation();
    const kind = r.byte();
    const tuple = r.tuple(relation);
    return { tag: 'delete', relation, key: kind === 0x4b ? tuple : null, old: kind === 0x4f ? tuple : null };
  }

  private truncate(r: Reader): PgoutputMessage {
    const n = r.int32();
    r.byte(); // options: CASCADE, RESTART IDENTITY
    const relations: Relation[] = [];
    for (let i = 0; i < n; i++) relations.push(r.relation());
    return { tag: 'truncate', relations };
  }
}
