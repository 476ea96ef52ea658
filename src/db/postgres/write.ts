/**
 * Writing batches: COPY into a session-temporary staging table, then one INSERT … SELECT with the plan's
 * conflict rule, the read-back for the checksum, and the checkpoint — all in one transaction.
 */

import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Row } from '../../convert/value.js';
import { DataError } from '../../errors.js';
import { StageTimer } from '../../timing.js';
import { APPLY_DUPLICATE_HINT, requireKey } from '../apply-runs.js';
import { type Batch, rowsBatch } from '../batch.js';
import { type FollowCheckpoint, followLeaseLost } from '../follow-state.js';
import {
  type ApplyResult,
  type BatchResult,
  type CheckpointUpdate,
  leaseTakenOver,
  type TargetChange,
  type Writer,
  type WriteSpec,
} from '../writer.js';
import { PostgresApplier } from './apply.js';
import { type CopyEncoder, copyEncoderFor, encodeCopyText } from './codec.js';
import { describe, safeDetail } from './connect.js';
import { followCheckpointSql, followCheckpointValues } from './follow.js';
import {
  copyOutDiffers,
  decodeCopyText,
  fetchByKeys,
  rangeCopySql,
  rowDecoder,
  typeSignature,
} from './read.js';
import { columnList, quoteIdent, quoteTable } from './sql.js';
import { checkpointSql, checkpointValues } from './state.js';

const STAGE = '"_migrate_stage"';

interface Written {
  written: number;
  back: Row[] | null;
  /** See BatchResult.identical. */
  identical?: boolean;
}

export class PostgresWriter implements Writer {
  private readonly names: string[];
  private readonly insertSql: string;
  /** The INSERT returning the rows as the target stored them: the read-back costs no second query. */
  private readonly insertReturningSql: string;
  private readonly readBackSql: string;
  private readonly encoders: CopyEncoder[];
  /** typeSignature of the target columns: a batch read as COPY text from the same types is sent as it is. */
  private readonly types: string;
  private readonly target: string;
  private readonly keyOf: (row: Row) => Row;
  /** COPY straight into the target (see writeRows). */
  private direct = true;
  private readonly decode: (raw: (string | null)[]) => Row;
  /** Every key column is an integer: a batch's key range can be read back as a range. */
  private readonly intKey: boolean;
  private staged = false;
  private inWhole = false;
  /** Inside applyChanges: a duplicate can only come from another unique index (see dataError). */
  private applying = false;
  private applier: PostgresApplier | null = null;
  private readonly timer = new StageTimer();

  constructor(
    private readonly client: pg.Client,
    private readonly spec: WriteSpec,
  ) {
    this.names = spec.columns.map((c) => c.name);
    const target = quoteTable(spec.ref);
    this.target = target;
    const keyIndexes = spec.key;
    this.keyOf = (row) => keyIndexes.map((i) => row[i] ?? null);
    const cols = columnList(this.names);
    const keyNames = spec.key.map((i) => this.names[i]!);
    const conflictCols = columnList(keyNames);
    const nonKey = this.names.filter((n) => !keyNames.includes(n));
    let conflict = '';
    if (spec.onConflict === 'skip' || (spec.onConflict === 'upsert' && nonKey.length === 0)) {
      conflict = ` ON CONFLICT (${conflictCols}) DO NOTHING`;
    } else if (spec.onConflict === 'upsert') {
      const sets = nonKey.map((n) => `${quoteIdent(n)} = EXCLUDED.${quoteIdent(n)}`).join(', ');
      conflict = ` ON CONFLICT (${conflictCols}) DO UPDATE SET ${sets}`;
    }
    this.insertSql = `INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${STAGE}${conflict}`;
    this.insertReturningSql = `${this.insertSql} RETURNING ${cols}`;
    this.encoders = spec.columns.map((c) => copyEncoderFor(c));
    this.types = typeSignature(spec.columns);
    const on = keyNames.map((n) => `t.${quoteIdent(n)} = s.${quoteIdent(n)}`).join(' AND ');
    this.readBackSql = `SELECT ${columnList(this.names, 't')} FROM ${target} AS t JOIN ${STAGE} AS s ON ${on}`;
    this.decode = rowDecoder(spec.columns);
    this.intKey = spec.key.length > 0 && spec.key.every((i) => spec.columns[i]!.kind === 'int');
  }

