/**
 * The replication connection: `START_REPLICATION … LOGICAL` over pg's replication mode and pg-copy-streams'
 * copyBoth, read one CopyData frame at a time (object mode: frames are never merged), only as fast as the
 * consumer asks (the socket is not read while it is busy). The server's frames are XLogData (a pgoutput
 * message) and keepalives; ours are standby status updates, which carry the position the consumer
 * acknowledged and nothing further: the slot forgets WAL up to the flush position a status reports.
 */
import type { Duplex, DuplexOptions } from 'node:stream';
import pg from 'pg';
import * as copyStreams from 'pg-copy-streams';
import { RuntimeError } from '../../../errors.js';
import { connectPostgres } from '../connect.js';
import { quoteIdent } from '../sql.js';
import { formatLsn } from './lsn.js';

/** A COPY BOTH query: CopyData frames read from it, written to it. */
type CopyBoth = Duplex & pg.Submittable;
// pg-copy-streams 7 documents `both` for logical replication; @types/pg-copy-streams 1.2 lacks it.
const copyBoth = (
  copyStreams as unknown as {
    both(text: string, options: DuplexOptions & { alignOnCopyDataFrame: boolean }): CopyBoth;
  }
).both;

export type Frame =
  /** A pgoutput message (see pgoutput.ts). */
  | { kind: 'data'; message: Buffer }
  /** The server's position; `reply`: it wants a status update now (or ends the connection at wal_sender_timeout). */
  | { kind: 'keepalive'; walEnd: bigint; reply: boolean };

const XLOG_DATA = 0x77; // w: Byte1, Int64 data start, Int64 WAL end, Int64 send time, the message
const XLOG_DATA_HEADER = 25;
const KEEPALIVE = 0x6b; // k: Byte1, Int64 WAL end, Int64 send time, Byte1 reply requested
const STATUS = 0x72; // r: Byte1, Int64 written, Int64 flushed, Int64 applied, Int64 client time, Byte1 reply
/** PostgreSQL's epoch (2000-01-01) in Unix milliseconds: status times count microseconds from it. */
const PG_EPOCH_MS = 946_684_800_000;
/**
 * A status is also sent at this interval, read or not: a consumer busy longer than wal_sender_timeout
 * (default 60 s) does not read the keepalive asking for one, and the server would end the connection.
 */
const STATUS_INTERVAL_MS = 10_000;
const CLOSE_GRACE_MS = 2_000;

export interface StreamStart {
  url: string;
  slot: string;
  publication: string;
  from: bigint;
  /** The position already applied: reported as flushed until `acknowledge` moves it. */
  acknowledged: bigint;
}

export class ReplicationStream {
  private acknowledged: bigint;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** The server ended the stream or it failed: there is no COPY left to end. */
  private over = false;

  private constructor(
    private readonly client: pg.Client,
    private readonly copy: CopyBoth,
    /** The walsender's process id (release() ends only its own). */
    readonly pid: number,
    private readonly slot: string,
    acknowledged: bigint,
  ) {
    this.acknowledged = acknowledged;
    this.timer = setInterval(() => this.status(), STATUS_INTERVAL_MS);
    this.timer.unref();
    // Errors reach the reader through the iterator; once closed there is no reader.
    const over = () => {
      this.over = true;
    };
    copy.on('error', over);
    copy.on('end', over);
  }

  static async open(start: StreamStart): Promise<ReplicationStream> {
    const client = await connectPostgres(start.url, { replication: true });
    try {
      const pid = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const command =
        `START_REPLICATION SLOT ${quoteIdent(start.slot)} LOGICAL ${formatLsn(start.from)} ` +
        // publication_names is a list of identifiers inside a string literal; our names need no escaping.
        `(proto_version '1', publication_names '${quoteIdent(start.publication)}')`;
      const copy = client.query(copyBoth(command, { alignOnCopyDataFrame: true, readableObjectMode: true }));
      return new ReplicationStream(client, copy, Number(pid.rows[0]!.pid), start.slot, start.acknowledged);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /** The server's frames in order; keepalives that ask for a reply are answered before they are yielded. */
  async *frames(): AsyncGenerator<Frame> {
    try {
      yield* this.read();
    } catch (error) {
      throw explain(error, this.slot);
    }
  }

  private async *read(): AsyncGenerator<Frame> {
    for await (const chunk of this.copy as AsyncIterable<Buffer>) {
      if (chunk[0] === XLOG_DATA) {
        yield { kind: 'data', message: chunk.subarray(XLOG_DATA_HEADER) };
      } else if (chunk[0] === KEEPALIVE) {
        const reply = chunk[17] === 1;
        if (reply) this.status();
        yield { kind: 'keepalive', walEnd: chunk.readBigUInt64BE(1), reply };
      }
    }
  }

  /** The consumer applied everything up to `lsn`: reported to the server at once. */
  acknowledge(lsn: bigint): void {
    if (lsn > this.acknowledged) this.acknowledged = lsn;
    this.status();
  }

  /** A standby status update: written, flushed and applied = the acknowledged position. */
  private status(): void {
    if (this.closed) return;
    const b = Buffer.alloc(34);
    b[0] = STATUS;
    b.writeBigUInt64BE(this.acknowledged, 1);
    b.writeBigUInt64BE(this.acknowledged, 9);
    b.writeBigUInt64BE(this.acknowledged, 17);
    b.writeBigInt64BE(BigInt(Date.now() - PG_EPOCH_MS) * 1000n, 25);
    b[33] = 0;
    this.copy.write(b);
  }

  /**
   * Ends the stream as the protocol asks (CopyDone, then the server's CopyDone and ReadyForQuery; frames
   * still in flight are read and dropped), then the connection; a server that does not answer within
   * CLOSE_GRACE_MS just loses the connection.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const copy = this.copy;
    if (!this.over && !copy.destroyed && !copy.writableFinished) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_GRACE_MS);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        copy.once('finish', done);
        copy.once('error', done);
        copy.once('close', done);
        copy.end();
        copy.resume();
      });
    }
    await this.client.end().catch(() => undefined);
  }
}

/** The server's refusals of a stream that say what to do; anything else as it came. */
function explain(error: unknown, slot: string): unknown {
  if (!(error instanceof pg.DatabaseError)) return error;
  const why = (message: string, hint: string) => new RuntimeError(message, { cause: error, hint });
  switch (error.code) {
    case '55006': // object in use
      return why(
        `replication slot ${slot} is streamed to another process (${error.message})`,
        'another `migrate run --follow` of this plan may be running: stop it first',
      );
    case '42704': // undefined object
      return why(
        `replication slot ${slot} does not exist (${error.message})`,
        'it was released or dropped: the follow has to start again from a new copy',
      );
    case '42501': // insufficient privilege
      return why(
        `PostgreSQL refused the replication connection: ${error.message}`,
        'the role needs the REPLICATION attribute (ALTER ROLE … REPLICATION, as a superuser)',
      );
    default:
      return error;
  }
}
