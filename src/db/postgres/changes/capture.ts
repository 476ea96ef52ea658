/**
 * PostgreSQL's ChangeCapture: a publication and a logical slot (slot.ts), streamed with pgoutput
 * (stream.ts, pgoutput.ts) and translated into the engine's events (events.ts).
 */
import type pg from 'pg';
import { RuntimeError } from '../../../errors.js';
import type { ChangeCapture, ChangeEvent, ChangeStream, FollowSpec } from '../../changes.js';
import { formatTableRef } from '../../table.js';
import { quoteTable } from '../sql.js';
import { checkFollow } from './check.js';
import { ChangeTranslator, type FollowedTable, typeKey } from './events.js';
import { formatLsn, parseLsn } from './lsn.js';
import { PgoutputDecoder, type Relation } from './pgoutput.js';
import { dropPublication, dropSlot, ensurePublication, ensureSlot, followName } from './slot.js';
import { ReplicationStream } from './stream.js';

export class PostgresChangeCapture implements ChangeCapture {
  /** Walsenders of the streams this process opened: the only ones release() may end. */
  private readonly walsenders = new Set<number>();
  private readonly streams = new Set<PostgresChangeStream>();

  constructor(
    private readonly url: string,
    /** The dialect's connection for short queries. */
    private readonly client: () => Promise<pg.Client>,
  ) {}

  async check(spec: FollowSpec): Promise<string[]> {
    const client = await this.client();
    return checkFollow(client, spec, await followName(client, spec.plan));
  }

  async start(spec: FollowSpec): Promise<string> {
    const client = await this.client();
    const name = await followName(client, spec.plan);
    await ensurePublication(client, name, spec);
    return ensureSlot(client, name);
  }

  open(spec: FollowSpec, from: string): ChangeStream {
    const start = parseLsn(from);
    const stream: PostgresChangeStream = new PostgresChangeStream(async () => {
      const client = await this.client();
      const name = await followName(client, spec.plan);
      const tables = await followedTables(client, spec);
      const replication = await ReplicationStream.open({
        url: this.url,
        slot: name,
        publication: name,
        from: start,
        acknowledged: start,
      });
      this.walsenders.add(replication.pid);
      const types = new Map<string, string>();
      const translator = new ChangeTranslator(tables, start, types);
      return { replication, translator, slot: name, types: (r: Relation) => loadTypes(client, r, types) };
    });
    this.streams.add(stream);
    stream.onClose = () => this.streams.delete(stream);
    return stream;
  }

  async current(): Promise<string> {
    const r = await (await this.client()).query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    return formatLsn(parseLsn(r.rows[0]!.lsn));
  }

  async release(spec: FollowSpec): Promise<void> {
    const client = await this.client();
    const name = await followName(client, spec.plan);
    for (const stream of [...this.streams]) if (stream.slot === name) await stream.close();
    await dropSlot(client, name, this.walsenders);
    await dropPublication(client, name);
  }
}

interface Opened {
  replication: ReplicationStream;
  translator: ChangeTranslator;
  slot: string;
  /** Looks up the types of a Relation's columns not seen yet. */
  types: (r: Relation) => Promise<void>;
}

/** Adds the names of `r`'s column types to `names` (format_type, as describeTable gives Column.dbType). */
async function loadTypes(client: pg.Client, r: Relation, names: Map<string, string>): Promise<void> {
  const todo = r.columns.filter((c) => !names.has(typeKey(c.typeOid, c.typeMod)));
  if (todo.length === 0) return;
  const found = await client.query<{ oid: string; mod: string; name: string }>(
    `SELECT t.oid::text AS oid, t.mod::text AS mod, format_type(t.oid, t.mod) AS name
     FROM unnest($1::oid[], $2::int4[]) AS t(oid, mod)`,
    [todo.map((c) => String(c.typeOid)), todo.map((c) => String(c.typeMod))],
  );
  for (const t of found.rows) names.set(typeKey(Number(t.oid), Number(t.mod)), t.name);
}

/** One open() of the capture: connects when first iterated; iterated once. */
class PostgresChangeStream implements ChangeStream {
  slot: string | null = null;
  onClose: () => void = () => undefined;
  private opened: Opened | null = null;
  private closed = false;

  constructor(private readonly connect: () => Promise<Opened>) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<ChangeEvent> {
    if (this.opened || this.closed) throw new Error('a change stream is read once; this is a bug');
    this.opened = await this.connect();
    this.slot = this.opened.slot;
    if (this.closed) {
      // Closed while it connected.
      await this.opened.replication.close();
      return;
    }
    const { replication, translator, types } = this.opened;
    const decoder = new PgoutputDecoder();
    try {
      for await (const frame of replication.frames()) {
        let event: ChangeEvent | null;
        if (frame.kind === 'data') {
          const message = decoder.decode(frame.message);
          if (message.tag === 'relation') await types(message.relation);
          event = translator.translate(message);
        } else {
          event = translator.keepalive(frame.walEnd);
        }
        if (!event) continue;
        yield event;
        // Nothing after a schema change can be applied in order: the stream ends with it.
        if (event.kind === 'schema') return;
      }
    } finally {
      await this.close();
    }
  }

  /** Before the stream is read there is nothing to acknowledge: `from` is reported as applied. */
  async acknowledge(position: string): Promise<void> {
    this.opened?.replication.acknowledge(parseLsn(position));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    await this.opened?.replication.close();
  }
}

/** The spec's tables with their OIDs (a Relation names its table by OID: a renamed table is still found). */
async function followedTables(client: pg.Client, spec: FollowSpec): Promise<FollowedTable[]> {
  const out: FollowedTable[] = [];
  for (const [index, table] of spec.tables.entries()) {
    const rel = await client.query<{ oid: string; schema: string; name: string }>(
      `SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
      [quoteTable(table.ref)],
    );
    const found = rel.rows[0];
    if (!found)
      throw new RuntimeError(`table ${formatTableRef(table.ref)} to follow does not exist`, {
        hint: 'check the table names of the plan against the source database',
      });
    const { columns, key } = table;
    out.push({ index, oid: Number(found.oid), schema: found.schema, name: found.name, columns, key });
  }
  return out;
}
