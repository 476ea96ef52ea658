/**
 * Result rows kept as the text protocol sent them. mysql2 parses each row into one Buffer per field; here a
 * query's row packets are copied, unparsed, into one buffer instead (a row parser of our own is put in
 * place of mysql2's for that query), and a batch is decoded only when its rows are asked for — or
 * transcoded byte by byte (db/bridge/mysql-to-postgres.ts) without being decoded at all.
 *
 * A row's payload is its fields in order, each a length-coded string: a length (one byte below 251; 0xfc,
 * 0xfd, 0xfe: 2, 3 or 8 bytes little-endian follow) then that many bytes, or 0xfb alone for NULL.
 */
import type { Row } from '../../convert/value.js';
import type { Batch, WireRows } from '../batch.js';

/** What mysql2 hands a row parser: one packet, `offset` at the start of its payload. */
interface RowPacket {
  buffer: Buffer;
  offset: number;
  end: number;
}

/** The core (callback) connection under a mysql2/promise one. */
export interface CoreConnection {
  query(options: object, callback: (error: Error | null) => void): object;
}

/** The first buffer of a query with no size hint. */
const FIRST_BYTES = 1 << 18;

/**
 * Collects row payloads into one growing buffer; stands in for mysql2's row parser. Sized from `hint` (the
 * previous page's bytes, say), it seldom grows, and its rows are handed on in it: no batch-sized buffer is
 * allocated and dropped on the way (each one counts towards V8's external memory, which a full collection
 * follows when it grows fast).
 */
class WireCollector {
  private data: Buffer;
  private at = 0;
  private starts = new Int32Array(1024);
  private count = 0;
  /** Rows dropped after the byte limit was reached. */
  dropped = 0;

  constructor(
    hint: number,
    private readonly maxBytes: number,
  ) {
    this.data = Buffer.allocUnsafe(hint > 0 ? hint : FIRST_BYTES);
  }

  next(packet: RowPacket): 0 {
    if (this.at >= this.maxBytes) {
      this.dropped++;
      return 0;
    }
    const length = packet.end - packet.offset;
    if (this.at + length > this.data.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.data.length * 2, this.at + length));
      this.data.copy(grown, 0, 0, this.at);
      this.data = grown;
    }
    if (this.count + 2 > this.starts.length) {
      const grown = new Int32Array(this.starts.length * 2);
      grown.set(this.starts);
      this.starts = grown;
    }
    this.starts[this.count++] = this.at;
    this.at += packet.buffer.copy(this.data, this.at, packet.offset, packet.end);
    return 0;
  }

  finish(): WireRows {
    this.starts[this.count] = this.at;
    // A batch is kept for a while: copied to its size when more than a quarter of the buffer is slack.
    const data = this.data.subarray(0, this.at);
    return {
      data: this.at < this.data.length * 0.75 ? Buffer.from(data) : data,
      starts: this.starts.slice(0, this.count + 1),
      count: this.count,
    };
  }
}

/**
 * Runs `sql` and returns its rows as sent; `hint`: the bytes they are expected to take (0: unknown). Rows
 * after the one that brings them to `maxBytes` are read and dropped (`cut`): the first row is always kept.
 */
export function queryWire(
  core: CoreConnection,
  sql: string,
  hint = 0,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<{ rows: WireRows; cut: boolean }> {
  return new Promise((resolve, reject) => {
    const collector = new WireCollector(hint, maxBytes);
    const query = core.query({ sql, rowsAsArray: true, typeCast: false }, (error) => {
      if (error) reject(error);
      else resolve({ rows: collector.finish(), cut: collector.dropped > 0 });
    });
    // mysql2 sets its parser once the column definitions are in; this one is used instead.
    Object.defineProperty(query, '_rowParser', {
      configurable: true,
      get: () => collector,
      set: () => undefined,
    });
  });
}

/**
 * The fields of row `i` as mysql2's `typeCast: false` would give them: a Buffer per value (a view into
 * `rows.data`), null for NULL.
 */
export function wireFields(rows: WireRows, i: number, width: number): (Buffer | null)[] {
  const { data } = rows;
  const out: (Buffer | null)[] = new Array(width);
  let at = rows.starts[i]!;
  for (let f = 0; f < width; f++) {
    const tag = data[at]!;
    if (tag === 0xfb) {
      out[f] = null;
      at++;
      continue;
    }
    const start = at + headerBytes(tag);
    at = start + fieldLength(data, at);
    out[f] = data.subarray(start, at);
  }
  return out;
}

/** The length of the length-coded field at `at` (not for NULL, 0xfb). */
export function fieldLength(data: Buffer, at: number): number {
  const tag = data[at]!;
  if (tag < 0xfb) return tag;
  if (tag === 0xfc) return data[at + 1]! | (data[at + 2]! << 8);
  if (tag === 0xfd) return data[at + 1]! | (data[at + 2]! << 8) | (data[at + 3]! << 16);
  // 0xfe: 8 bytes; a field is far below 2^53 bytes.
  return data.readUInt32LE(at + 1) + data.readUInt32LE(at + 5) * 2 ** 32;
}

/** The bytes of a field's length header with first byte `tag` (not for NULL, 0xfb). */
export function headerBytes(tag: number): number {
  return tag < 0xfb ? 1 : tag === 0xfc ? 3 : tag === 0xfd ? 4 : 9;
}

/** A batch of rows as the text protocol sent them (not empty): first and last rows decoded, the rest on demand. */
export class WireBatch implements Batch {
  readonly count: number;
  readonly first: Row;
  readonly last: Row;

  constructor(
    readonly wire: WireRows,
    private readonly width: number,
    private readonly decode: (raw: (Buffer | null)[]) => Row,
  ) {
    this.count = wire.count;
    this.first = this.row(0);
    this.last = this.row(wire.count - 1);
  }

  /** Row `i`, decoded. */
  row(i: number): Row {
    return this.decode(wireFields(this.wire, i, this.width));
  }

  rows(): Row[] {
    const out: Row[] = new Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.row(i);
    return out;
  }
}