  /**
   * The staging table, created by the first batch that needs it (inside its transaction: a rollback takes
   * it back, see `rollBack`). A writer that only ever COPYs straight into the target never creates one.
   */
  private async ensureStage(): Promise<void> {
    if (this.staged) return;
    await this.client.query(
      `CREATE TEMP TABLE IF NOT EXISTS ${STAGE} ON COMMIT DELETE ROWS AS ` +
        `SELECT ${columnList(this.names)} FROM ${quoteTable(this.spec.ref)} WITH NO DATA`,
    );
    this.staged = true;
  }

  /**
   * COPYs the rows in; returns the text sent: the batch's COPY text when it was read from or encoded for
   * columns of the target's types, else the rows encoded now.
   */
  private async copyInto(table: string, batch: Batch): Promise<Buffer> {
    const sql = `COPY ${table} (${columnList(this.names)}) FROM STDIN`;
    const stream = this.client.query(copyFrom(sql));
    const done = new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
    });
    const given = batch.copyText;
    const text =
      given && given.types === this.types ? given.text : encodeCopyText(batch.rows(), this.encoders);
    stream.write(text);
    stream.end();
    await done;
    return text;
  }

  async writeBatch(
    rows: Row[] | Batch,
    checkpoint: CheckpointUpdate,
    readBack: boolean,
  ): Promise<BatchResult> {
    const t = this.timer;
    t.mark('pg-other');
    await this.client.query('BEGIN');
    try {
      const { written, back, identical } = await this.writeRows(rows, readBack);
      t.mark('pg-write');
      await this.saveCheckpoint(checkpoint);
      await this.client.query('COMMIT');
      t.mark('pg-commit');
      return { written, readBack: back, ...(identical ? { identical } : {}) };
    } catch (error) {
      await this.rollBack();
      throw error;
    }
  }

  async trialBatch(rows: Row[]): Promise<BatchResult> {
    await this.client.query('BEGIN');
    try {
      const { written, back, identical } = await this.writeRows(rows, true);
      return { written, readBack: back, ...(identical ? { identical } : {}) };
    } finally {
      await this.rollBack();
    }
  }

  async applyChanges(changes: TargetChange[], checkpoint: FollowCheckpoint): Promise<ApplyResult> {
    requireKey(this.spec);
    this.applier ??= new PostgresApplier(
      this.client,
      this.spec,
      STAGE,
      () => this.ensureStage(),
      (error) => this.dataError(error),
    );
    await this.client.query('BEGIN');
    this.applying = true;
    try {
      const result = await this.applier.apply(changes);
      const updated = await this.client.query(
        followCheckpointSql(this.spec.stateTable),
        followCheckpointValues(checkpoint),
      );
      if (updated.rowCount !== 1) throw followLeaseLost(checkpoint.plan);
      await this.client.query('COMMIT');
      return result;
    } catch (error) {
      await this.rollBack();
      throw error;
    } finally {
      this.applying = false;
    }
  }

  /** Rolls the batch's transaction back, and with it a staging table it may have created. */
  private async rollBack(): Promise<void> {
    await this.client.query('ROLLBACK').catch(() => undefined);
    this.staged = false;
  }

  /**
   * The first statement of the batch's transaction. While no batch has met a key that is already in the
   * target (a first run, a resume), rows are COPYed straight into the target — the fastest path, and the
   * same result as any conflict rule. The first batch that meets an existing key rolls its transaction
   * back (the COPY was all it held: no savepoint needed, which saves two round trips a batch), starts it
   * again, and this writer switches to the staged INSERT … ON CONFLICT for good.
   */
  private async writeRows(rows: Row[] | Batch, readBack: boolean): Promise<Written> {
    const batch = Array.isArray(rows) ? rowsBatch(rows) : rows;
    // A chunk's last checkpoint can come with no rows: nothing to COPY, nothing to read back.
    if (batch.count === 0) return { written: 0, back: readBack ? [] : null };
    if (this.direct) {
      try {
        const sent = await this.copyInto(this.target, batch);
        if (!readBack) return { written: batch.count, back: null };
        return { written: batch.count, ...(await this.readBackDirect(batch, sent)) };
      } catch (error) {
        if ((error as { code?: string }).code !== '23505' || this.spec.onConflict === 'error') {
          throw this.dataError(error);
        }
        await this.client.query('ROLLBACK');
        await this.client.query('BEGIN');
        this.direct = false;
      }
    }
    await this.ensureStage();
    await this.copyInto(STAGE, batch);
    return this.insertAndReadBack(batch.count, readBack);
  }

  /**
   * The rows just COPYed, as the target holds them. The text sent is in the form the target prints (the
   * source's own COPY text for columns of the same types, else encoded in PostgreSQL's output form, see
   * codec.ts), so the target printing its key range as exactly that text means every row is stored as
   * sent, with nothing decoded or compared row by row. Otherwise the target's rows are read for the
   * row-by-row check: for integer keys (which order alike in every database, so the batch's key range
   * holds exactly its keys and rows the target had between them) from the range's COPY text; else by the
   * batch's keys (a text key's range can hold other keys in another collation).
   */
  private async readBackDirect(batch: Batch, sent: Buffer): Promise<Omit<Written, 'written'>> {
    const { columns, key } = this.spec;
    if (key.length > 0) {
      const range = rangeCopySql(this.target, columns, key, batch.first!, batch.last!);
      const got = await copyOutDiffers(this.client, range, sent);
      if (got === null) return { back: null, identical: true };
      if (this.intKey) return { back: decodeCopyText(got, columns.length, this.decode) };
    }
    const keys = batch.rows().map(this.keyOf);
    return { back: await fetchByKeys(this.client, this.target, columns, key, keys) };
  }

  /**
   * The INSERT; with `readBack`, the target's rows for every staged key: RETURNING gives the inserted and
   * updated ones, and only when rows were left alone (`skip`) are they all read by a join on the stage.
   */
  private async insertAndReadBack(
    staged: number,
    readBack: boolean,
  ): Promise<{ written: number; back: Row[] | null }> {
    if (!readBack) return { written: (await this.insertChecked(this.insertSql)).rowCount ?? 0, back: null };
    const result = await this.insertChecked(this.insertReturningSql);
    const returned = result.rows as unknown as (string | null)[][];
    if (returned.length === staged) return { written: returned.length, back: returned.map(this.decode) };
    const all = await this.client.query<(string | null)[]>({ text: this.readBackSql, rowMode: 'array' });
    return { written: returned.length, back: all.rows.map(this.decode) };
  }

  private async insertChecked(text: string): Promise<pg.QueryResult> {
    try {
      return await this.client.query({ text, rowMode: 'array' });
    } catch (error) {
      throw this.dataError(error);
    }
  }

  private dataError(error: unknown): unknown {
    const e = error as { code?: string; detail?: string; column?: string };
    if (typeof e.code !== 'string' || !/^(22|23)/.test(e.code)) return error;
    const hint =
      e.code === '23505'
        ? this.applying
          ? APPLY_DUPLICATE_HINT
          : 'the row already exists in the target: use onConflict: upsert or skip, or empty the target table'
        : e.code === '23502'
          ? 'a NULL reached a NOT NULL target column: map a source column without NULLs to it, give it a default in the target, or make it nullable'
          : 'fix the source value, or map the column to a target type that can hold it';
    const detail = safeDetail(e.detail);
    return new DataError(
      { table: this.spec.label, ...(e.column ? { column: e.column } : {}) },
      `the target rejected the batch: ${describe(error)}${detail ? ` — ${detail}` : ''}`,
      { cause: error, hint },
    );
  }

  private async saveCheckpoint(checkpoint: CheckpointUpdate): Promise<void> {
    const updated = await this.client.query(
      checkpointSql(this.spec.stateTable),
      checkpointValues(checkpoint),
    );
    if (updated.rowCount !== 1) {
      throw leaseTakenOver(checkpoint);
    }
  }

  async beginWhole(): Promise<void> {
    await this.client.query('BEGIN');
    this.inWhole = true;
    const any = await this.client.query(`SELECT 1 FROM ${quoteTable(this.spec.ref)} LIMIT 1`);
    if ((any.rowCount ?? 0) > 0) {
      await this.client.query('ROLLBACK');
      this.inWhole = false;
      throw new DataError(
        { table: this.spec.label },
        'the table has no key, so it is copied in one transaction into an EMPTY target table, and the target has rows',
        { hint: 'empty the target table, or give the table a `key:` in the plan' },
      );
    }
  }

  async appendWhole(rows: Row[]): Promise<number> {
    try {
      await this.copyInto(quoteTable(this.spec.ref), rowsBatch(rows));
    } catch (error) {
      throw this.dataError(error);
    }
    return rows.length;
  }

  async finishWhole(checkpoint: CheckpointUpdate): Promise<void> {
    try {
      await this.saveCheckpoint(checkpoint);
      await this.client.query('COMMIT');
    } finally {
      this.inWhole = false;
    }
  }

  async close(): Promise<void> {
    this.timer.report(`writer ${this.spec.label}`);
    if (this.inWhole) await this.client.query('ROLLBACK').catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}
